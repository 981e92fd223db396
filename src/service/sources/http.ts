import {lookup} from 'node:dns/promises'
import http from 'node:http'
import https from 'node:https'
import {isIP} from 'node:net'

import {PermanentJobError, type Source} from './source.js'

/** Private, loopback, link-local (the metadata service 169.254.169.254) and other non-public ranges. */
export function isForbiddenAddress(address: string): boolean {
  if (isIP(address) === 6) {
    const lower = address.toLowerCase()
    if (lower.startsWith('::ffff:')) return isForbiddenAddress(lower.slice(7))
    return lower === '::1' || lower === '::' || lower.startsWith('fc') || lower.startsWith('fd') || lower.startsWith('fe80') || lower.startsWith('fd00:ec2')
  }
  const [a, b] = address.split('.').map(Number)
  return a === 0 || a === 10 || a === 127 || (a === 169 && b === 254) || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) || (a === 100 && b >= 64 && b <= 127) || a >= 224
}

/**
 * GET with a timeout and a size limit. The host is resolved once and checked, and the request is
 * pinned to that address, so DNS rebinding cannot reach a private address after the check.
 */
export const httpSource: Source = {
  type: 'http',
  contentType: 'application/octet-stream',
  validate(config) {
    if (typeof config.url !== 'string') return 'config.url is required: an http(s) URL'
    let url: URL
    try {
      url = new URL(config.url)
    } catch {
      return `config.url "${config.url}" is not a URL`
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'config.url must be http or https'
    if (url.username || url.password) return 'config.url must not carry credentials'
    return undefined
  },
  async run(config, ctx, settings) {
    const url = new URL(String(config.url))
    const host = url.hostname.replace(/^\[|\]$/g, '')
    const addresses = isIP(host) ? [{address: host, family: isIP(host)}] : await lookup(host, {all: true})
    if (!settings.allowPrivateHttp && addresses.some((entry) => isForbiddenAddress(entry.address))) {
      throw new PermanentJobError(`config.url resolves to a private or metadata address (${addresses.map((e) => e.address).join(', ')}); refused`)
    }
    const pinned = addresses[0]
    const client = url.protocol === 'https:' ? https : http
    const maxBytes = Number(config.max_bytes ?? settings.httpMaxBytes)
    const timeoutMs = Number(config.timeout_ms ?? settings.httpTimeoutMs)
    await new Promise<void>((resolve, reject) => {
      const request = client.get(
        url,
        {
          signal: ctx.signal,
          timeout: timeoutMs,
          lookup: (_host, _options, callback) => (callback as (e: null, a: string, f: number) => void)(null, pinned.address, pinned.family),
        },
        (response) => {
          if ((response.statusCode ?? 0) >= 400) {
            response.resume()
            const error = new Error(`GET ${url.origin}${url.pathname} answered ${response.statusCode}`)
            return reject((response.statusCode ?? 0) < 500 ? new PermanentJobError(error.message) : error)
          }
          const length = Number(response.headers['content-length'] ?? 0)
          let received = 0
          ;(async () => {
            for await (const chunk of response) {
              received += (chunk as Buffer).length
              if (received > maxBytes) throw new PermanentJobError(`response is larger than ${maxBytes} bytes`)
              await ctx.write(chunk as Buffer)
              if (length) ctx.progress(received / length)
            }
          })().then(resolve, (error) => {
            request.destroy()
            reject(error)
          })
        },
      )
      request.on('timeout', () => request.destroy(new Error(`GET ${url.origin} timed out after ${timeoutMs} ms`)))
      request.on('error', reject)
    })
    return {rows: null}
  },
}
