import {existsSync, mkdtempSync, symlinkSync, writeFileSync} from 'node:fs'
import http from 'node:http'
import os from 'node:os'
import path from 'node:path'

import Database from 'better-sqlite3'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {type TestService, startTestService, waitForJob} from '../support/service.js'

let t: TestService
let target: http.Server
let targetUrl: string
let dbFile: string

beforeAll(async () => {
  // A local HTTP server for the http source; reaching it needs allowPrivateHttp in its own test service.
  target = http.createServer((request, response) => {
    if (request.url === '/big') return response.end('x'.repeat(2 << 20))
    if (request.url === '/fail') return response.writeHead(503).end('down')
    response.writeHead(200, {'content-type': 'text/plain'}).end('collected')
  })
  await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve))
  targetUrl = `http://127.0.0.1:${(target.address() as {port: number}).port}`
  t = await startTestService()
  dbFile = path.join(t.dataDir, 'crm.db')
  const db = new Database(dbFile)
  db.exec('CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT, secret TEXT)')
  const insert = db.prepare('INSERT INTO users (email, secret) VALUES (?, ?)')
  db.transaction(() => {
    for (let i = 0; i < 2500; i++) insert.run(`user${i}@example.com`, 's')
  })()
  db.close()
  await t.service.stop()
  t = await startTestService({connections: {crm: dbFile}})
  writeFileSync(path.join(t.fileRoot, 'report.csv'), 'a,b\n1,2\n')
})
afterAll(async () => {
  await t.service.stop()
  target.close()
})

const trigger = (body: unknown, headers: Record<string, string> = {}) => t.call('POST', '/api/v1/jobs/trigger', {body, headers})

describe('health, docs and auth', () => {
  it('answers health and readiness without a token, with real dependency checks', async () => {
    const health = await t.call('GET', '/health', {token: null})
    expect(health.status).toBe(200)
    expect(health.body).toMatchObject({status: 'ok', checks: {database: 'ok', workers: 'ok'}, workers: {busy: expect.any(Number), concurrency: 2}})
    expect((await t.call('GET', '/ready', {token: null})).body).toEqual({status: 'ready', checks: {database: 'ok', workers: 'ok'}})
  })

  it('serves OpenAPI generated from the validating schemas, and interactive docs', async () => {
    const spec = await t.call('GET', '/openapi.json', {token: null})
    expect(spec.body.paths['/api/v1/jobs/trigger'].post.requestBody.content['application/json'].schema.required).toEqual(['source_type', 'config'])
    const docs = await fetch(`${t.url}/docs/`)
    expect(docs.status).toBe(200)
    expect(await docs.text()).toContain('swagger')
  })

  it('requires a valid bearer token everywhere else, and returns a request id', async () => {
    const none = await t.call('GET', '/api/v1/jobs', {token: null})
    expect(none.status).toBe(401)
    expect(none.body.error.code).toBe('UNAUTHORIZED')
    expect(none.headers.get('www-authenticate')).toBe('Bearer')
    expect((await t.call('GET', '/api/v1/jobs', {token: 'infra_forged'})).status).toBe(401)
    const ok = await t.call('GET', '/api/v1/jobs', {headers: {'x-request-id': 'req-12345678'}})
    expect(ok.status).toBe(200)
    expect(ok.headers.get('x-request-id')).toBe('req-12345678')
    // Security headers on every answer, errors included.
    const missing = await t.call('GET', '/api/v1/nothing-here')
    for (const answer of [ok, none, missing]) {
      expect(answer.headers.get('x-content-type-options')).toBe('nosniff')
      expect(answer.headers.get('x-frame-options')).toBe('DENY')
      expect(answer.headers.get('content-security-policy')).toBe("default-src 'none'; frame-ancestors 'none'")
      expect(answer.headers.get('cache-control')).toBe('no-store')
      expect(answer.headers.get('x-request-id')).toBeTruthy()
    }
    expect(missing.status).toBe(404)
  })

  it('logs one JSON line per request with the request id the client got back', async () => {
    const written: string[] = []
    const logged = await startTestService({}, {logLevel: 'info', logDestination: {write: (chunk: string) => void written.push(chunk)}})
    const answer = await logged.call('GET', '/api/v1/jobs?limit=1')
    await logged.service.stop()
    const lines = written.join('').split('\n').filter(Boolean).map((line) => JSON.parse(line))
    const line = lines.find((entry) => entry.msg === 'request')
    expect(line).toMatchObject({level: 30, reqId: answer.headers.get('x-request-id'), method: 'GET', url: '/api/v1/jobs?limit=1', status: 200, token: 'test'})
    expect(line.ms).toBeGreaterThan(0)
  })

  it('refuses a taken port in one line, and gives its database back', async () => {
    const {startService} = await import('../../src/service/server.js')
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'infra-service-'))
    const port = Number(new URL(t.url).port)
    const config = {host: '127.0.0.1', port, dataDir, concurrency: 1, jobTimeoutMs: 1000, maxAttempts: 1, logLevel: 'silent', version: 'test', settings: {fileRoot: dataDir, connections: {}, allowPrivateHttp: false, httpTimeoutMs: 1000, maxResultBytes: 1000, maxRows: 1000}}
    await expect(startService(config)).rejects.toMatchObject({code: 'PORT_IN_USE', message: `127.0.0.1:${port} is already in use`})
    expect(existsSync(path.join(dataDir, 'jobs.db.owner'))).toBe(false)
    // The same data folder as a running service: refused before any port is touched.
    await expect(startService({...config, dataDir: t.dataDir, port: 0})).rejects.toMatchObject({code: 'DATABASE_IN_USE'})
  })

  it('forgets revoked tokens', async () => {
    const {createToken} = await import('../../src/service/tokens.js')
    const {token} = await createToken(t.service.store, 'short-lived')
    expect((await t.call('GET', '/api/v1/jobs', {token})).status).toBe(200)
    await t.service.store.revokeToken('short-lived')
    // Verified tokens are trusted for up to a second before they are looked up again.
    await new Promise((resolve) => setTimeout(resolve, 1100))
    expect((await t.call('GET', '/api/v1/jobs', {token})).status).toBe(401)
  })
})

