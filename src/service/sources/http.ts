import {lookup} from 'node:dns/promises'
import http, {type IncomingMessage} from 'node:http'
import https from 'node:https'
import {isIP, type LookupFunction} from 'node:net'

import {forbiddenReason} from './address-policy.js'
import {PermanentJobError, type Source, type SourceContext, type SourceSettings} from './source.js'

export {forbiddenReason, isForbiddenAddress} from './address-policy.js'

/** Redirects followed per job; each hop's address is checked again. */
export const MAX_REDIRECTS = 3

interface Resolved {
  address: string
  family: 4 | 6
}

/**
 * Every address the URL's host stands for, each checked: one private address refuses the whole
 * name (a resolver may hand out any of them, and DNS answers can change between lookups).
 */
export async function resolveChecked(url: URL, settings: Pick<SourceSettings, 'allowPrivateHttp'>): Promise<Resolved[]> {
  // A fully qualified name's trailing dot names the same host: resolved like the name without it.
  const host = url.hostname.replace(/^\[|\]$/g, '').replace(/(?<=[^.])\.$/, '')
  let addresses: Resolved[]
  if (isIP(host)) addresses = [{address: host, family: isIP(host) as 4 | 6}]
  else {
    try {
      addresses = (await lookup(host, {all: true, verbatim: true})) as Resolved[]
    } catch (error) {
      throw new PermanentJobError(`${host} does not resolve (${(error as NodeJS.ErrnoException).code ?? 'error'})`)
    }
  }
  if (addresses.length === 0) throw new PermanentJobError(`${host} does not resolve`)
  if (!settings.allowPrivateHttp) {
    const refused = addresses.flatMap(({address}) => {
      const reason = forbiddenReason(address)
      return reason ? [`${address} (${reason})`] : []
    })
    if (refused.length) throw new PermanentJobError(`${url.host} is a private or metadata address: ${refused.join(', ')}; refused (a service started with --allow-private-http may reach it)`)
  }
  return addresses
}

/**
 * A `lookup` that answers only with the addresses already checked: the connection goes to one of
 * them whatever DNS says by then (no rebinding). Node 20's family autoselection asks with
 * `all: true` and expects an array; plain callers get one address.
 */
export function pinnedLookup(addresses: Resolved[]): LookupFunction {
  return ((_hostname: string, options: {all?: boolean; family?: number | string}, callback: (...args: unknown[]) => void) => {
    const family = options?.family === 'IPv4' ? 4 : options?.family === 'IPv6' ? 6 : Number(options?.family ?? 0)
    const allowed = family === 4 || family === 6 ? addresses.filter((entry) => entry.family === family) : addresses
    if (allowed.length === 0) {
      const error = Object.assign(new Error(`no IPv${family} address was checked for this host`), {code: 'ENOTFOUND'})
      return options?.all ? callback(error, []) : callback(error, '', 0)
    }
    if (options?.all) return callback(null, allowed.map(({address, family}) => ({address, family})))
    return callback(null, allowed[0].address, allowed[0].family)
  }) as LookupFunction
}

function get(url: URL, addresses: Resolved[], signal: AbortSignal): Promise<IncomingMessage> {
  const client = url.protocol === 'https:' ? https : http
  return new Promise((resolve, reject) => {
    const request = client.get(url, {signal, lookup: pinnedLookup(addresses), agent: false}, resolve)
    request.on('error', reject)
  })
}

/** The job's signal, plus a deadline: aborted by whichever comes first. */
function withDeadline(signal: AbortSignal, timeoutMs: number, message: string): {signal: AbortSignal; clear(): void} {
  const controller = new AbortController()
  const timer = setTimeout(() => controller.abort(new Error(message)), timeoutMs)
  const forward = () => controller.abort(signal.reason)
  if (signal.aborted) forward()
  else signal.addEventListener('abort', forward, {once: true})
  return {
    signal: controller.signal,
    clear() {
      clearTimeout(timer)
      signal.removeEventListener('abort', forward)
    },
  }
}

/**
 * GET with a timeout and a size limit. The host is resolved, every address is checked, and the
 * connection is pinned to the checked addresses. Redirects are followed up to MAX_REDIRECTS, each
 * target checked the same way; a 3xx is never a result.
 */
