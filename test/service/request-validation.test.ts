import {mkdirSync, writeFileSync} from 'node:fs'
import http from 'node:http'
import path from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {type TestService, startTestService, waitForJob} from '../support/service.js'

/** Requests and job errors over real HTTP against the real service. */
let t: TestService
let target: http.Server
let targetUrl: string
const logged: string[] = []

beforeAll(async () => {
  // A server that trickles: one byte every 100 ms for 5 s; one that answers 404; one that answers 200.
  target = http.createServer((request, response) => {
    if (request.url === '/trickle') {
      response.writeHead(200)
      const timer = setInterval(() => response.write('x'), 100)
      setTimeout(() => (clearInterval(timer), response.end()), 5000)
      response.on('close', () => clearInterval(timer))
      return
    }
    if (request.url === '/missing') return response.writeHead(404).end('no')
    response.end('ok')
  })
  await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve))
  targetUrl = `http://127.0.0.1:${(target.address() as {port: number}).port}`
  t = await startTestService({allowPrivateHttp: true, httpTimeoutMs: 600}, {logLevel: 'info', logDestination: {write: (chunk: string) => void logged.push(chunk)}})
  writeFileSync(path.join(t.fileRoot, 'a.txt'), 'alpha\n')
  mkdirSync(path.join(t.fileRoot, 'folder'))
})
afterAll(async () => {
  await t?.service.stop()
  target.closeAllConnections()
  target.close()
})

const trigger = (body: unknown, headers: Record<string, string> = {}) => t.call('POST', '/api/v1/jobs/trigger', {body, headers})

describe('request bodies are validated without type coercion', () => {
  it.each([
    ['a string where max_bytes is an integer', {source_type: 'file', config: {path: 'a.txt', max_bytes: '100'}}],
    ['a number where path is a string', {source_type: 'file', config: {path: 12345}}],
    ['a list where path is a string', {source_type: 'file', config: {path: ['a.txt']}}],
    ['a string where max_attempts is an integer', {source_type: 'file', config: {path: 'a.txt'}, max_attempts: '2'}],
    ['a list where url is a string', {source_type: 'http', config: {url: ['https://example.com/']}}],
    ['a string where timeout_ms is an integer', {source_type: 'file', config: {path: 'a.txt', timeout_ms: '5000'}}],
  ])('refuses %s with 400', async (_name, body) => {
    const answer = await trigger(body)
    expect(answer.status).toBe(400)
    expect(answer.body.error).toMatchObject({code: 'VALIDATION', requestId: expect.any(String)})
  })

  it('still accepts the same values with their own types, and converts query strings (they are text)', async () => {
    const answer = await trigger({source_type: 'file', config: {path: 'a.txt', max_bytes: 100}, max_attempts: 2})
    expect(answer.status).toBe(202)
    expect((await waitForJob(t, answer.body.job_id)).status).toBe('succeeded')
    const page = await t.call('GET', '/api/v1/jobs?limit=1')
    expect(page.status).toBe(200)
    expect(page.body.jobs).toHaveLength(1)
    expect((await t.call('GET', '/api/v1/jobs?limit=abc')).status).toBe(400)
  })
})

describe('request ids', () => {
  it('echoes and logs a plain id; replaces markup or an oversized header with a generated one before logging it', async () => {
    const plain = await t.call('GET', '/api/v1/jobs?limit=1', {headers: {'x-request-id': 'client-req.0042'}})
    expect(plain.headers.get('x-request-id')).toBe('client-req.0042')
    const hostile = `<script>alert(1)</script>${'A'.repeat(6000)}`
    const refused = await t.call('GET', '/api/v1/jobs?limit=2', {headers: {'x-request-id': hostile}})
    const replaced = refused.headers.get('x-request-id')!
    expect(replaced).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/)
    for (const id of ['short', 'x'.repeat(65), 'has space in it', 'quote"id-1234', '../../etc/passwd']) {
      expect((await t.call('GET', '/health', {token: null, headers: {'x-request-id': id}})).headers.get('x-request-id')).not.toBe(id)
    }
    const lines = logged.join('').split('\n').filter(Boolean).map((line) => JSON.parse(line))
    expect(lines.find((line) => line.url === '/api/v1/jobs?limit=1' && line.reqId === 'client-req.0042')).toBeTruthy()
    expect(lines.find((line) => line.url === '/api/v1/jobs?limit=2')).toMatchObject({reqId: replaced})
    expect(logged.join('')).not.toContain('<script>')
  })
})

describe('the bearer scheme', () => {
  it('is case-insensitive (RFC 7235 §2.1), and anything but a bearer token is refused', async () => {
    for (const scheme of ['Bearer', 'bearer', 'BEARER', 'bEaReR']) {
      expect((await t.call('GET', '/api/v1/jobs?limit=1', {token: null, headers: {authorization: `${scheme} ${t.token}`}})).status, scheme).toBe(200)
    }
    expect((await t.call('GET', '/api/v1/jobs?limit=1', {token: null, headers: {authorization: `Bearer   ${t.token}`}})).status).toBe(200)
    for (const header of [`Basic ${t.token}`, `Bearer${t.token}`, `Bearer ${t.token} extra`, 'Bearer']) {
      expect((await t.call('GET', '/api/v1/jobs?limit=1', {token: null, headers: {authorization: header}})).status, header).toBe(401)
    }
  })
})

describe('job errors', () => {
  it('holds --http-timeout as a deadline for the whole request: a server trickling bytes is cut off, and retried', async () => {
    const started = Date.now()
    const answer = await trigger({source_type: 'http', config: {url: `${targetUrl}/trickle`}, max_attempts: 2})
    const job = await waitForJob(t, answer.body.job_id, 10_000)
    // Two attempts of 600 ms each and a 50 ms backoff; an idle timeout would have read for 5 s each.
    expect(job).toMatchObject({status: 'failed', attempts: 2, error: expect.stringMatching(/took more than 600 ms, the --http-timeout deadline/)})
    expect(Date.now() - started).toBeLessThan(4000)
  })

  it('does not retry what cannot succeed: a folder as the file path, a missing file, a 404', async () => {
    for (const [config, error] of [
      [{source_type: 'file', config: {path: 'folder'}}, /config.path folder is a folder/],
      [{source_type: 'file', config: {path: 'nope.txt'}}, /does not exist under the file root/],
      [{source_type: 'http', config: {url: `${targetUrl}/missing`}}, /answered 404/],
    ] as const) {
      const answer = await trigger({...config, max_attempts: 3})
      expect(await waitForJob(t, answer.body.job_id)).toMatchObject({status: 'failed', attempts: 1, error: expect.stringMatching(error)})
    }
  })
})