describe('validation and hostile input', () => {
  it('names the missing or wrong field', async () => {
    const missing = await trigger({config: {}})
    expect(missing.status).toBe(400)
    expect(missing.body.error).toMatchObject({code: 'VALIDATION', field: 'source_type'})
    const unknown = await trigger({source_type: 'ftp', config: {}})
    expect(unknown.status).toBe(400)
    expect(unknown.body.error.field).toBe('source_type')
  })

  it('refuses SQL in a table name before any SQL runs', async () => {
    const result = await trigger({source_type: 'database', config: {connection: 'crm', table: 'users; DROP TABLE users'}})
    expect(result.status).toBe(400)
    expect(result.body.error).toMatchObject({code: 'VALIDATION', field: 'config.table'})
  })

  it('refuses paths that climb out of the file root', async () => {
    const result = await trigger({source_type: 'file', config: {path: '../../etc/passwd'}})
    expect(result.status).toBe(400)
    symlinkSync('/etc', path.join(t.fileRoot, 'escape'))
    const viaLink = await trigger({source_type: 'file', config: {path: 'escape/hostname'}})
    const job = await waitForJob(t, viaLink.body.job_id)
    expect(job).toMatchObject({status: 'failed', attempts: 1})
    expect(job.error).toContain('outside the file root')
  })

  it('refuses the metadata address and private addresses for http', async () => {
    // Address literals are refused at once; names when the job runs (test/service/sources/http.test.ts).
    const metadata = await trigger({source_type: 'http', config: {url: 'http://169.254.169.254/latest/meta-data/'}})
    expect(metadata.status).toBe(400)
    expect(metadata.body.error.message).toContain('169.254.169.254 (link-local (instance metadata))')
    const local = await trigger({source_type: 'http', config: {url: targetUrl}})
    expect(local.status).toBe(400)
    const named = await trigger({source_type: 'http', config: {url: targetUrl.replace('127.0.0.1', 'localhost')}})
    expect(named.status).toBe(202)
    expect(await waitForJob(t, named.body.job_id)).toMatchObject({status: 'failed', attempts: 1, error: expect.stringContaining('is a private or metadata address')})
  })

  it('rejects a 10 MB body, malformed JSON and unknown fields without leaking internals', async () => {
    const big = await t.call('POST', '/api/v1/jobs/trigger', {raw: JSON.stringify({source_type: 'file', config: {path: 'x'.repeat(10 << 20)}})})
    expect(big.status).toBe(413)
    const malformed = await t.call('POST', '/api/v1/jobs/trigger', {raw: '{"source_type": '})
    expect(malformed.status).toBe(400)
    expect(malformed.text).not.toMatch(/at .*\.js|node_modules|SELECT/)
    const extra = await trigger({source_type: 'file', config: {path: 'report.csv'}, sql: 'x'})
    expect(extra.status).toBe(400)
  })
})

