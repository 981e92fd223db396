import {mkdirSync, mkdtempSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import type {DestinationStream} from 'pino'

import {type RunningService, startService} from '../../src/service/server.js'
import type {SourceSettings} from '../../src/service/sources/source.js'
import {createToken} from '../../src/service/tokens.js'

export interface TestService {
  service: RunningService
  url: string
  token: string
  dataDir: string
  fileRoot: string
  call(method: string, path: string, options?: {body?: unknown; raw?: string; headers?: Record<string, string>; token?: string | null}): Promise<{status: number; body: any; headers: Headers; text: string}>
}

/** The real service on a free loopback port, with a fresh data folder and one token. */
export async function startTestService(settings: Partial<SourceSettings> = {}, extra: {concurrency?: number; jobTimeoutMs?: number; logLevel?: string; logDestination?: DestinationStream; trustedProxies?: string[]; maxQueuedPerToken?: number; retentionMs?: number} = {}): Promise<TestService> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'infra-service-'))
  const fileRoot = path.join(dataDir, 'files')
  mkdirSync(fileRoot)
  const service = await startService({
    host: '127.0.0.1',
    port: 0,
    dataDir,
    concurrency: extra.concurrency ?? 2,
    jobTimeoutMs: extra.jobTimeoutMs ?? 10_000,
    maxAttempts: 3,
    logLevel: extra.logLevel ?? 'silent',
    logDestination: extra.logDestination,
    trustedProxies: extra.trustedProxies,
    maxQueuedPerToken: extra.maxQueuedPerToken,
    retentionMs: extra.retentionMs,
    version: 'test',
    settings: {fileRoot, connections: {}, allowPrivateHttp: false, httpTimeoutMs: 5000, maxResultBytes: 1 << 20, maxRows: 100_000, ...settings},
  })
  service.workers.options.backoffBaseMs = 50
  const {token} = await createToken(service.store, 'test')
  const call: TestService['call'] = async (method, route, options = {}) => {
    const bearer = options.token === null ? undefined : (options.token ?? token)
    const response = await fetch(`${service.url}${route}`, {
      method,
      headers: {...(bearer ? {authorization: `Bearer ${bearer}`} : {}), ...(options.body !== undefined || options.raw ? {'content-type': 'application/json'} : {}), ...options.headers},
      body: options.raw ?? (options.body !== undefined ? JSON.stringify(options.body) : undefined),
    })
    const text = await response.text()
    let body: unknown
    try {
      body = JSON.parse(text)
    } catch {
      body = undefined
    }
    return {status: response.status, body, headers: response.headers, text}
  }
  return {service, url: service.url, token, dataDir, fileRoot, call}
}

export async function waitForJob(t: TestService, id: string, timeoutMs = 10_000): Promise<any> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const {body} = await t.call('GET', `/api/v1/jobs/status/${id}`)
    if (['succeeded', 'failed', 'cancelled'].includes(body.status)) return body
    if (Date.now() > deadline) throw new Error(`job ${id} still ${body.status}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}
