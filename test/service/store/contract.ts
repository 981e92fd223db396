import {randomUUID} from 'node:crypto'
import {existsSync, mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import http from 'node:http'
import os from 'node:os'
import path from 'node:path'

import {afterEach, describe, expect, it} from 'vitest'

import {type JobStore, type NewJob, QueueFullError, type Token} from '../../../src/service/store/job-store.js'
import {newJobId} from '../../../src/service/store/job-id.js'
import {type AttemptFinished, WorkerPool} from '../../../src/service/workers.js'

/**
 * What every job store must do alike: the same cases run against SQLite and PostgreSQL.
 * `open` gives a fresh, empty database and a way to open a second store on it (another process, or
 * another replica).
 */
export interface StoreUnderTest {
  store: JobStore
  /** Another store on the same database: what a second replica (or a token command) sees. */
  another(): Promise<JobStore>
}

const job = (extra: Partial<NewJob> = {}): NewJob => ({id: newJobId(), sourceType: 'file', config: {path: 'a.txt', max_bytes: 10}, maxAttempts: 2, tokenId: 'token-1', ...extra})
const token = (extra: Partial<Token> = {}): Token => ({id: randomUUID(), name: `t-${randomUUID().slice(0, 8)}`, hash: randomUUID().replaceAll('-', '').padEnd(64, '0'), scopes: ['jobs:read'], createdAt: new Date().toISOString(), revokedAt: null, ...extra})
const later = (ms: number) => new Date(Date.now() + ms)
/** Jobs created in one millisecond have no order among them (random id bits): a pause orders them. */
const tick = () => new Promise((resolve) => setTimeout(resolve, 3))
const result = {rows: 3, bytes: 12, sha256: 'ab'.repeat(32), contentType: 'text/csv', path: 'db:x'}

export function jobStoreContract(name: string, open: () => Promise<StoreUnderTest>): void {
  describe(`${name}: the JobStore contract`, () => {
    const opened: JobStore[] = []
    const fresh = async () => {
      const under = await open()
      opened.push(under.store)
      return {
        store: under.store,
        another: async () => {
          const other = await under.another()
          opened.push(other)
          return other
        },
      }
    }
    afterEach(async () => {
      for (const store of opened.splice(0)) await store.close()
    })

    it('creates queued jobs with their owner, and an idempotency key returns the first job of the same token only', async () => {
      const {store, another} = await fresh()
      const first = await store.create(job({idempotencyKey: 'k1'}))
      expect(first).toMatchObject({created: true, job: {status: 'queued', attempts: 0, maxAttempts: 2, progress: 0, tokenId: 'token-1', config: {path: 'a.txt', max_bytes: 10}, cancelRequested: false, result: null, error: null}})
      // The same key and token, from another replica, in the same turn as a third call.
      const other = await another()
      const [again, sameTurn, otherToken] = await Promise.all([other.create(job({idempotencyKey: 'k1'})), store.create(job({idempotencyKey: 'k1'})), store.create(job({idempotencyKey: 'k1', tokenId: 'token-2'}))])
      expect(again).toMatchObject({created: false, job: {id: first.job.id}})
      expect(sameTurn).toMatchObject({created: false, job: {id: first.job.id}})
      expect(otherToken.created).toBe(true)
      expect(otherToken.job.id).not.toBe(first.job.id)
      // Two new jobs with the same key in one turn: one job.
      const [a, b] = await Promise.all([store.create(job({idempotencyKey: 'k2'})), store.create(job({idempotencyKey: 'k2'}))])
      expect([a.created, b.created].sort()).toEqual([false, true])
      expect(a.job.id).toBe(b.job.id)
      expect((await store.countsByState()).queued).toBe(3)
    })

    it('gets a job as committed, visible to another store at once, and nothing for an unknown id', async () => {
      const {store, another} = await fresh()
      const {job: created} = await store.create(job())
      const other = await another()
      expect(await other.get(created.id)).toEqual(created)
      expect(await store.get(newJobId())).toBeUndefined()
      expect(Date.parse(created.createdAt)).toBeGreaterThan(Date.now() - 60_000)
    })

    it('lists newest first with filters, an owner, and cursors that page through every job once', async () => {
      const {store} = await fresh()
      const ids: string[] = []
      for (let i = 0; i < 7; i++) {
        ids.push((await store.create(job({tokenId: i % 2 ? 'token-2' : 'token-1', sourceType: i < 5 ? 'file' : 'http'}))).job.id)
        await tick()
      }
      const seen: string[] = []
      let cursor: string | undefined
      do {
        const page = await store.list({limit: 3, cursor})
        expect(page.jobs.length).toBeLessThanOrEqual(3)
        seen.push(...page.jobs.map((j) => j.id))
        cursor = page.nextCursor ?? undefined
      } while (cursor)
      expect(seen).toEqual([...ids].reverse())
      expect((await store.list({limit: 10, tokenId: 'token-2'})).jobs.map((j) => j.id)).toEqual([ids[5], ids[3], ids[1]])
      expect((await store.list({limit: 10, sourceType: 'http'})).jobs.map((j) => j.id)).toEqual([ids[6], ids[5]])
      const all = (await store.list({limit: 10})).jobs
      const fourth = all.find((j) => j.id === ids[3])!
      expect((await store.list({limit: 10, createdAfter: fourth.createdAt})).jobs.map((j) => j.id)).toEqual([ids[6], ids[5], ids[4], ids[3]])
      expect((await store.list({limit: 10, createdBefore: fourth.createdAt})).jobs.map((j) => j.id)).toEqual([ids[2], ids[1], ids[0]])
      await store.claim(60_000, 2)
      expect((await store.list({limit: 10, status: 'running'})).jobs.map((j) => j.id)).toEqual([ids[1], ids[0]])
      expect((await store.list({limit: 10, status: 'queued', tokenId: 'token-1'})).jobs.map((j) => j.id)).toEqual([ids[6], ids[4], ids[2]])
    })

    it('claims the oldest runnable jobs, each by one store only, even when two claim at once', async () => {
      const {store, another} = await fresh()
      const ids: string[] = []
      for (let i = 0; i < 20; i++) {
        ids.push((await store.create(job())).job.id)
        await tick()
      }
      expect((await store.claim(60_000, 2)).map((j) => j.id)).toEqual(ids.slice(0, 2))
      const other = await another()
      const [mine, theirs] = await Promise.all([store.claim(60_000, 10), other.claim(60_000, 10)])
      const taken = [...mine, ...theirs].map((j) => j.id)
      expect(new Set(taken).size).toBe(taken.length)
      expect(taken.sort()).toEqual(ids.slice(2).sort())
      for (const claimed of [...mine, ...theirs]) expect(claimed).toMatchObject({status: 'running', attempts: 1})
      expect(await store.claim(60_000, 5)).toEqual([])
    })

    it('extends a lease, and requeues or fails the jobs whose lease ran out', async () => {
      const {store} = await fresh()
      const once = (await store.create(job({maxAttempts: 1}))).job
      const twice = (await store.create(job({maxAttempts: 2}))).job
      const claimed = await store.claim(5_000, 2)
      const lease = Date.parse(claimed[0].leaseUntil!)
      expect(lease).toBeGreaterThan(Date.now() - 5_000)
      await store.extendLease(twice.id, 120_000)
      expect(Date.parse((await store.get(twice.id))!.leaseUntil!)).toBeGreaterThan(lease + 100_000)
      // Nothing has expired yet.
      expect(await store.recoverExpired()).toBe(0)
      expect(await store.recoverExpired(later(10_000))).toBe(1)
      expect(await store.get(once.id)).toMatchObject({status: 'failed', error: 'worker lost while running and no attempts remain', leaseUntil: null})
      expect(await store.recoverExpired(later(200_000))).toBe(1)
      expect(await store.get(twice.id)).toMatchObject({status: 'queued', leaseUntil: null, attempts: 1})
      expect((await store.claim(60_000, 1)).map((j) => j.id)).toEqual([twice.id])
      expect(await store.get(twice.id)).toMatchObject({status: 'running', attempts: 2})
    })

    it('records progress between 0 and 1, and a success with its result', async () => {
      const {store} = await fresh()
      const {job: created} = await store.create(job())
      await store.claim(60_000, 1)
      await store.progress(created.id, 0.25)
      expect((await store.get(created.id))?.progress).toBe(0.25)
      await store.progress(created.id, 7)
      expect((await store.get(created.id))?.progress).toBe(1)
      await store.progress(created.id, -1)
      expect((await store.get(created.id))?.progress).toBe(0)
      await store.succeed(created.id, result)
      const done = await store.get(created.id)
      expect(done).toMatchObject({status: 'succeeded', progress: 1, result, error: null, leaseUntil: null})
      expect(done?.finishedAt).toBeTruthy()
      // Progress after the end changes nothing.
      await store.progress(created.id, 0.5)
      expect((await store.get(created.id))?.progress).toBe(1)
    })

    it('requeues a failure after its backoff while attempts remain, then fails for good; permanent errors at once', async () => {
      const {store} = await fresh()
      const {job: created} = await store.create(job())
      expect((await store.claim(60_000, 1)).map((j) => j.id)).toEqual([created.id])
      expect(await store.fail(created.id, 'source down', 5_000)).toBe('queued')
      expect(await store.get(created.id)).toMatchObject({status: 'queued', error: 'source down', attempts: 1, finishedAt: null})
      expect(await store.claim(60_000, 1)).toEqual([])
      expect((await store.claim(60_000, 1, later(6_000))).map((j) => j.id)).toEqual([created.id])
      expect(await store.fail(created.id, 'still down', 5_000)).toBe('failed')
      expect(await store.get(created.id)).toMatchObject({status: 'failed', error: 'still down', attempts: 2})
      expect((await store.get(created.id))?.finishedAt).toBeTruthy()
      const permanent = (await store.create(job({maxAttempts: 5}))).job
      await store.claim(60_000, 1)
      expect(await store.fail(permanent.id, 'no such table', 1_000, true)).toBe('failed')
    })

    it('cancels a queued job at once and a running one through its worker; an ended job stays as it ended', async () => {
      const {store, another} = await fresh()
      const queued = (await store.create(job())).job
      const running = (await store.create(job())).job
      await tick()
      const finished = (await store.create(job())).job
      expect((await store.cancel(queued.id))).toMatchObject({status: 'cancelled', cancelRequested: true})
      expect((await store.get(queued.id))?.finishedAt).toBeTruthy()
      expect((await store.claim(60_000, 2)).map((j) => j.id)).toEqual([running.id, finished.id])
      await store.succeed(finished.id, result)
      // Cancel asked on another replica: the worker's store sees the flag.
      const other = await another()
      expect(await other.cancel(running.id)).toMatchObject({status: 'running', cancelRequested: true})
      expect((await store.get(running.id))?.cancelRequested).toBe(true)
      await store.markCancelled(running.id)
      expect(await store.get(running.id)).toMatchObject({status: 'cancelled', leaseUntil: null})
      expect(await store.cancel(finished.id)).toMatchObject({status: 'succeeded', cancelRequested: false})
      expect(await store.cancel(newJobId())).toBeUndefined()
      // A running job that fails after a cancel was asked fails for good.
      const flagged = (await store.create(job({maxAttempts: 5}))).job
      await store.claim(60_000, 1)
      await store.cancel(flagged.id)
      expect(await store.fail(flagged.id, 'aborted', 1_000)).toBe('failed')
      expect(await store.countsByState()).toEqual({queued: 0, running: 0, succeeded: 1, failed: 1, cancelled: 2})
    })

    it('gives running jobs back to the queue on shutdown, and leaves others alone', async () => {
      const {store} = await fresh()
      const a = (await store.create(job())).job
      await tick()
      const b = (await store.create(job())).job
      await store.claim(60_000, 1)
      await store.requeue([a.id, b.id])
      expect(await store.get(a.id)).toMatchObject({status: 'queued', leaseUntil: null, attempts: 1})
      expect(await store.get(b.id)).toMatchObject({status: 'queued', attempts: 0})
      await store.requeue([])
      expect((await store.claim(60_000, 2)).map((j) => j.id)).toEqual([a.id, b.id])
    })

    it('fences a stale attempt: once its lease was taken over, its heartbeat, progress, success, failure, cancel and requeue change nothing', async () => {
      const {store: stale, another} = await fresh()
      const {job: created} = await stale.create(job({maxAttempts: 3}))
      expect((await stale.claim(5_000, 1)).map((j) => j.attempts)).toEqual([1])
      // Its lease ran out (a stalled worker); another store requeues the job and claims attempt 2.
      const live = await another()
      expect(await live.recoverExpired(later(10_000))).toBe(1)
      expect((await live.claim(60_000, 1)).map((j) => [j.id, j.attempts])).toEqual([[created.id, 2]])
      await stale.extendLease(created.id, 600_000)
      await stale.progress(created.id, 0.9)
      expect(await stale.succeed(created.id, {...result, path: 'stale'})).toBe(false)
      expect(await live.get(created.id)).toMatchObject({status: 'running', attempts: 2, progress: 0, result: null})
      expect(Date.parse((await live.get(created.id))!.leaseUntil!)).toBeLessThan(Date.now() + 120_000)
      // A stale failure neither requeues the live attempt nor ends it; it is told how the job stands.
      expect(await stale.fail(created.id, 'late', 0)).toBe('running')
      await stale.markCancelled(created.id)
      await stale.requeue([created.id])
      expect(await live.get(created.id)).toMatchObject({status: 'running', attempts: 2, error: null})
      expect(await live.succeed(created.id, {...result, path: 'live'})).toBe(true)
      // After the success, the stale attempt's failure cannot turn it back to queued.
      expect(await stale.fail(created.id, 'late again', 0, false)).toBe('succeeded')
      expect(await stale.fail(created.id, 'late again', 0, true)).toBe('succeeded')
      expect(await stale.get(created.id)).toMatchObject({status: 'succeeded', attempts: 2, error: null, result: {path: 'live'}})
      expect((await stale.countsByState()).queued).toBe(0)
    })

    it('stops an attempt whose lease was taken over before the next one runs, and keeps the result per attempt', async () => {
      const {store, another} = await fresh()
      const requests: {attempt: number; arrived: number; closed?: number; respond: (body: string) => void}[] = []
      const server = http.createServer((request, response) => {
        const entry = {attempt: requests.length + 1, arrived: performance.now(), closed: undefined as number | undefined, respond: (body: string) => response.end(body)}
        requests.push(entry)
        request.socket.once('close', () => (entry.closed = performance.now()))
      })
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
      const resultsDir = mkdtempSync(path.join(os.tmpdir(), 'infra-attempts-'))
      const pool = new WorkerPool(store, {
        concurrency: 2,
        jobTimeoutMs: 30_000,
        leaseMs: 30_000,
        pollMs: 50,
        backoffBaseMs: 10,
        resultsDir,
        settings: {fileRoot: os.tmpdir(), connections: {}, allowPrivateHttp: true, httpTimeoutMs: 30_000, maxResultBytes: 1000, maxRows: 10},
      })
      const finished: AttemptFinished[] = []
      pool.onAttemptFinished((event) => finished.push(event))
      const {job: created} = await store.create(job({sourceType: 'http', config: {url: `http://127.0.0.1:${(server.address() as {port: number}).port}/`}, maxAttempts: 3}))
      try {
        await pool.start()
        const until = async (check: () => boolean | Promise<boolean>) => {
          const deadline = Date.now() + 10_000
          while (!(await check())) {
            if (Date.now() > deadline) throw new Error('timed out')
            await new Promise((resolve) => setTimeout(resolve, 10))
          }
        }
        await until(() => requests.length === 1)
        // As after a stall past the lease: the job is requeued, and this very pool claims it again.
        const other = await another()
        expect(await other.recoverExpired(later(3_600_000))).toBe(1)
        await until(() => requests.length === 2 && requests[0].closed !== undefined)
        // The first attempt was stopped when the second was claimed, not at a later heartbeat.
        expect(requests[0].closed! - requests[1].arrived).toBeLessThan(200)
        expect(finished.map((event) => [event.job.attempts, event.state])).toEqual([[1, 'lease_lost']])
        requests[1].respond('fresh')
        await until(async () => (await other.get(created.id))?.status === 'succeeded')
        const done = (await other.get(created.id))!
        expect(done).toMatchObject({attempts: 2, result: {bytes: 5}})
        expect(done.result!.path).toBe(path.join(resultsDir, `${created.id}.2.out`))
        expect(readFileSync(done.result!.path, 'utf8')).toBe('fresh')
        expect(existsSync(path.join(resultsDir, `${created.id}.1.out`))).toBe(false)
      } finally {
        await pool.stop(0)
        server.closeAllConnections()
        server.close()
      }
    })

    it('claims round-robin between tokens, starting with the token served longest ago, oldest first within each', async () => {
      const {store, another} = await fresh()
      const a: string[] = []
      for (let i = 0; i < 6; i++) a.push((await store.create(job({tokenId: 'token-a'}))).job.id), await tick()
      const b: string[] = []
      for (let i = 0; i < 2; i++) b.push((await store.create(job({tokenId: 'token-b'}))).job.id), await tick()
      // One slot at a time: the tokens take turns, whoever queued first.
      expect((await store.claim(60_000, 1)).map((j) => j.id)).toEqual([a[0]])
      expect((await store.claim(60_000, 1)).map((j) => j.id)).toEqual([b[0]])
      // Turns are kept in the database: another store (replica) continues them.
      const other = await another()
      expect((await other.claim(60_000, 1)).map((j) => j.id)).toEqual([a[1]])
      const c = (await store.create(job({tokenId: 'token-c'}))).job.id
      // Several slots: one from each token per round, the token never served first.
      expect((await store.claim(60_000, 4)).map((j) => j.id)).toEqual([c, b[1], a[2], a[3]])
      expect((await store.claim(60_000, 4)).map((j) => j.id)).toEqual([a[4], a[5]])
    })

    it('refuses a job past the token\'s quota of queued jobs, counting only queued ones, and still answers an idempotent repeat', async () => {
      const {store} = await fresh()
      const quota = {maxQueuedPerToken: 3}
      const first = await store.create(job({...quota, idempotencyKey: 'k'}))
      // A batch in one turn counts its own jobs too.
      const batch = await Promise.allSettled([store.create(job(quota)), store.create(job(quota)), store.create(job(quota)), store.create(job({...quota, tokenId: 'token-2'}))])
      expect(batch.map((entry) => entry.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled'])
      expect((batch[2] as PromiseRejectedResult).reason).toBeInstanceOf(QueueFullError)
      await expect(store.create(job(quota))).rejects.toThrow('this token already has 3 queued jobs')
      expect(await store.create(job({...quota, idempotencyKey: 'k'}))).toMatchObject({created: false, job: {id: first.job.id}})
      // Once one starts, there is room for one more.
      await store.claim(60_000, 1)
      expect((await store.create(job(quota))).created).toBe(true)
      await expect(store.create(job(quota))).rejects.toBeInstanceOf(QueueFullError)
      expect((await store.create(job())).created).toBe(true)
    })

    it('holds the quota exactly when several replicas, each on several connections, enqueue for one token at once', async () => {
      const {store, another} = await fresh()
      const replicas = [store, ...(await Promise.all([another(), another(), another()]))]
      const quota = {maxQueuedPerToken: 7}
      // Every replica sends a batch in each of three turns without waiting for the last: twelve
      // batches of five in flight together, on separate pools (separate connections) for PostgreSQL.
      // Each call's outcome is taken as it comes (a refusal of the first turn is not left unhandled
      // while later turns are sent).
      const outcomes: Promise<{created: boolean} | {refused: unknown}>[] = []
      for (let turn = 0; turn < 3; turn++) {
        for (const replica of replicas) for (let i = 0; i < 5; i++) outcomes.push(replica.create(job(quota)).then(({created}) => ({created}), (refused: unknown) => ({refused})))
        await new Promise((resolve) => setImmediate(resolve))
      }
      const settled = await Promise.all(outcomes)
      expect(settled.filter((outcome) => 'created' in outcome && outcome.created)).toHaveLength(7)
      const refused = settled.flatMap((outcome) => ('refused' in outcome ? [outcome.refused] : []))
      expect(refused).toHaveLength(60 - 7)
      for (const reason of refused) expect(reason).toBeInstanceOf(QueueFullError)
      expect((await store.list({limit: 100, status: 'queued', tokenId: 'token-1'})).jobs).toHaveLength(7)
      // Another token's quota is its own.
      expect((await replicas[1].create(job({...quota, tokenId: 'token-2'}))).created).toBe(true)
    })

    it('purges jobs that ended before the retention, with their result locations, and nothing else', async () => {
      const {store} = await fresh()
      const done = (await store.create(job())).job
      const failed = (await store.create(job({maxAttempts: 1}))).job
      const queued = (await store.create(job())).job
      await tick()
      const running = (await store.create(job())).job
      await store.claim(60_000, 3)
      await store.succeed(done.id, {...result, path: `/results/${done.id}.1.out`})
      await store.fail(failed.id, 'broken', 0, true)
      expect(await store.purgeFinished(new Date(Date.now() - 60_000), 100)).toEqual([])
      const purged = await store.purgeFinished(later(1_000), 100)
      expect(purged.sort((x, y) => x.id.localeCompare(y.id))).toEqual([{id: done.id, resultPath: `/results/${done.id}.1.out`}, {id: failed.id, resultPath: null}].sort((x, y) => x.id.localeCompare(y.id)))
      expect(await store.get(done.id)).toBeUndefined()
      expect(await store.get(failed.id)).toBeUndefined()
      expect((await store.get(queued.id))?.status).toBe('running')
      expect((await store.get(running.id))?.status).toBe('queued')
      expect(await store.purgeFinished(later(1_000), 100)).toEqual([])
    })

    it('starts another token\'s job within seconds while one token has 10,000 queued (measured)', async () => {
      const {store} = await fresh()
      const root = mkdtempSync(path.join(os.tmpdir(), 'infra-fair-'))
      writeFileSync(path.join(root, 'a.txt'), 'a')
      // One token's backlog, accepted in one batch.
      await Promise.all(Array.from({length: 10_000}, () => store.create(job({tokenId: 'busy', config: {path: 'a.txt'}}))))
      const pool = new WorkerPool(store, {
        concurrency: 2,
        jobTimeoutMs: 10_000,
        leaseMs: 30_000,
        pollMs: 50,
        backoffBaseMs: 10,
        resultsDir: mkdtempSync(path.join(os.tmpdir(), 'infra-fair-results-')),
        settings: {fileRoot: root, connections: {}, allowPrivateHttp: false, httpTimeoutMs: 1000, maxResultBytes: 1000, maxRows: 10},
      })
      await pool.start()
      try {
        // The backlog is being worked through when the other token's job arrives.
        while ((await store.countsByState()).succeeded < 20) await new Promise((resolve) => setTimeout(resolve, 10))
        const queuedAt = performance.now()
        const {job: mine} = await store.create(job({tokenId: 'quiet', config: {path: 'a.txt'}}))
        pool.wake()
        let waited = 0
        for (;;) {
          const current = await store.get(mine.id)
          if (current && current.status !== 'queued') break
          waited = performance.now() - queuedAt
          if (waited > 10_000) break
          await new Promise((resolve) => setTimeout(resolve, 5))
        }
        waited = performance.now() - queuedAt
        const counts = await store.countsByState()
        console.log(`${name}: another token's job started ${Math.round(waited)} ms after it was queued, behind ${counts.queued} queued jobs of one token`)
        expect(waited).toBeLessThan(3_000)
        expect(counts.queued).toBeGreaterThan(9_000)
      } finally {
        await pool.stop(1_000)
      }
    }, 60_000)

    it('keeps tokens: scopes, lookup by hash, revocation by id or name (once), seen by another store', async () => {
      const {store, another} = await fresh()
      const ci = token({name: 'ci', scopes: ['jobs:write', 'jobs:read'], createdAt: '2026-01-01T00:00:00.000Z'})
      const auditor = token({name: 'auditor', scopes: ['jobs:read', 'admin'], createdAt: '2026-01-02T00:00:00.000Z'})
      await store.addToken(ci)
      await store.addToken(auditor)
      await expect(store.addToken(token({name: 'ci'}))).rejects.toThrow()
      expect(await store.tokenByHash(ci.hash)).toEqual(ci)
      expect(await store.tokenByHash('f'.repeat(64))).toBeUndefined()
      expect((await store.listTokens()).map((t) => [t.name, t.scopes])).toEqual([
        ['ci', ['jobs:write', 'jobs:read']],
        ['auditor', ['jobs:read', 'admin']],
      ])
      const other = await another()
      expect(await other.revokeToken('ci')).toBe(true)
      expect(await other.revokeToken(ci.id)).toBe(false)
      expect(await store.revokeToken(auditor.id)).toBe(true)
      expect(await store.revokeToken('nobody')).toBe(false)
      expect((await store.tokenByHash(ci.hash))?.revokedAt).toBeTruthy()
      expect((await store.listTokens()).every((t) => t.revokedAt)).toBe(true)
      await store.ping()
    })
  })
}