describe('jobs', () => {
  it('collects rows from a named database connection, with counts and a checksum', async () => {
    const queued = await trigger({source_type: 'database', config: {connection: 'crm', table: 'users', columns: ['id', 'email']}})
    expect(queued.status).toBe(202)
    const job = await waitForJob(t, queued.body.job_id)
    expect(job).toMatchObject({status: 'succeeded', progress: 1, result: {rows: 2500, content_type: 'application/x-ndjson'}})
    const result = await t.call('GET', `/api/v1/jobs/result/${job.job_id}`)
    const lines = result.text.trim().split('\n')
    expect(lines).toHaveLength(2500)
    expect(JSON.parse(lines[0])).toEqual({id: 1, email: 'user0@example.com'})
    const {createHash} = await import('node:crypto')
    expect(createHash('sha256').update(result.text).digest('hex')).toBe(job.result.sha256)
    expect(result.headers.get('x-result-rows')).toBe('2500')
  })

  it('fails clearly on an unknown column, without retrying what cannot succeed', async () => {
    const queued = await trigger({source_type: 'database', config: {connection: 'crm', table: 'users', columns: ['password']}})
    expect(await waitForJob(t, queued.body.job_id)).toMatchObject({status: 'failed', attempts: 1, error: 'unknown column password in users'})
  })

  it('reads files under the root', async () => {
    const queued = await trigger({source_type: 'file', config: {path: 'report.csv'}})
    const job = await waitForJob(t, queued.body.job_id)
    expect(job.result.bytes).toBe(8)
    expect((await t.call('GET', `/api/v1/jobs/result/${job.job_id}`)).text).toBe('a,b\n1,2\n')
  })

  it('answers 409 for the result of an unfinished or failed job, and 404 for an unknown one', async () => {
    const failed = await trigger({source_type: 'file', config: {path: 'missing.txt'}})
    await waitForJob(t, failed.body.job_id)
    const conflict = await t.call('GET', `/api/v1/jobs/result/${failed.body.job_id}`)
    expect(conflict.status).toBe(409)
    expect(conflict.body.error.message).toContain('ended failed')
    expect((await t.call('GET', '/api/v1/jobs/status/00000000-0000-4000-8000-000000000000')).status).toBe(404)
    expect((await t.call('GET', '/api/v1/jobs/status/not-a-uuid')).status).toBe(400)
  })

  it('returns the same job for a repeated Idempotency-Key', async () => {
    const first = await trigger({source_type: 'file', config: {path: 'report.csv'}}, {'idempotency-key': 'nightly-2026-11-28'})
    const again = await trigger({source_type: 'file', config: {path: 'report.csv'}}, {'idempotency-key': 'nightly-2026-11-28'})
    expect(again.body).toEqual({job_id: first.body.job_id, status: expect.any(String), created: false})
    expect(first.body.created).toBe(true)
  })

  it('pages through jobs with a cursor and filters by status and source', async () => {
    const seen = new Set<string>()
    let cursor: string | null = null
    let pages = 0
    do {
      const page: any = await t.call('GET', `/api/v1/jobs?limit=2${cursor ? `&cursor=${cursor}` : ''}`)
      for (const job of page.body.jobs) seen.add(job.job_id)
      cursor = page.body.next_cursor
      pages++
    } while (cursor && pages < 100)
    const all = await t.call('GET', '/api/v1/jobs?limit=500')
    expect(seen.size).toBe(all.body.jobs.length)
    expect(pages).toBeGreaterThan(2)
    const failed = await t.call('GET', '/api/v1/jobs?status=failed&source_type=file')
    expect(failed.body.jobs.length).toBeGreaterThan(0)
    expect(failed.body.jobs.every((j: any) => j.status === 'failed' && j.source_type === 'file')).toBe(true)
    expect((await t.call('GET', '/api/v1/jobs?cursor=bogus!')).status).toBe(400)
  })

  it('cancels a queued job at once, and refuses to cancel an ended one', async () => {
    await t.service.workers.stop(0)
    const queued = await trigger({source_type: 'file', config: {path: 'report.csv'}})
    const cancelled = await t.call('POST', `/api/v1/jobs/cancel/${queued.body.job_id}`)
    expect(cancelled.body.status).toBe('cancelled')
    expect((await t.call('POST', `/api/v1/jobs/cancel/${queued.body.job_id}`)).status).toBe(409)
  })

  it('exposes Prometheus metrics', async () => {
    const metrics = await t.call('GET', '/metrics', {token: null})
    expect(metrics.text).toMatch(/infra_http_requests_total\{route="\/api\/v1\/jobs\/trigger",method="POST",status="202"\} \d+/)
    expect(metrics.text).toMatch(/infra_jobs\{state="succeeded"\} \d+/)
    expect(metrics.text).toContain('infra_queue_depth')
    expect(metrics.text).toContain('infra_job_duration_seconds_bucket')
  })
})

describe('the http source against a real server', () => {
  it('collects, enforces the size limit, and retries server errors before failing', async () => {
    const open = await startTestService({allowPrivateHttp: true, maxResultBytes: 1 << 20})
    try {
      const ok = await waitForJob(open, (await open.call('POST', '/api/v1/jobs/trigger', {body: {source_type: 'http', config: {url: targetUrl}}})).body.job_id)
      expect(ok).toMatchObject({status: 'succeeded', result: {bytes: 9}})
      const big = await waitForJob(open, (await open.call('POST', '/api/v1/jobs/trigger', {body: {source_type: 'http', config: {url: `${targetUrl}/big`}}})).body.job_id)
      expect(big).toMatchObject({status: 'failed', attempts: 1})
      expect(big.error).toContain('larger than')
      const down = await waitForJob(open, (await open.call('POST', '/api/v1/jobs/trigger', {body: {source_type: 'http', config: {url: `${targetUrl}/fail`}}})).body.job_id)
      expect(down).toMatchObject({status: 'failed', attempts: 3})
    } finally {
      await open.service.stop()
    }
  })
})
