import {statSync, writeFileSync} from 'node:fs'
import http from 'node:http'
import type {AddressInfo} from 'node:net'
import path from 'node:path'

import Database from 'better-sqlite3'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {createToken} from '../../src/service/tokens.js'
import {type TestService, startTestService, waitForJob} from '../support/service.js'

/** What a hostile token holder tries: limits, other tokens' jobs, token guessing; and what operators watch. */
let t: TestService
let crm: string
beforeAll(async () => {
  t = await startTestService({maxResultBytes: 64 * 1024, maxRows: 1000}, {jobTimeoutMs: 5000})
  crm = path.join(t.dataDir, 'crm.db')
  const db = new Database(crm)
  db.exec('CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT)')
  const insert = db.prepare('INSERT INTO users (email) VALUES (?)')
  db.transaction(() => {
    for (let i = 0; i < 1500; i++) insert.run(`user${i}@example.com`)
  })()
  db.close()
  await t.service.stop()
  t = await startTestService({maxResultBytes: 64 * 1024, maxRows: 1000, connections: {crm}}, {jobTimeoutMs: 5000})
  writeFileSync(path.join(t.fileRoot, 'big.bin'), Buffer.alloc(40 * 1024, 1))
})
afterAll(() => t.service.stop())

const trigger = (body: unknown, token?: string) => t.call('POST', '/api/v1/jobs/trigger', {body, token})

describe('server limits are ceilings a job can only lower', () => {
  it('refuses limits that are not numbers or above the ceiling, in the request schema', async () => {
    const nope = await trigger({source_type: 'http', config: {url: 'https://example.com/', max_bytes: 'nope'}})
    expect(nope.status).toBe(400)
    expect(nope.body.error.field).toBe('config.max_bytes')
    const higher = await trigger({source_type: 'file', config: {path: 'big.bin', max_bytes: 64 * 1024 + 1}})
    expect(higher.status).toBe(400)
    expect(higher.body.error).toMatchObject({field: 'config.max_bytes', message: expect.stringContaining('<= 65536')})
    const slower = await trigger({source_type: 'file', config: {path: 'big.bin', timeout_ms: 60_000}})
    expect(slower.body.error.field).toBe('config.timeout_ms')
    const rows = await trigger({source_type: 'database', config: {connection: 'crm', table: 'users', limit: 5000}})
    expect(rows.body.error.field).toBe('config.limit')
    const unknownKey = await trigger({source_type: 'file', config: {path: 'big.bin', max_size: 1}})
    expect(unknownKey.body.error).toMatchObject({field: 'config.max_size', message: 'body/config has an unknown property max_size'})
  })

  it('enforces a lower byte limit while reading, for files and database rows alike', async () => {
    const file = await waitForJob(t, (await trigger({source_type: 'file', config: {path: 'big.bin', max_bytes: 1000}})).body.job_id)
    expect(file).toMatchObject({status: 'failed', attempts: 1, error: 'config.path is 40960 bytes, more than the limit of 1000', result: null})
    const table = await waitForJob(t, (await trigger({source_type: 'database', config: {connection: 'crm', table: 'users', limit: 900, max_bytes: 2000}})).body.job_id)
    expect(table).toMatchObject({status: 'failed', attempts: 1, error: 'the result would pass 2000 bytes, the size limit', result: null})
    const fits = await waitForJob(t, (await trigger({source_type: 'file', config: {path: 'big.bin'}})).body.job_id)
    expect(fits).toMatchObject({status: 'succeeded', result: {bytes: 40 * 1024}})
  })

  it('refuses a table over the row ceiling unless the job asks for part of it', async () => {
    const all = await waitForJob(t, (await trigger({source_type: 'database', config: {connection: 'crm', table: 'users', columns: ['id']}})).body.job_id)
    expect(all).toMatchObject({status: 'failed', error: 'users has more than 1000 rows, the row limit; set config.limit to read part of it'})
    const part = await waitForJob(t, (await trigger({source_type: 'database', config: {connection: 'crm', table: 'users', columns: ['id'], limit: 1000}})).body.job_id)
    expect(part).toMatchObject({status: 'succeeded', result: {rows: 1000}})
  })

  it('times out at the lower time limit a job asked for', async () => {
    const silent = http.createServer(() => {})
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
    const open = await startTestService({allowPrivateHttp: true}, {jobTimeoutMs: 5000})
    try {
      const started = Date.now()
      const queued = await open.call('POST', '/api/v1/jobs/trigger', {body: {source_type: 'http', config: {url: `http://127.0.0.1:${(silent.address() as AddressInfo).port}/`, timeout_ms: 300}, max_attempts: 1}})
      expect(await waitForJob(open, queued.body.job_id)).toMatchObject({status: 'failed', error: expect.stringContaining('timed out after 300 ms')})
      expect(Date.now() - started).toBeLessThan(4000)
    } finally {
      await open.service.stop(0)
      silent.closeAllConnections()
      silent.close()
    }
  })

  it('refuses unknown connection names, inherited ones included, naming the known ones', async () => {
    for (const connection of ['constructor', 'toString', '__proto__', 'nope']) {
      const answer = await trigger({source_type: 'database', config: {connection, table: 'users'}})
      expect(answer.status, connection).toBe(400)
      expect(answer.body.error.message).toBe(`config.connection "${connection}" is not configured on the server (known: crm)`)
    }
  })

  it('describes each source\'s config in OpenAPI', async () => {
    const spec = (await t.call('GET', '/openapi.json', {token: null})).body
    const body = spec.paths['/api/v1/jobs/trigger'].post.requestBody.content['application/json'].schema
    expect(body.discriminator).toEqual({propertyName: 'source_type'})
    const bySource = Object.fromEntries(body.oneOf.map((branch: any) => [branch.properties.source_type.enum[0], branch.properties.config]))
    expect(Object.keys(bySource).sort()).toEqual(['database', 'file', 'http', 's3'])
    expect(bySource.http.required).toEqual(['url'])
    expect(bySource.database.properties.limit.maximum).toBe(1000)
    expect(bySource.file.properties.max_bytes.maximum).toBe(64 * 1024)
  })
})

