import {spawnSync} from 'node:child_process'
import {randomUUID} from 'node:crypto'
import {existsSync, mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {createRequire} from 'node:module'
import os from 'node:os'
import path from 'node:path'

import Database from 'better-sqlite3'
import {describe, expect, it} from 'vitest'

import {SqliteJobStore} from '../../../src/service/store/sqlite-store.js'

const require = createRequire(import.meta.url)
const dbFile = () => path.join(mkdtempSync(path.join(os.tmpdir(), 'infra-store-')), 'jobs.db')
const store = () => new SqliteJobStore(dbFile())
const newJob = () => ({id: randomUUID(), sourceType: 'file', config: {path: 'a.txt'}, maxAttempts: 2, tokenId: 'token-1'})

describe('SqliteJobStore.fail', () => {
  it('requeues after the backoff while attempts remain, then fails for good', async () => {
    const jobs = store()
    const {job} = await jobs.create(newJob())
    const start = new Date()
    expect((await jobs.claim(60_000, 1, start)).map((j) => j.id)).toEqual([job.id])
    expect(await jobs.fail(job.id, 'source down', 5_000)).toBe('queued')
    expect(await jobs.get(job.id)).toMatchObject({status: 'queued', error: 'source down', attempts: 1, finishedAt: null})
    // Not runnable before its backoff has passed.
    expect(await jobs.claim(60_000, 1, new Date(start.getTime() + 1_000))).toEqual([])
    expect((await jobs.claim(60_000, 1, new Date(Date.now() + 6_000))).map((j) => j.id)).toEqual([job.id])
    expect(await jobs.fail(job.id, 'still down', 5_000)).toBe('failed')
    expect(await jobs.get(job.id)).toMatchObject({status: 'failed', error: 'still down', attempts: 2})
    expect((await jobs.get(job.id))?.finishedAt).toBeTruthy()
    await jobs.close()
  })

  it('fails at once when the error is permanent or a cancel was asked for', async () => {
    const jobs = store()
    const permanent = (await jobs.create(newJob())).job
    const cancelled = (await jobs.create(newJob())).job
    await jobs.claim(60_000, 2)
    expect(await jobs.fail(permanent.id, 'no such table', 1_000, true)).toBe('failed')
    await jobs.cancel(cancelled.id)
    expect(await jobs.fail(cancelled.id, 'aborted', 1_000)).toBe('failed')
    expect(await jobs.countsByState()).toMatchObject({failed: 2, queued: 0, running: 0})
    await jobs.close()
  })
})

describe('the owning store (the service)', () => {
  it('answers reads from memory, and every kind of write shows in the next read', async () => {
    const jobs = new SqliteJobStore(dbFile(), {owner: true})
    const {job} = await jobs.create(newJob())
    const other = (await jobs.create({...newJob(), maxAttempts: 5})).job
    expect(await jobs.get(job.id)).toMatchObject({status: 'queued'})
    expect(await jobs.get(job.id)).toBe(await jobs.get(job.id))
    const now = new Date()
    await jobs.claim(60_000, 2, now)
    expect(await jobs.get(job.id)).toMatchObject({status: 'running', attempts: 1})
    await jobs.progress(job.id, 0.5)
    expect((await jobs.get(job.id))?.progress).toBe(0.5)
    const leased = (await jobs.get(job.id))?.leaseUntil
    await jobs.extendLease(job.id, 120_000)
    expect((await jobs.get(job.id))?.leaseUntil).not.toBe(leased)
    expect(await jobs.cancel(job.id)).toMatchObject({cancelRequested: true})
    await jobs.markCancelled(job.id)
    expect(await jobs.get(job.id)).toMatchObject({status: 'cancelled'})
    await jobs.requeue([other.id])
    expect(await jobs.get(other.id)).toMatchObject({status: 'queued'})
    await jobs.claim(1, 1, now)
    expect(await jobs.get(other.id)).toMatchObject({status: 'running'})
    expect(await jobs.recoverExpired(new Date(now.getTime() + 60_000))).toBe(1)
    expect(await jobs.get(other.id)).toMatchObject({status: 'queued'})
    await jobs.claim(60_000, 1, new Date(now.getTime() + 60_000))
    await jobs.fail(other.id, 'broken', 0, true)
    expect(await jobs.get(other.id)).toMatchObject({status: 'failed', error: 'broken'})
    const third = (await jobs.create(newJob())).job
    await jobs.claim(60_000, 1, new Date(now.getTime() + 60_000))
    await jobs.succeed(third.id, {rows: 1, bytes: 2, sha256: 'ab', contentType: 'text/plain', path: '/x'})
    expect(await jobs.get(third.id)).toMatchObject({status: 'succeeded', result: {rows: 1}})
    await jobs.close()
  })

  it('is the only one on its database, in this process too; its lock goes with it', async () => {
    const file = dbFile()
    const first = new SqliteJobStore(file, {owner: true})
    expect(() => new SqliteJobStore(file, {owner: true})).toThrow(`${file} is in use by the infra service with pid ${process.pid} on ${os.hostname()}`)
    // Others (token commands) still open it.
    const reader = new SqliteJobStore(file)
    await reader.close()
    // A refused owner leaves the holder's lock as it was.
    let refused: unknown
    try {
      new SqliteJobStore(file, {owner: true})
    } catch (error) {
      refused = error
    }
    expect(refused).toMatchObject({code: 'DATABASE_IN_USE'})
    await first.close()
    expect(existsSync(`${file}.owner`)).toBe(false)
    const next = new SqliteJobStore(file, {owner: true})
    await next.close()
  })

  it('lets go of its lock when the database cannot be opened, so a retry says what is wrong, not "in use"', async () => {
    const file = dbFile()
    writeFileSync(file, 'not a database, but a file of the same name')
    expect(() => new SqliteJobStore(file, {owner: true})).toThrow(expect.objectContaining({code: 'SQLITE_NOTADB'}))
    expect(existsSync(`${file}.owner`)).toBe(false)
    expect(() => new SqliteJobStore(file, {owner: true})).toThrow(expect.objectContaining({code: 'SQLITE_NOTADB'}))
  })

  it('takes over what a dead owner left: its details naming pid 1 (the previous container) or this pid, and its lock file', async () => {
    const file = dbFile()
    // A process that took the lock and died without closing (SIGKILL): the kernel released its lock.
    const died = spawnSync(process.execPath, ['-e', `
      const Database = require(${JSON.stringify(require.resolve('better-sqlite3'))})
      const db = new Database(${JSON.stringify(`${file}.lock`)})
      db.pragma('locking_mode = EXCLUSIVE'); db.exec('BEGIN EXCLUSIVE; COMMIT'); process.kill(process.pid, 'SIGKILL')`])
    expect(died.signal).toBe('SIGKILL')
    for (const pid of [1, process.pid]) {
      writeFileSync(`${file}.owner`, JSON.stringify({pid, host: 'infra-service-7d9f-previous', startedAt: '2026-01-01T00:00:00.000Z'}))
      const store = new SqliteJobStore(file, {owner: true})
      expect(JSON.parse(readFileSync(`${file}.owner`, 'utf8'))).toMatchObject({pid: process.pid, host: os.hostname()})
      await store.close()
    }
  })
})

describe('tokens and owners', () => {
  it('keeps scopes with tokens and owners with jobs, and lists a token\'s own jobs', async () => {
    const jobs = store()
    await jobs.addToken({id: 't1', name: 'ci', hash: 'a'.repeat(64), scopes: ['jobs:read'], createdAt: new Date().toISOString(), revokedAt: null})
    expect(await jobs.tokenByHash('a'.repeat(64))).toMatchObject({id: 't1', scopes: ['jobs:read']})
    const mine = (await jobs.create({...newJob(), tokenId: 't1'})).job
    await jobs.create({...newJob(), tokenId: 't2'})
    expect((await jobs.get(mine.id))?.tokenId).toBe('t1')
    expect((await jobs.list({limit: 10, tokenId: 't1'})).jobs.map((job) => job.id)).toEqual([mine.id])
    expect((await jobs.list({limit: 10})).jobs).toHaveLength(2)
    await jobs.close()
  })

  it('gives tokens of a database from before scopes the scopes they had', async () => {
    const file = dbFile()
    const old = new Database(file)
    old.exec("CREATE TABLE tokens (id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, hash TEXT NOT NULL UNIQUE, created_at TEXT NOT NULL, revoked_at TEXT); INSERT INTO tokens VALUES ('t0', 'old', 'b', '2026-11-01T00:00:00Z', NULL)")
    old.close()
    const jobs = new SqliteJobStore(file)
    expect(await jobs.listTokens()).toEqual([{id: 't0', name: 'old', hash: 'b', scopes: ['jobs:write', 'jobs:read'], createdAt: '2026-11-01T00:00:00Z', revokedAt: null}])
    await jobs.close()
  })
})