export const httpSource: Source = {
  type: 'http',
  contentType: 'application/octet-stream',
  configSchema: () => ({
    type: 'object',
    required: ['url'],
    properties: {url: {type: 'string', minLength: 8, maxLength: 2048, description: `http(s) URL to GET; private, loopback and metadata addresses are refused unless the service runs with --allow-private-http; up to ${MAX_REDIRECTS} redirects are followed, each checked again`}},
  }),
  validate(config, settings) {
    if (typeof config.url !== 'string') return 'config.url is required: an http(s) URL'
    let url: URL
    try {
      url = new URL(config.url)
    } catch {
      return `config.url "${config.url}" is not a URL`
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'config.url must be http or https'
    if (url.username || url.password) return 'config.url must not carry credentials'
    // An address literal can be judged at once; names are judged when the job runs.
    const host = url.hostname.replace(/^\[|\]$/g, '')
    const reason = !settings.allowPrivateHttp && isIP(host) ? forbiddenReason(host) : undefined
    if (reason) return `config.url points at ${host} (${reason}); private, loopback and metadata addresses are refused`
    return undefined
  },
  async run(config, ctx, settings) {
    const timeoutMs = Math.min(ctx.limits.timeoutMs, settings.httpTimeoutMs)
    // --http-timeout is a deadline for the whole request: lookups, redirects, headers and every byte
    // of the body. An idle timeout would let a server that sends a byte now and then hold the job.
    const deadline = withDeadline(ctx.signal, timeoutMs, `GET ${new URL(String(config.url)).origin} took more than ${timeoutMs} ms, the --http-timeout deadline`)
    try {
      return await fetchInto(new URL(String(config.url)), {...ctx, signal: deadline.signal}, settings)
    } catch (error) {
      // The deadline, not the job's own signal: report it as such (a retry may be faster).
      if (deadline.signal.aborted && !ctx.signal.aborted && !(error instanceof PermanentJobError)) throw deadline.signal.reason
      throw error
    } finally {
      deadline.clear()
    }
  },
}

/** GETs the URL (following checked redirects) and streams the body into the result. */
async function fetchInto(url: URL, ctx: SourceContext, settings: SourceSettings): Promise<{rows: null}> {
  const config = {url: url.href}
  let response: IncomingMessage
  for (let hop = 0; ; hop++) {
    const addresses = await resolveChecked(url, settings)
    response = await get(url, addresses, ctx.signal)
    const status = response.statusCode ?? 0
    if (status < 300 || status >= 400) break
    response.resume()
    const location = response.headers.location
    if (status === 304 || !location) throw new PermanentJobError(`GET ${url.origin}${url.pathname} answered ${status} without a redirect target; no result`)
    if (hop >= MAX_REDIRECTS) throw new PermanentJobError(`GET ${String(config.url)} redirected more than ${MAX_REDIRECTS} times; refused`)
    const next = new URL(location, url)
    if (next.protocol !== 'http:' && next.protocol !== 'https:') throw new PermanentJobError(`GET ${url.origin} redirected to a ${next.protocol} URL; refused`)
    if (next.username || next.password) throw new PermanentJobError(`GET ${url.origin} redirected to a URL with credentials; refused`)
    url = next
  }
  const status = response.statusCode ?? 0
  if (status >= 400 || status < 200) {
    response.resume()
    const message = `GET ${url.origin}${url.pathname} answered ${status}`
    // 5xx, 408 (Request Timeout) and 429 (Too Many Requests) may pass on a retry (RFC 9110 §15.5.9,
    // RFC 6585 §4); other 4xx will not.
    throw status >= 500 || status === 429 || status === 408 ? new Error(message) : new PermanentJobError(message)
  }
  const declared = Number(response.headers['content-length'] ?? 0)
  if (declared > ctx.limits.maxBytes) {
    response.destroy()
    throw new PermanentJobError(`response is larger than ${ctx.limits.maxBytes} bytes (Content-Length ${declared})`)
  }
  let received = 0
  try {
    for await (const chunk of response) {
      received += (chunk as Buffer).length
      // The worker enforces the cap on every write too; this says which source ran over.
      if (received > ctx.limits.maxBytes) throw new PermanentJobError(`response is larger than ${ctx.limits.maxBytes} bytes`)
      await ctx.write(chunk as Buffer)
      if (declared) ctx.progress(received / declared)
    }
  } finally {
    response.destroy()
  }
  return {rows: null}
}