describe('tokens have scopes and owners', () => {
  it('shows, fetches and cancels only the token\'s own jobs unless it is an admin token', async () => {
    const alice = (await createToken(t.service.store, 'alice')).token
    const bob = (await createToken(t.service.store, 'bob')).token
    const admin = (await createToken(t.service.store, 'root', ['admin'])).token
    const reader = (await createToken(t.service.store, 'reader', ['jobs:read'])).token
    await t.service.workers.stop(0)
    const job = (await trigger({source_type: 'file', config: {path: 'big.bin'}}, alice)).body.job_id
    for (const [method, route] of [
      ['GET', `/api/v1/jobs/status/${job}`],
      ['GET', `/api/v1/jobs/result/${job}`],
      ['POST', `/api/v1/jobs/cancel/${job}`],
    ]) {
      const other = await t.call(method, route, {token: bob})
      expect(other.status, route).toBe(404)
      expect(other.body.error.message).toBe(`no job ${job}`)
    }
    expect((await t.call('GET', '/api/v1/jobs?limit=500', {token: bob})).body.jobs).toEqual([])
    expect((await t.call('GET', '/api/v1/jobs?limit=500', {token: alice})).body.jobs.map((j: any) => j.job_id)).toEqual([job])
    expect((await t.call('GET', '/api/v1/jobs?limit=500', {token: admin})).body.jobs.map((j: any) => j.job_id)).toContain(job)
    expect((await t.call('GET', `/api/v1/jobs/status/${job}`, {token: admin})).status).toBe(200)
    // A read-only token can neither trigger nor cancel.
    const write = await trigger({source_type: 'file', config: {path: 'big.bin'}}, reader)
    expect(write.status).toBe(403)
    expect(write.body.error.message).toBe('this token lacks the jobs:write scope (it has jobs:read)')
    expect((await t.call('POST', `/api/v1/jobs/cancel/${job}`, {token: admin})).body.status).toBe('cancelled')
  })
})

