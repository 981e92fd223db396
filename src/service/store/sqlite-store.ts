import {chmodSync, closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {hostname} from 'node:os'
import path from 'node:path'

import Database from 'better-sqlite3'

import {InfraError} from '../../errors.js'

import {type Job, type JobResultMeta, type JobState, type JobStore, JOB_STATES, type ListQuery, type NewJob, type PurgedJob, QueueFullError, type Scope, type Token, interleave} from './job-store.js'

const SCHEMA = `
CREATE TABLE IF NOT EXISTS jobs (
  id TEXT PRIMARY KEY,
  source_type TEXT NOT NULL,
  config TEXT NOT NULL,
  status TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  max_attempts INTEGER NOT NULL,
  progress REAL NOT NULL DEFAULT 0,
  error TEXT,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  started_at TEXT,
  finished_at TEXT,
  run_after TEXT NOT NULL,
  lease_until TEXT,
  cancel_requested INTEGER NOT NULL DEFAULT 0,
  result TEXT,
  token_id TEXT NOT NULL,
  idempotency_key TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS jobs_idempotency ON jobs(token_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
-- Claims walk queued jobs oldest first and stop at the limit; run_after is checked on the way.
CREATE INDEX IF NOT EXISTS jobs_queue ON jobs(status, created_at, id);
CREATE INDEX IF NOT EXISTS jobs_created ON jobs(created_at, id);
CREATE TABLE IF NOT EXISTS tokens (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  hash TEXT NOT NULL UNIQUE,
  created_at TEXT NOT NULL,
  revoked_at TEXT,
  scopes TEXT NOT NULL DEFAULT 'jobs:write jobs:read'
);
CREATE INDEX IF NOT EXISTS jobs_owner ON jobs(token_id, created_at, id);
-- Fair claims: the tokens with queued jobs (a skip scan) and each one's oldest; the queue quota.
CREATE INDEX IF NOT EXISTS jobs_fair ON jobs(status, token_id, created_at, id);
-- Retention: ended jobs by when they ended.
CREATE INDEX IF NOT EXISTS jobs_finished ON jobs(finished_at) WHERE finished_at IS NOT NULL;
-- When each token was last served by a claim (a counter): the next claim starts with the oldest turn.
CREATE TABLE IF NOT EXISTS token_turns (token_id TEXT PRIMARY KEY, turn INTEGER NOT NULL);
`

/**
 * A job's columns in a fixed order. Rows are read as arrays (better-sqlite3's raw mode): building a
 * keyed object per row costs more than the query itself on the status path (measured).
 */
const JOB_COLUMNS = 'id, source_type, config, status, attempts, max_attempts, progress, error, created_at, updated_at, started_at, finished_at, lease_until, cancel_requested, result, token_id'
type JobRow = [string, string, string, JobState, number, number, number, string | null, string, string, string | null, string | null, string | null, number, string | null, string]

const toJob = (row: JobRow): Job => ({
  id: row[0],
  sourceType: row[1],
  config: JSON.parse(row[2]),
  status: row[3],
  attempts: row[4],
  maxAttempts: row[5],
  progress: row[6],
  error: row[7],
  createdAt: row[8],
  updatedAt: row[9],
  startedAt: row[10],
  finishedAt: row[11],
  leaseUntil: row[12],
  cancelRequested: row[13] === 1,
  result: row[14] ? JSON.parse(row[14]) : null,
  tokenId: row[15],
})

type TokenRow = {id: string; name: string; hash: string; created_at: string; revoked_at: string | null; scopes: string}
const toToken = (row: TokenRow): Token => ({id: row.id, name: row.name, hash: row.hash, scopes: row.scopes.split(' ').filter(Boolean) as Scope[], createdAt: row.created_at, revokedAt: row.revoked_at})

/** Owner-only files: jobs and results are collected data. */
function createPrivately(file: string): void {
  mkdirSync(path.dirname(file), {recursive: true, mode: 0o700})
  closeSync(openSync(file, 'a', 0o600))
  for (const existing of [file, `${file}-wal`, `${file}-shm`]) if (existsSync(existing)) chmodSync(existing, 0o600)
}

const iso = (date = new Date()) => date.toISOString()

/** How many recently read jobs the owning store keeps (about 1 KB each). */
const RECENT_JOBS = 10_000

/**
 * The owner lock is a kernel lock, held for the owning process's life: SQLite's own POSIX advisory
 * lock (fcntl F_SETLK; https://www.sqlite.org/lockingv3.html) on a small lock database, taken with
 * BEGIN EXCLUSIVE on a connection in locking_mode=EXCLUSIVE, which "never releases file-locks"
 * until it closes (https://www.sqlite.org/pragma.html#pragma_locking_mode). The kernel drops the
 * lock when the process ends, however it ends (SIGKILL, OOM kill, node crash), and it is checked
 * on the file's inode, so it holds between processes that share no pid namespace: two containers
 * on one host sharing a data volume are both pid 1, and the second is still refused; a container
 * restarted as pid 1 finds no lock left and starts. On a network file system it is only as good as
 * the server's lock support (NFSv4 and EFS honour fcntl locks; NFSv3 without lockd, or a volume
 * mounted with `nolock`, does not), so a data folder on one must not be shared by two pods.
 * POSIX locks belong to the process, and closing any descriptor of the file drops them all: nothing
 * in this process may open the lock database but SQLite (which keeps its descriptors open for
 * this reason), so the holder's details live in the separate `.owner` file, for the message only.
 */
export const ownerLockFile = (file: string) => `${file}.lock`
const ownerInfoFile = (file: string) => `${file}.owner`

interface OwnerLock {
  /** The connection whose lock is the ownership: closing it lets the next owner in. */
  db: Database.Database
  info: string
}

/** Who holds the database, as the holder wrote it after taking the lock (absent while it starts). */
function describeHolder(file: string): string {
  try {
    const owner = JSON.parse(readFileSync(ownerInfoFile(file), 'utf8'))
    if (Number.isInteger(owner.pid)) return `the infra service with pid ${owner.pid}${owner.host ? ` on ${owner.host}` : ''}${owner.startedAt ? ` (started ${owner.startedAt})` : ''}`
  } catch {}
  return 'another infra service'
}

/**
 * Takes the database file for this process: a service keeps jobs it read in memory, which is only
 * right while no other process writes them. Refused (DATABASE_IN_USE) while another process, or
 * another owning store of this one, holds the lock; a dead holder's lock is gone with it.
 */
function takeOwnership(file: string): OwnerLock {
  const lockFile = ownerLockFile(file)
  // timeout 0: refused at once rather than after busy_timeout's wait (a live owner does not let go).
  const db = new Database(lockFile, {timeout: 0})
  try {
    db.pragma('locking_mode = EXCLUSIVE')
    // No rollback journal beside it: the lock database holds no data.
    db.pragma('journal_mode = MEMORY')
    db.exec('BEGIN EXCLUSIVE; COMMIT')
  } catch (error) {
    db.close()
    if ((error as {code?: string}).code !== 'SQLITE_BUSY') throw error
    throw new InfraError(
      `${file} is in use by ${describeHolder(file)}`,
      'stop it, or start this one with another --data-dir (the lock is the kernel\'s: it goes when that process ends)',
      'DATABASE_IN_USE',
    )
  }
  // chmod, not open: opening and closing the file here would drop the lock just taken.
  chmodSync(lockFile, 0o600)
  const info = ownerInfoFile(file)
  writeFileSync(info, JSON.stringify({pid: process.pid, host: hostname(), startedAt: iso()}), {mode: 0o600})
  chmodSync(info, 0o600)
  return {db, info}
}

/** The row just inserted, without reading it back. */
const newJob = (job: NewJob, now: string): Job => ({
  id: job.id,
  sourceType: job.sourceType,
  config: job.config,
  status: 'queued',
  attempts: 0,
  maxAttempts: job.maxAttempts,
  progress: 0,
  error: null,
  createdAt: now,
  updatedAt: now,
  startedAt: null,
  finishedAt: null,
  leaseUntil: null,
  cancelRequested: false,
  result: null,
  tokenId: job.tokenId,
})

/**
 * SQLite in WAL mode: one writer, many readers, every acknowledged write durable. The claim is one
 * UPDATE ... RETURNING, so two workers (or processes) never take the same job.
 */
export class SqliteJobStore implements JobStore {
  private readonly db: Database.Database
  /**
   * Workers' own connection. Accepting a job is committed with a full sync; the state changes
   * that follow (claims, progress, endings) use WAL's NORMAL sync, which survives a process crash
   * (what leases recover from) without an fsync on every step blocking the API.
   */
  private readonly workerDb: Database.Database
  private readonly statements
  /**
   * The group commits, made once: better-sqlite3's transaction() builds four wrapper functions
   * each time it is called, which cost about as much as a small batch's inserts (profiled).
   */
  private readonly commitJobs: Database.Transaction<(batch: {job: NewJob}[], now: string) => ({job: Job; created: boolean} | {refused: QueueFullError})[]>
  private readonly commitWorkerWrites: Database.Transaction<(batch: {write: () => unknown}[]) => unknown[]>
  /** The owner lock, when this store owns its database (the service's store does). */
  private ownerLock?: OwnerLock
  /**
   * Jobs read recently, as last committed: only while this store owns the database, and every
   * write below forgets the jobs it touches (in the same synchronous step as the write), so a
   * polled job costs no database read until it changes.
   */
  private readonly recent?: Map<string, Job>

  /** `owner`: this process is the database's only writer of jobs (one service per data folder). */
  constructor(file: string, options: {owner?: boolean} = {}) {
    if (file !== ':memory:') createPrivately(file)
    if (options.owner) {
      if (file !== ':memory:') this.ownerLock = takeOwnership(file)
      this.recent = new Map()
    }
    // A database that cannot be opened or migrated lets go of the lock it took: a retry, or the
    // next process, is not refused as if this one were still running.
    let opened: Database.Database | undefined
    try {
      this.db = opened = new Database(file)
      this.db.pragma('journal_mode = WAL')
      this.db.pragma('synchronous = FULL')
      this.db.pragma('busy_timeout = 5000')
      // 64 MB of page cache per connection (SQLite's default is 2 MB): the indexes of a busy day's jobs stay in memory.
      this.db.pragma('cache_size = -65536')
      // Databases from before token scopes get the column (its default: the scopes tokens had).
      if (this.db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'tokens'").get() && !(this.db.prepare('PRAGMA table_info(tokens)').all() as {name: string}[]).some((c) => c.name === 'scopes')) {
        this.db.exec("ALTER TABLE tokens ADD COLUMN scopes TEXT NOT NULL DEFAULT 'jobs:write jobs:read'")
      }
      this.db.exec(SCHEMA)
      this.workerDb = file === ':memory:' ? this.db : new Database(file)
      if (this.workerDb !== this.db) {
        this.workerDb.pragma('synchronous = NORMAL')
        this.workerDb.pragma('busy_timeout = 5000')
        this.workerDb.pragma('cache_size = -65536')
      }
    } catch (error) {
      opened?.close()
      this.releaseOwnership()
      throw error
    }
    const db = this.db
    const workerDb = this.workerDb
    this.statements = {
      insert: db.prepare(`INSERT INTO jobs (id, source_type, config, status, max_attempts, created_at, updated_at, run_after, token_id, idempotency_key)
        VALUES (?, ?, ?, 'queued', ?, ?, ?, ?, ?, ?)`),
      byIdempotency: db.prepare(`SELECT ${JOB_COLUMNS} FROM jobs WHERE token_id = ? AND idempotency_key = ?`).raw(),
      get: db.prepare(`SELECT ${JOB_COLUMNS} FROM jobs WHERE id = ?`).raw(),
      // A claim picks the oldest runnable jobs, then takes them, in one write transaction (taken
      // at BEGIN): no other writer comes between. Two statements cost a third less than one
      // UPDATE ... WHERE id IN (SELECT ...) (measured).
      // The tokens with queued jobs, one index probe each (a loose index scan), the one served
      // longest ago first; then each token's oldest runnable jobs.
      owners: workerDb.prepare(`WITH RECURSIVE owners(token_id) AS (
          SELECT MIN(token_id) FROM jobs WHERE status = 'queued'
          UNION ALL
          SELECT (SELECT MIN(token_id) FROM jobs WHERE status = 'queued' AND token_id > owners.token_id) FROM owners WHERE owners.token_id IS NOT NULL)
        SELECT o.token_id FROM owners o LEFT JOIN token_turns t ON t.token_id = o.token_id WHERE o.token_id IS NOT NULL ORDER BY COALESCE(t.turn, 0), o.token_id`).pluck(),
      runnable: workerDb.prepare(`SELECT id FROM jobs WHERE status = 'queued' AND token_id = ? AND run_after <= ? ORDER BY created_at, id LIMIT ?`).pluck(),
      served: workerDb.prepare(`INSERT INTO token_turns (token_id, turn) VALUES (?, (SELECT COALESCE(MAX(turn), 0) + 1 FROM token_turns))
        ON CONFLICT (token_id) DO UPDATE SET turn = excluded.turn`),
      queuedOf: db.prepare(`SELECT COUNT(*) FROM jobs WHERE status = 'queued' AND token_id = ?`).pluck(),
      ended: workerDb.prepare(`SELECT id, result FROM jobs WHERE finished_at < ? AND status IN ('succeeded', 'failed', 'cancelled') ORDER BY finished_at LIMIT ?`),
      purge: workerDb.prepare('DELETE FROM jobs WHERE id = ?'),
      take: workerDb.prepare(`UPDATE jobs SET status = 'running', attempts = attempts + 1, lease_until = ?, started_at = COALESCE(started_at, ?), updated_at = ?
        WHERE id = ? AND status = 'queued' RETURNING ${JOB_COLUMNS}`).raw(),
      // Every write a worker makes is fenced by its attempt (@fence null: a store that did not claim
      // the job, e.g. an operator's): an attempt whose lease was taken over changes nothing.
      extend: workerDb.prepare(`UPDATE jobs SET lease_until = @lease, updated_at = @now WHERE id = @id AND status = 'running' AND (@fence IS NULL OR attempts = @fence)`),
      progress: workerDb.prepare(`UPDATE jobs SET progress = @progress, updated_at = @now WHERE id = @id AND status = 'running' AND (@fence IS NULL OR attempts = @fence)`),
      succeed: workerDb.prepare(`UPDATE jobs SET status = 'succeeded', progress = 1, result = @result, error = NULL, finished_at = @now, updated_at = @now, lease_until = NULL
        WHERE id = @id AND status = 'running' AND (@fence IS NULL OR attempts = @fence)`),
      failFinal: workerDb.prepare(`UPDATE jobs SET status = 'failed', error = ?, finished_at = ?, updated_at = ?, lease_until = NULL WHERE id = ?`),
      // One statement decides and writes: requeue while attempts remain, else fail for good.
      fail: workerDb.prepare(`UPDATE jobs SET
          status = CASE WHEN @permanent = 1 OR attempts >= max_attempts OR cancel_requested = 1 THEN 'failed' ELSE 'queued' END,
          finished_at = CASE WHEN @permanent = 1 OR attempts >= max_attempts OR cancel_requested = 1 THEN @now ELSE finished_at END,
          run_after = CASE WHEN @permanent = 1 OR attempts >= max_attempts OR cancel_requested = 1 THEN run_after ELSE @runAfter END,
          error = @error, updated_at = @now, lease_until = NULL
        WHERE id = @id AND status = 'running' AND (@fence IS NULL OR attempts = @fence) RETURNING status`),
      status: workerDb.prepare('SELECT status FROM jobs WHERE id = ?').pluck(),
      cancelQueued: db.prepare(`UPDATE jobs SET status = 'cancelled', finished_at = ?, updated_at = ?, cancel_requested = 1 WHERE id = ? AND status = 'queued'`),
      flagCancel: db.prepare(`UPDATE jobs SET cancel_requested = 1, updated_at = ? WHERE id = ? AND status = 'running'`),
      markCancelled: workerDb.prepare(`UPDATE jobs SET status = 'cancelled', finished_at = @now, updated_at = @now, lease_until = NULL WHERE id = @id AND status = 'running' AND (@fence IS NULL OR attempts = @fence)`),
      expired: workerDb.prepare(`SELECT id, attempts, max_attempts FROM jobs WHERE status = 'running' AND lease_until < ?`),
      requeue: workerDb.prepare(`UPDATE jobs SET status = 'queued', lease_until = NULL, updated_at = ? WHERE id = ? AND status = 'running'`),
      requeueHeld: workerDb.prepare(`UPDATE jobs SET status = 'queued', lease_until = NULL, updated_at = @now WHERE id = @id AND status = 'running' AND (@fence IS NULL OR attempts = @fence)`),
      counts: db.prepare('SELECT status, COUNT(*) AS n FROM jobs GROUP BY status'),
      ping: db.prepare('SELECT 1'),
      addToken: db.prepare('INSERT INTO tokens (id, name, hash, created_at, scopes) VALUES (@id, @name, @hash, @createdAt, @scopes)'),
      tokenByHash: db.prepare('SELECT * FROM tokens WHERE hash = ?'),
      revoke: db.prepare('UPDATE tokens SET revoked_at = ? WHERE (id = ? OR name = ?) AND revoked_at IS NULL'),
      tokens: db.prepare('SELECT * FROM tokens ORDER BY created_at'),
    }
    this.commitJobs = db.transaction((batch: {job: NewJob}[], now: string) =>
      batch.map(({job}) => {
        if (job.idempotencyKey) {
          const existing = this.statements.byIdempotency.get(job.tokenId, job.idempotencyKey) as JobRow | undefined
          if (existing) return {job: toJob(existing), created: false}
        }
        // Counted inside the write transaction, which flush() opens with BEGIN IMMEDIATE: it holds
        // the database's one write lock before it counts, so no other connection or process can
        // insert between the count and the insert (and in WAL mode it reads the latest commit).
        // Exact, even for a batch of one token's jobs. https://www.sqlite.org/lang_transaction.html
        if (job.maxQueuedPerToken !== undefined && (this.statements.queuedOf.get(job.tokenId) as number) >= job.maxQueuedPerToken) {
          return {refused: new QueueFullError(job.tokenId, job.maxQueuedPerToken)}
        }
        this.statements.insert.run(job.id, job.sourceType, JSON.stringify(job.config), job.maxAttempts, now, now, now, job.tokenId, job.idempotencyKey ?? null)
        return {job: newJob(job, now), created: true}
      }),
    )
    this.commitWorkerWrites = workerDb.transaction((batch: {write: () => unknown}[]) => batch.map(({write}) => write()))
  }

  private pending: {job: NewJob; resolve: (value: {job: Job; created: boolean}) => void; reject: (error: unknown) => void}[] = []

  create(job: NewJob): Promise<{job: Job; created: boolean}> {
    return new Promise((resolve, reject) => {
      this.pending.push({job, resolve, reject})
      // Everything that arrives in this turn of the event loop is committed together: one fsync.
      if (this.pending.length === 1) setImmediate(() => this.flush())
    })
  }

  private flush(): void {
    const batch = this.pending
    if (batch.length === 0) return
    this.pending = []
    try {
      const results = this.commitJobs.immediate(batch, iso())
      batch.forEach((entry, index) => {
        const result = results[index]
        if ('refused' in result) entry.reject(result.refused)
        else entry.resolve(result)
      })
    } catch (error) {
      for (const entry of batch) entry.reject(error)
    }
  }

  /** The job as last committed. Callers must not modify it: the owning store may hand it out again. */
  async get(id: string): Promise<Job | undefined> {
    const known = this.recent?.get(id)
    if (known) return known
    const row = this.statements.get.get(id) as JobRow | undefined
    if (!row) return undefined
    const job = toJob(row)
    if (this.recent) {
      if (this.recent.size >= RECENT_JOBS) this.recent.delete(this.recent.keys().next().value!)
      this.recent.set(id, job)
    }
    return job
  }

  /** Called by every write of a job's row, in the same synchronous step. */
  private forget(id: string): void {
    this.recent?.delete(id)
  }

  async list(query: ListQuery): Promise<{jobs: Job[]; nextCursor: string | null}> {
    const where: string[] = []
    const params: unknown[] = []
    if (query.status) where.push('status = ?'), params.push(query.status)
    if (query.sourceType) where.push('source_type = ?'), params.push(query.sourceType)
    if (query.tokenId) where.push('token_id = ?'), params.push(query.tokenId)
    if (query.createdAfter) where.push('created_at >= ?'), params.push(query.createdAfter)
    if (query.createdBefore) where.push('created_at < ?'), params.push(query.createdBefore)
    if (query.cursor) {
      const [createdAt, id] = JSON.parse(Buffer.from(query.cursor, 'base64url').toString())
      where.push('(created_at < ? OR (created_at = ? AND id < ?))')
      params.push(createdAt, createdAt, id)
    }
    // Only fixed column names and placeholders reach the SQL; values are bound.
    const sql = `SELECT ${JOB_COLUMNS} FROM jobs ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC, id DESC LIMIT ?`
    const rows = this.db.prepare(sql).raw().all(...params, query.limit + 1) as JobRow[]
    const page = rows.slice(0, query.limit).map(toJob)
    const last = page.at(-1)
    const nextCursor = rows.length > query.limit && last ? Buffer.from(JSON.stringify([last.createdAt, last.id])).toString('base64url') : null
    return {jobs: page, nextCursor}
  }

  /**
   * The workers' writes (claims, endings, progress, leases) that arrive in one turn of the event
   * loop are committed together, like accepted jobs: a tick's claim and the jobs that just ended
   * cost one commit, not one each.
   */
  private workerWrites: {write: () => unknown; resolve: (value: any) => void; reject: (error: unknown) => void}[] = []

  private workerWrite<T>(write: () => T): Promise<T> {
    return new Promise((resolve, reject) => {
      this.workerWrites.push({write, resolve, reject})
      if (this.workerWrites.length === 1) setImmediate(() => this.flushWorkerWrites())
    })
  }

  private flushWorkerWrites(): void {
    const batch = this.workerWrites
    if (batch.length === 0) return
    this.workerWrites = []
    try {
      const results = this.commitWorkerWrites.immediate(batch)
      batch.forEach((entry, index) => entry.resolve(results[index]))
    } catch (error) {
      for (const entry of batch) entry.reject(error)
    }
  }

  /**
   * Attempt numbers of the jobs this store claimed and still holds: the fence on their writes, as in
   * PostgreSQL (a job whose lease ran out may be claimed again, here or by another process).
   */
  private readonly held = new Map<string, number>()

  private fence(id: string): number | null {
    return this.held.get(id) ?? null
  }

  /** The job is no longer ours once a fenced write ended it; a write that matched nothing keeps the fence. */
  private release(id: string, changes: number): void {
    if (changes) this.held.delete(id)
  }

  claim(leaseMs: number, limit = 1, now = new Date()): Promise<Job[]> {
    const at = iso(now)
    const lease = iso(new Date(now.getTime() + leaseMs))
    return this.workerWrite(() => {
      // At most `limit` tokens can be served this round: stop looking once that many have jobs.
      const perToken: {tokenId: string; ids: string[]}[] = []
      for (const tokenId of this.statements.owners.all() as string[]) {
        const ids = this.statements.runnable.all(tokenId, at, limit) as string[]
        if (ids.length) perToken.push({tokenId, ids})
        if (perToken.length >= limit) break
      }
      const picked = interleave(perToken.map((entry) => entry.ids), limit)
      for (const {tokenId, ids} of perToken) if (picked.includes(ids[0])) this.statements.served.run(tokenId)
      const jobs = picked.flatMap((id) => {
        this.forget(id)
        const row = this.statements.take.get(lease, at, at, id) as JobRow | undefined
        return row ? [toJob(row)] : []
      })
      for (const job of jobs) this.held.set(job.id, job.attempts)
      return jobs
    })
  }

  extendLease(id: string, leaseMs: number): Promise<void> {
    return this.workerWrite(() => {
      this.forget(id)
      this.statements.extend.run({id, lease: iso(new Date(Date.now() + leaseMs)), now: iso(), fence: this.fence(id)})
    })
  }

  progress(id: string, progress: number): Promise<void> {
    return this.workerWrite(() => {
      this.forget(id)
      this.statements.progress.run({id, progress: Math.max(0, Math.min(1, progress)), now: iso(), fence: this.fence(id)})
    })
  }

  succeed(id: string, result: JobResultMeta): Promise<boolean> {
    const now = iso()
    return this.workerWrite(() => {
      this.forget(id)
      const {changes} = this.statements.succeed.run({id, result: JSON.stringify(result), now, fence: this.fence(id)})
      this.release(id, changes)
      return changes > 0
    })
  }

  fail(id: string, error: string, backoffMs: number, permanent = false): Promise<JobState> {
    const now = new Date()
    return this.workerWrite(() => {
      this.forget(id)
      const values = {id, error, permanent: permanent ? 1 : 0, now: iso(now), runAfter: iso(new Date(now.getTime() + backoffMs)), fence: this.fence(id)}
      const row = this.statements.fail.get(values) as {status: JobState} | undefined
      this.release(id, row ? 1 : 0)
      // No row: the job is no longer this attempt's (taken over, or it ended meanwhile); say how it stands.
      return row?.status ?? ((this.statements.status.get(id) as JobState | undefined) ?? 'failed')
    })
  }

  async cancel(id: string): Promise<Job | undefined> {
    const now = iso()
    this.forget(id)
    if (this.statements.cancelQueued.run(now, now, id).changes === 0) this.statements.flagCancel.run(now, id)
    return this.get(id)
  }

  markCancelled(id: string): Promise<void> {
    const now = iso()
    return this.workerWrite(() => {
      this.forget(id)
      this.release(id, this.statements.markCancelled.run({id, now, fence: this.fence(id)}).changes)
    })
  }

  recoverExpired(now = new Date()): Promise<number> {
    return this.workerWrite(() => {
      const expired = this.statements.expired.all(iso(now)) as {id: string; attempts: number; max_attempts: number}[]
      for (const job of expired) {
        this.forget(job.id)
        if (job.attempts >= job.max_attempts) this.statements.failFinal.run('worker lost while running and no attempts remain', iso(now), iso(now), job.id)
        else this.statements.requeue.run(iso(now), job.id)
      }
      return expired.length
    })
  }

  requeue(ids: string[]): Promise<void> {
    const now = iso()
    return this.workerWrite(() =>
      ids.forEach((id) => {
        this.forget(id)
        const fence = this.fence(id)
        this.held.delete(id)
        this.statements.requeueHeld.run({id, now, fence})
      }),
    )
  }

  purgeFinished(before: Date, limit: number): Promise<PurgedJob[]> {
    return this.workerWrite(() =>
      (this.statements.ended.all(iso(before), limit) as {id: string; result: string | null}[]).map(({id, result}) => {
        this.forget(id)
        this.statements.purge.run(id)
        return {id, resultPath: result ? (JSON.parse(result) as JobResultMeta).path : null}
      }),
    )
  }

  async countsByState(): Promise<Record<JobState, number>> {
    const counts = Object.fromEntries(JOB_STATES.map((state) => [state, 0])) as Record<JobState, number>
    for (const row of this.statements.counts.all() as {status: JobState; n: number}[]) counts[row.status] = row.n
    return counts
  }

  async ping(): Promise<void> {
    this.statements.ping.get()
  }

  async addToken(token: Token): Promise<void> {
    this.statements.addToken.run({id: token.id, name: token.name, hash: token.hash, createdAt: token.createdAt, scopes: token.scopes.join(' ')})
  }

  async tokenByHash(hash: string): Promise<Token | undefined> {
    const row = this.statements.tokenByHash.get(hash) as TokenRow | undefined
    return row ? toToken(row) : undefined
  }

  async revokeToken(idOrName: string): Promise<boolean> {
    return this.statements.revoke.run(iso(), idOrName, idOrName).changes > 0
  }

  async listTokens(): Promise<Token[]> {
    return (this.statements.tokens.all() as TokenRow[]).map(toToken)
  }

  async close(): Promise<void> {
    // What is waiting for its group commit is committed now, not after the files are closed.
    this.flush()
    this.flushWorkerWrites()
    if (this.workerDb !== this.db) this.workerDb.close()
    this.db.close()
    this.releaseOwnership()
  }

  private releaseOwnership(): void {
    if (!this.ownerLock) return
    // The details first, then the lock: the next owner's details are never deleted. The lock
    // file itself stays (deleting it would let a process that opened it lock a file no one sees).
    rmSync(this.ownerLock.info, {force: true})
    this.ownerLock.db.close()
    this.ownerLock = undefined
  }
}
