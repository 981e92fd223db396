import http from 'node:http'
import {mkdtempSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import pg from 'pg'

import {PostgresJobStore} from '../../../src/service/store/postgres-store.js'
import {type AttemptFinished, WorkerPool} from '../../../src/service/workers.js'
import {MIGRATIONS} from '../../../src/service/store/postgres-migrations.js'
import {newJobId} from '../../../src/service/store/job-id.js'
import {startPostgres, type TestPostgres} from '../../support/postgres.js'
import {jobStoreContract} from './contract.js'

let server: TestPostgres
beforeAll(async () => {
  server = await startPostgres()
}, 120_000)
afterAll(async () => {
  await server?.stop()
}, 60_000)

// Each case gets its own database on one real PostgreSQL 15 server; `another` is a second replica.
jobStoreContract('PostgreSQL', async () => {
  const url = await server.createDatabase()
  return {store: await PostgresJobStore.open(url), another: () => PostgresJobStore.open(url)}
})

describe('PostgreSQL only', () => {
  it('applies each migration exactly once when several replicas start together', async () => {
    const url = await server.createDatabase()
    const stores = await Promise.all(Array.from({length: 6}, () => PostgresJobStore.open(url)))
    const client = new pg.Client(url)
    await client.connect()
    const {rows} = await client.query('SELECT version, count(*)::int AS n FROM schema_migrations GROUP BY version ORDER BY version')
    await client.end()
    expect(rows).toEqual(MIGRATIONS.map((m) => ({version: m.version, n: 1})))
    for (const store of stores) await store.close()
  })

  // The fencing of a stale attempt's writes is in the shared contract (contract.ts), for both stores.

  it('stops a worker whose job another replica took over, at its next heartbeat, and writes nothing for it', async () => {
    const url = await server.createDatabase()
    const [stalled, other] = await Promise.all([PostgresJobStore.open(url), PostgresJobStore.open(url)])
    let closed = false
    const slow = http.createServer((request) => request.socket.once('close', () => (closed = true)))
    await new Promise<void>((resolve) => slow.listen(0, '127.0.0.1', resolve))
    const pool = new WorkerPool(stalled, {
      concurrency: 1,
      jobTimeoutMs: 30_000,
      leaseMs: 600,
      pollMs: 50,
      backoffBaseMs: 10,
      resultsDir: mkdtempSync(path.join(os.tmpdir(), 'infra-lease-')),
      settings: {fileRoot: os.tmpdir(), connections: {}, allowPrivateHttp: true, httpTimeoutMs: 30_000, maxResultBytes: 1000, maxRows: 10},
    })
    const finished: AttemptFinished[] = []
    pool.onAttemptFinished((event) => finished.push(event))
    const {job} = await stalled.create({id: newJobId(), sourceType: 'http', config: {url: `http://127.0.0.1:${(slow.address() as {port: number}).port}/`}, maxAttempts: 3, tokenId: 't'})
    await pool.start()
    while ((await other.get(job.id))?.status !== 'running') await new Promise((resolve) => setTimeout(resolve, 20))
    // As if this replica had stalled past its lease: another requeues the job and claims it.
    expect(await other.recoverExpired(new Date(Date.now() + 3_600_000))).toBe(1)
    expect((await other.claim(60_000, 1)).map((j) => j.attempts)).toEqual([2])
    const deadline = Date.now() + 5_000
    while (finished.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20))
    expect(finished.map((event) => event.state)).toEqual(['lease_lost'])
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect(closed).toBe(true)
    expect(await other.get(job.id)).toMatchObject({status: 'running', attempts: 2, error: null})
    await pool.stop(0)
    // Stopping gives back only what it holds: the job stays the other replica's.
    expect(await other.get(job.id)).toMatchObject({status: 'running', attempts: 2})
    slow.closeAllConnections()
    slow.close()
    await stalled.close()
    await other.close()
  })

  it('keeps small results in the database for every replica, fenced like the job', async () => {
    const url = await server.createDatabase()
    const [one, two] = await Promise.all([PostgresJobStore.open(url), PostgresJobStore.open(url)])
    const {job} = await one.create({id: newJobId(), sourceType: 'file', config: {}, maxAttempts: 2, tokenId: 't'})
    const data = Buffer.from([0, 1, 2, 255, 10, 13])
    // Only while the job runs under this replica's claim.
    expect(await one.saveResult(job.id, data)).toBe(false)
    await one.claim(60_000, 1)
    expect(await one.saveResult(job.id, data)).toBe(true)
    expect(await two.readResult(job.id)).toEqual(data)
    // Taken over by another replica: the first can no longer replace the result.
    await two.recoverExpired(new Date(Date.now() + 120_000))
    await two.claim(60_000, 1)
    expect(await one.saveResult(job.id, Buffer.from('stale'))).toBe(false)
    expect(await two.saveResult(job.id, Buffer.from('fresh'))).toBe(true)
    expect(await one.readResult(job.id)).toEqual(Buffer.from('fresh'))
    expect(await two.readResult(newJobId())).toBeUndefined()
    await one.close()
    await two.close()
  })

  it('refuses a URL that would not verify the server, naming the fix', async () => {
    await expect(PostgresJobStore.open('postgres://u@db.example/x?sslmode=require')).rejects.toThrow(/without checking who answers/)
    await expect(PostgresJobStore.open('postgres://u@db.example/x?sslmode=verify-full')).rejects.toThrow(/needs the CA bundle/)
    await expect(PostgresJobStore.open('postgres://u@db.example/x?iam=true&sslrootcert=/nonexistent/ca.pem')).rejects.toThrow(/cannot read sslrootcert/)
  })
})