describe('requests without a valid token', () => {
  it('count failures per client behind the trusted load balancer only: X-Forwarded-For from other peers is ignored', async () => {
    const forged = `infra_${'B'.repeat(43)}`
    const behind = await startTestService({}, {trustedProxies: ['127.0.0.0/8']})
    try {
      // Through the balancer (loopback is trusted here), 30 failures from one client...
      for (let i = 0; i < 30; i++) await behind.call('GET', '/api/v1/jobs', {token: forged, headers: {'x-forwarded-for': '10.9.9.9'}})
      expect((await behind.call('GET', '/api/v1/jobs', {token: forged, headers: {'x-forwarded-for': '10.9.9.9'}})).status).toBe(429)
      // ...leave another client behind the same balancer untouched, and its valid token works.
      expect((await behind.call('GET', '/api/v1/jobs', {token: forged, headers: {'x-forwarded-for': '10.8.8.8'}})).status).toBe(401)
      expect((await behind.call('GET', '/api/v1/jobs', {headers: {'x-forwarded-for': '10.9.9.9'}})).status).toBe(200)
      // A client cannot escape its count by naming another address in front of the balancer's.
      expect((await behind.call('GET', '/api/v1/jobs', {token: forged, headers: {'x-forwarded-for': '10.7.7.7, 10.9.9.9'}})).status).toBe(429)
    } finally {
      await behind.service.stop()
    }
    const direct = await startTestService({}, {trustedProxies: ['10.0.0.0/8']})
    try {
      // The peer (loopback) is not trusted: the header names nobody, the peer is the client.
      for (let i = 0; i < 30; i++) await direct.call('GET', '/api/v1/jobs', {token: forged, headers: {'x-forwarded-for': `10.1.1.${i}`}})
      expect((await direct.call('GET', '/api/v1/jobs', {token: forged, headers: {'x-forwarded-for': '10.2.2.2'}})).status).toBe(429)
    } finally {
      await direct.service.stop()
    }
  })

  it('are limited per client address: 429 with Retry-After, no store read for a missing or malformed token, and a valid token still gets in', async () => {
    const limited = await startTestService()
    try {
      // Count the store's token lookups: past the limit there must be none.
      let lookups = 0
      const store = limited.service.store
      const original = store.tokenByHash.bind(store)
      store.tokenByHash = (hash) => (lookups++, original(hash))
      const forged = `infra_${'A'.repeat(43)}`
      // Default: 2 per second with bursts of 20; the allowance grows by 2 each second the loop takes.
      const started = Date.now()
      const answers: number[] = []
      for (let i = 0; i < 40; i++) answers.push((await limited.call('GET', '/api/v1/jobs', {token: forged})).status)
      const allowance = 20 + Math.ceil(((Date.now() - started) / 1000) * 2)
      const unauthorized = answers.filter((s) => s === 401).length
      expect(unauthorized).toBeGreaterThanOrEqual(20)
      expect(unauthorized).toBeLessThanOrEqual(allowance)
      expect(answers.slice(0, 20).every((s) => s === 401)).toBe(true)
      expect(answers.at(-1)).toBe(429)
      const refused = await limited.call('GET', '/api/v1/jobs', {token: forged})
      expect(refused.status).toBe(429)
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1)
      expect(refused.body.error.code).toBe('RATE_LIMITED')
      // Past the limit, a well-formed token is still checked (a valid one must get in) and a
      // missing or malformed one costs no store read at all.
      expect(lookups).toBe(answers.length + 1)
      const before = lookups
      for (let i = 0; i < 10; i++) expect((await limited.call('GET', '/api/v1/jobs', {token: null})).status).toBe(429)
      for (let i = 0; i < 10; i++) expect((await limited.call('GET', '/api/v1/jobs', {token: 'not-a-token'})).status).toBe(429)
      expect(lookups).toBe(before)
      // One client's failures never lock out a valid token from the same address.
      expect((await limited.call('GET', '/api/v1/jobs')).status).toBe(200)
      // The open routes have a limit of their own (20 per second, bursts of 200): probes pass, floods do not.
      const openStarted = Date.now()
      const open: number[] = []
      while (open.length < 2000 && open.at(-1) !== 429) open.push((await limited.call('GET', '/ready', {token: null})).status)
      expect(open.slice(0, 200).every((s) => s === 200)).toBe(true)
      expect(open.at(-1)).toBe(429)
      expect(open.length - 1).toBeLessThanOrEqual(200 + Math.ceil(((Date.now() - openStarted) / 1000) * 20))
    } finally {
      await limited.service.stop()
    }
  })
})

describe('health and readiness', () => {
  it('reports not ready while draining, and the workers stopped afterwards', async () => {
    const hanging = http.createServer(() => {})
    await new Promise<void>((resolve) => hanging.listen(0, '127.0.0.1', resolve))
    const draining = await startTestService({allowPrivateHttp: true})
    try {
      expect((await draining.call('GET', '/ready', {token: null})).status).toBe(200)
      await draining.call('POST', '/api/v1/jobs/trigger', {body: {source_type: 'http', config: {url: `http://127.0.0.1:${(hanging.address() as AddressInfo).port}/`}}})
      while (draining.service.workers.busy === 0) await new Promise((resolve) => setTimeout(resolve, 20))
      const stopping = draining.service.stop(1500)
      const ready = await draining.call('GET', '/ready', {token: null})
      expect(ready.status).toBe(503)
      expect(ready.body).toEqual({status: 'not ready', checks: {database: 'ok', workers: 'stopping'}})
      expect((await draining.call('GET', '/health', {token: null})).body.checks.workers).toBe('stopping')
      await stopping
    } finally {
      hanging.closeAllConnections()
      hanging.close()
    }
  })

  it('reports a failing database', async () => {
    const broken = await startTestService()
    try {
      broken.service.store.ping = async () => {
        throw new Error('disk I/O error')
      }
      const health = await broken.call('GET', '/health', {token: null})
      expect(health.status).toBe(503)
      expect(health.body.checks).toEqual({database: 'failing: disk I/O error', workers: 'ok'})
      expect((await broken.call('GET', '/ready', {token: null})).status).toBe(503)
    } finally {
      await broken.service.stop()
    }
  })
})

describe('collected data', () => {
  it('is owner-only: 0700 folders, 0600 files', async () => {
    // The workers of `t` were stopped above: a service of its own.
    const fresh = await startTestService({connections: {crm}})
    try {
      const job = await waitForJob(fresh, (await fresh.call('POST', '/api/v1/jobs/trigger', {body: {source_type: 'database', config: {connection: 'crm', table: 'users', limit: 3}}})).body.job_id)
      expect(job.status).toBe('succeeded')
      const mode = (file: string) => (statSync(file).mode & 0o777).toString(8)
      expect(mode(fresh.dataDir)).toBe('700')
      expect(mode(path.join(fresh.dataDir, 'results'))).toBe('700')
      expect(mode(path.join(fresh.dataDir, 'results', `${job.job_id}.1.out`))).toBe('600')
      for (const file of ['jobs.db', 'jobs.db-wal', 'jobs.db-shm', 'jobs.db.owner', 'jobs.db.lock']) expect(mode(path.join(fresh.dataDir, file)), file).toBe('600')
    } finally {
      await fresh.service.stop()
    }
  })

  it('needs a file root and connection files that exist, said in one line at start', async () => {
    const {startService} = await import('../../src/service/server.js')
    const base = {host: '127.0.0.1', port: 0, dataDir: path.join(t.dataDir, 'other'), concurrency: 1, jobTimeoutMs: 1000, maxAttempts: 1, logLevel: 'silent', version: 'test'}
    const settings = {fileRoot: t.fileRoot, connections: {}, allowPrivateHttp: false, httpTimeoutMs: 1000, maxResultBytes: 1000, maxRows: 10}
    await expect(startService({...base, settings: {...settings, fileRoot: '/nonexistent/files'}})).rejects.toMatchObject({code: 'FILE_ROOT_MISSING', message: '--file-root /nonexistent/files does not exist'})
    await expect(startService({...base, settings: {...settings, connections: {crm: '/nonexistent/crm.db'}}})).rejects.toMatchObject({code: 'CONNECTION_MISSING', message: '--connection crm=/nonexistent/crm.db: no such file'})
  })
})
