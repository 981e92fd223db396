import {readFileSync} from 'node:fs'

import pg from 'pg'

import {InfraError} from '../../errors.js'

import {type Job, type JobResultMeta, type JobState, type JobStore, JOB_STATES, type ListQuery, type NewJob, type PurgedJob, QueueFullError, type Scope, type Token} from './job-store.js'
import {MIGRATION_LOCK_KEY, MIGRATIONS} from './postgres-migrations.js'

const JOB_COLUMNS = 'id, source_type, config, status, attempts, max_attempts, progress, error, created_at, updated_at, started_at, finished_at, lease_until, cancel_requested, result, token_id'

interface JobRow {
  id: string
  source_type: string
  config: string
  status: JobState
  attempts: number
  max_attempts: number
  progress: number
  error: string | null
  created_at: Date
  updated_at: Date
  started_at: Date | null
  finished_at: Date | null
  lease_until: Date | null
  cancel_requested: boolean
  result: string | null
  token_id: string
}

const isoOrNull = (date: Date | null) => (date ? date.toISOString() : null)

const toJob = (row: JobRow): Job => ({
  id: row.id,
  sourceType: row.source_type,
  config: JSON.parse(row.config),
  status: row.status,
  attempts: row.attempts,
  maxAttempts: row.max_attempts,
  progress: row.progress,
  error: row.error,
  createdAt: row.created_at.toISOString(),
  updatedAt: row.updated_at.toISOString(),
  startedAt: isoOrNull(row.started_at),
  finishedAt: isoOrNull(row.finished_at),
  leaseUntil: isoOrNull(row.lease_until),
  cancelRequested: row.cancel_requested,
  result: row.result ? JSON.parse(row.result) : null,
  tokenId: row.token_id,
})

type TokenRow = {id: string; name: string; hash: string; created_at: Date; revoked_at: Date | null; scopes: string}
const toToken = (row: TokenRow): Token => ({id: row.id, name: row.name, hash: row.hash, scopes: row.scopes.split(' ').filter(Boolean) as Scope[], createdAt: row.created_at.toISOString(), revokedAt: isoOrNull(row.revoked_at)})

/**
 * The database's clock, in milliseconds (timestamps are kept at the precision JavaScript shows, so a
 * list cursor made from a job's createdAt finds the row again). `$n` may carry a caller's time
 * (tests); null means now() on the server, never this process's clock.
 */
const clock = (param: string) => `date_trunc('milliseconds', COALESCE(${param}::timestamptz, now()))`

/** The first key of the advisory locks that make each token's queue quota exact (see insertJobs). */
const QUOTA_LOCK_CLASS = 0x71756f74

/** A batch of new jobs; $7 is each job's token quota of queued jobs (null: none). */
const INSERT_JOBS = `INSERT INTO jobs (id, source_type, config, status, max_attempts, token_id, idempotency_key, created_at, updated_at, run_after)
  SELECT u.id, u.source_type, u.config, 'queued', u.max_attempts, u.token_id, u.key, n.t, n.t, n.t
  FROM (SELECT b.*, row_number() OVER (PARTITION BY b.token_id ORDER BY b.ord) AS nth
        FROM unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::text[], $6::text[], $7::int[]) WITH ORDINALITY AS b(id, source_type, config, max_attempts, token_id, key, quota, ord)) u,
       (SELECT ${clock('NULL')} AS t) n
  WHERE u.quota IS NULL OR (SELECT count(*) FROM jobs q WHERE q.status = 'queued' AND q.token_id = u.token_id) + u.nth <= u.quota
  ORDER BY u.ord
  ON CONFLICT (token_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
  RETURNING ${JOB_COLUMNS}`

/**
 * A fair claim in one statement (one round trip, one snapshot): $1 lease in ms, $2 how many jobs,
 * $3 a caller's time or null. The tokens with queued jobs are found with one index probe each (a
 * loose index scan), the token served longest ago first; each one's oldest runnable jobs are
 * locked (replicas claiming at once skip each other's rows); jobs are picked round-robin between
 * the tokens, oldest first within one (as interleave() does); the picked jobs are taken, and each
 * token whose turn came gets a later turn, in the order served. The result is in the order picked.
 */
const CLAIM_JOBS = `WITH RECURSIVE owners(token_id) AS (
    SELECT min(token_id) FROM jobs WHERE status = 'queued'
    UNION ALL
    SELECT (SELECT min(token_id) FROM jobs WHERE status = 'queued' AND token_id > owners.token_id) FROM owners WHERE owners.token_id IS NOT NULL),
  turns AS (
    SELECT o.token_id, row_number() OVER (ORDER BY COALESCE(t.turn, 0), o.token_id) AS ord
    FROM owners o LEFT JOIN token_turns t ON t.token_id = o.token_id WHERE o.token_id IS NOT NULL),
  candidates AS (
    SELECT j.id AS job_id, o.token_id AS owner, o.ord, row_number() OVER (PARTITION BY o.ord ORDER BY j.created_at, j.id) AS round
    FROM turns o CROSS JOIN LATERAL (SELECT id, created_at FROM jobs WHERE status = 'queued' AND token_id = o.token_id AND run_after <= ${clock('$3')}
                                     ORDER BY created_at, id LIMIT $2 FOR UPDATE SKIP LOCKED) j),
  picked AS (
    SELECT job_id, owner, ord, round, row_number() OVER (ORDER BY round, ord) AS pos FROM candidates ORDER BY round, ord LIMIT $2),
  taken AS (
    UPDATE jobs SET status = 'running', attempts = attempts + 1, lease_until = ${clock('$3')} + $1 * interval '1 millisecond',
        started_at = COALESCE(started_at, ${clock('$3')}), updated_at = ${clock('$3')}
    FROM picked WHERE jobs.id = picked.job_id AND jobs.status = 'queued'
    RETURNING ${JOB_COLUMNS}, picked.pos),
  base AS (SELECT nextval('token_turn_seq') * 100000 AS base WHERE EXISTS (SELECT 1 FROM picked WHERE round = 1)),
  served AS (
    INSERT INTO token_turns (token_id, turn)
    SELECT p.owner, base.base + row_number() OVER (ORDER BY p.ord) FROM picked p, base WHERE p.round = 1
    ON CONFLICT (token_id) DO UPDATE SET turn = EXCLUDED.turn)
  SELECT ${JOB_COLUMNS} FROM taken ORDER BY pos`

/** Settings from a postgres:// URL: TLS against a CA bundle, or an IAM token per new connection. */
export function poolConfig(databaseUrl: string, env = process.env): pg.PoolConfig {
  let url: URL
  try {
    url = new URL(databaseUrl)
  } catch {
    throw new InfraError('--database-url is not a URL', 'write postgres://USER@HOST:5432/DB?sslmode=verify-full&sslrootcert=/path/global-bundle.pem', 'BAD_DATABASE_URL', 2)
  }
  const params = url.searchParams
  const iam = params.get('iam') === 'true'
  // libpq's default (prefer) falls back to cleartext and checks no certificate: a URL must say
  // what it wants. sslrootcert or iam alone mean verify-full (below).
  if (!params.has('sslmode') && !params.has('sslrootcert') && !iam) {
    throw new InfraError(
      '--database-url names no sslmode: the connection would be neither verified nor surely encrypted',
      'add ?sslmode=verify-full&sslrootcert=/path/global-bundle.pem (or sslmode=disable for a local test server)',
      'BAD_DATABASE_URL',
      2,
    )
  }
  const sslmode = params.get('sslmode') ?? 'verify-full'
  const user = decodeURIComponent(url.username)
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname
  const port = url.port ? Number(url.port) : 5432
  const database = decodeURIComponent(url.pathname.slice(1)) || user
  if (!host) throw new InfraError(`--database-url ${url.protocol}//...: no host`, 'write postgres://USER@HOST:5432/DB', 'BAD_DATABASE_URL', 2)
  if (!user) throw new InfraError('--database-url: no user', 'write postgres://USER@HOST:5432/DB', 'BAD_DATABASE_URL', 2)
  let ssl: pg.PoolConfig['ssl']
  const rootCert = params.get('sslrootcert')
  if (['verify-full', 'verify-ca'].includes(sslmode) || rootCert || iam) {
    if (!rootCert) {
      throw new InfraError(
        `--database-url: sslmode=${sslmode}${iam ? ' with iam=true' : ''} needs the CA bundle that signed the server's certificate`,
        'add &sslrootcert=/path/global-bundle.pem (RDS: https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem)',
        'BAD_DATABASE_URL',
        2,
      )
    }
    let ca: string
    try {
      ca = readFileSync(rootCert, 'utf8')
    } catch (error) {
      throw new InfraError(`--database-url: cannot read sslrootcert ${rootCert}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, 'download the RDS CA bundle there, or name the file that holds it', 'BAD_DATABASE_URL', 2)
    }
    // verify-full checks the name as well as the chain (Node's default); verify-ca the chain only.
    ssl = {ca, rejectUnauthorized: true, ...(sslmode === 'verify-ca' ? {checkServerIdentity: () => undefined} : {})}
  } else if (sslmode === 'require') {
    throw new InfraError('--database-url: sslmode=require encrypts without checking who answers', 'use sslmode=verify-full&sslrootcert=/path/global-bundle.pem', 'BAD_DATABASE_URL', 2)
  } else if (sslmode === 'prefer' || sslmode === 'allow') {
    throw new InfraError(`--database-url: sslmode=${sslmode} falls back to cleartext and checks no certificate`, 'use sslmode=verify-full&sslrootcert=/path/global-bundle.pem (or sslmode=disable for a local test server)', 'BAD_DATABASE_URL', 2)
  } else if (sslmode !== 'disable') {
    throw new InfraError(`--database-url: unknown sslmode ${sslmode}`, 'use sslmode=verify-full (or disable for a local test server)', 'BAD_DATABASE_URL', 2)
  }
  let password: pg.PoolConfig['password'] = url.password ? decodeURIComponent(url.password) : env.PGPASSWORD
  if (iam) {
    const region = params.get('region') ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION
    if (!region) throw new InfraError('--database-url: iam=true needs the region of the database', 'add &region=eu-west-1 or set AWS_REGION', 'BAD_DATABASE_URL', 2)
    // An authentication token lives 15 minutes: each new connection signs a fresh one.
    password = async () => {
      const {Signer} = await import('@aws-sdk/rds-signer')
      return new Signer({hostname: host, port, username: user, region}).getAuthToken()
    }
  }
  return {host, port, user, database, password, ssl, max: Number(params.get('pool') ?? 10), connectionTimeoutMillis: 10_000, application_name: 'infra-service'}
}

/** Applies the migrations not yet recorded, holding the advisory lock so replicas take turns. */
export async function migrate(pool: pg.Pool): Promise<number[]> {
  const client = await pool.connect()
  const applied: number[] = []
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY.toString()])
    try {
      await client.query('CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())')
      const done = new Set((await client.query<{version: number}>('SELECT version FROM schema_migrations')).rows.map((row) => row.version))
      for (const migration of MIGRATIONS) {
        if (done.has(migration.version)) continue
        await client.query('BEGIN')
        try {
          await client.query(migration.sql)
          await client.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [migration.version, migration.name])
          await client.query('COMMIT')
        } catch (error) {
          await client.query('ROLLBACK')
          throw error
        }
        applied.push(migration.version)
      }
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY.toString()])
    }
  } finally {
    client.release()
  }
  return applied
}

/**
 * PostgreSQL, for several replicas on one database. Claims take jobs with FOR UPDATE SKIP LOCKED;
 * leases and backoff are reckoned on the database's clock, so replicas' clocks may differ. Each
 * claim is fenced by its attempt number: a replica whose lease was taken over can no longer change
 * the job (its heartbeat, progress and ending match no row).
 */
export class PostgresJobStore implements JobStore {
  /** Attempt numbers of the jobs this store claimed and still holds: the fence on their writes. */
  private readonly held = new Map<string, number>()

  private constructor(readonly pool: pg.Pool) {}

  static async open(databaseUrl: string): Promise<PostgresJobStore> {
    const pool = new pg.Pool(poolConfig(databaseUrl))
    // An idle connection that breaks is dropped by the pool; without a listener it would crash us.
    pool.on('error', () => {})
    try {
      await migrate(pool)
    } catch (error) {
      await pool.end()
      const message = (error as Error).message
      throw new InfraError(`cannot open the job database ${redact(databaseUrl)}: ${message}`, 'check the host, port, user, password or IAM token, and the CA bundle (sslrootcert) in --database-url', 'DATABASE_UNAVAILABLE')
    }
    return new PostgresJobStore(pool)
  }

  private query<R extends pg.QueryResultRow>(name: string, text: string, values: unknown[]): Promise<pg.QueryResult<R>> {
    return this.pool.query<R>({name, text, values})
  }

  private pending: {job: NewJob; resolve: (value: {job: Job; created: boolean}) => void; reject: (error: unknown) => void}[] = []

  create(job: NewJob): Promise<{job: Job; created: boolean}> {
    return new Promise((resolve, reject) => {
      this.pending.push({job, resolve, reject})
      // Everything that arrives in this turn of the event loop goes in one INSERT: one commit.
      if (this.pending.length === 1) setImmediate(() => void this.flush())
    })
  }

  private async flush(): Promise<void> {
    const batch = this.pending
    if (batch.length === 0) return
    this.pending = []
    try {
      const jobs = batch.map((entry) => entry.job)
      const inserted = await this.insertJobs(jobs)
      const byId = new Map(inserted.rows.map((row) => [row.id, toJob(row)]))
      for (const entry of batch) {
        const job = byId.get(entry.job.id)
        if (job) {
          entry.resolve({job, created: true})
          continue
        }
        const existing = entry.job.idempotencyKey ? await this.query<JobRow>('jobs-by-key', `SELECT ${JOB_COLUMNS} FROM jobs WHERE token_id = $1 AND idempotency_key = $2`, [entry.job.tokenId, entry.job.idempotencyKey]) : {rows: []}
        if (existing.rows[0]) entry.resolve({job: toJob(existing.rows[0]), created: false})
        else if (entry.job.maxQueuedPerToken !== undefined) entry.reject(new QueueFullError(entry.job.tokenId, entry.job.maxQueuedPerToken))
        else entry.reject(new Error(`job ${entry.job.id} was neither inserted nor found by its idempotency key`))
      }
    } catch (error) {
      for (const entry of batch) entry.reject(error)
    }
  }

  /**
   * One batch's INSERT, committed (synchronous_commit) before it answers. A key already used by the
   * same token (here or on another replica, even one committing now) inserts nothing. Jobs past
   * their token's quota of queued jobs (counting those ahead of them in the batch) are left out.
   */
  private async insertJobs(jobs: NewJob[]): Promise<pg.QueryResult<JobRow>> {
    const values = [jobs.map((j) => j.id), jobs.map((j) => j.sourceType), jobs.map((j) => JSON.stringify(j.config)), jobs.map((j) => j.maxAttempts), jobs.map((j) => j.tokenId), jobs.map((j) => j.idempotencyKey ?? null), jobs.map((j) => j.maxQueuedPerToken ?? null)]
    const tokens = [...new Set(jobs.filter((j) => j.maxQueuedPerToken !== undefined).map((j) => j.tokenId))].sort()
    if (tokens.length === 0) return this.query<JobRow>('jobs-insert', INSERT_JOBS, values)
    // Count then insert is exact only if no one else inserts for the token in between: under READ
    // COMMITTED two replicas' statements each count without the other's uncommitted rows and both
    // pass the quota. So each token's enqueues take turns on a transaction-scoped advisory lock,
    // and the INSERT runs as the next statement: its snapshot (taken when it starts, after the lock
    // is held) sees every job the previous holder committed. Locks are taken in one order (their
    // keys sorted, in one statement that orders them: tokens whose hashes collide share a key), so
    // two batches never wait on each other in a cycle. The two-key form keeps these
    // locks apart from the migration lock's bigint key ("these two key spaces do not overlap"):
    // https://www.postgresql.org/docs/15/functions-admin.html#FUNCTIONS-ADVISORY-LOCKS and
    // https://www.postgresql.org/docs/15/transaction-iso.html#XACT-READ-COMMITTED
    const client = await this.pool.connect()
    try {
      await client.query('BEGIN')
      await client.query({name: 'jobs-quota-lock', text: 'SELECT pg_advisory_xact_lock($1::int, k) FROM (SELECT DISTINCT hashtext(t) AS k FROM unnest($2::text[]) AS t ORDER BY k) AS keys', values: [QUOTA_LOCK_CLASS, tokens]})
      const inserted = await client.query<JobRow>({name: 'jobs-insert', text: INSERT_JOBS, values})
      await client.query('COMMIT')
      return inserted
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {})
      throw error
    } finally {
      client.release()
    }
  }

  async get(id: string): Promise<Job | undefined> {
    const {rows} = await this.query<JobRow>('jobs-get', `SELECT ${JOB_COLUMNS} FROM jobs WHERE id = $1`, [id])
    return rows[0] ? toJob(rows[0]) : undefined
  }

  async list(query: ListQuery): Promise<{jobs: Job[]; nextCursor: string | null}> {
    const where: string[] = []
    const params: unknown[] = []
    const bind = (value: unknown) => {
      params.push(value)
      return `$${params.length}`
    }
    if (query.status) where.push(`status = ${bind(query.status)}`)
    if (query.sourceType) where.push(`source_type = ${bind(query.sourceType)}`)
    if (query.tokenId) where.push(`token_id = ${bind(query.tokenId)}`)
    if (query.createdAfter) where.push(`created_at >= ${bind(query.createdAfter)}::timestamptz`)
    if (query.createdBefore) where.push(`created_at < ${bind(query.createdBefore)}::timestamptz`)
    if (query.cursor) {
      const [createdAt, id] = JSON.parse(Buffer.from(query.cursor, 'base64url').toString())
      where.push(`(created_at, id) < (${bind(createdAt)}::timestamptz, ${bind(id)})`)
    }
    // Only fixed column names and placeholders reach the SQL; values are bound.
    const sql = `SELECT ${JOB_COLUMNS} FROM jobs ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC, id DESC LIMIT ${bind(query.limit + 1)}`
    const {rows} = await this.pool.query<JobRow>(sql, params)
    const page = rows.slice(0, query.limit).map(toJob)
    const last = page.at(-1)
    const nextCursor = rows.length > query.limit && last ? Buffer.from(JSON.stringify([last.createdAt, last.id])).toString('base64url') : null
    return {jobs: page, nextCursor}
  }

  async claim(leaseMs: number, limit = 1, now?: Date): Promise<Job[]> {
    const {rows} = await this.query<JobRow>('jobs-claim', CLAIM_JOBS, [leaseMs, limit, now?.toISOString() ?? null])
    const jobs = rows.map(toJob)
    for (const job of jobs) this.held.set(job.id, job.attempts)
    return jobs
  }

  async purgeFinished(before: Date, limit: number): Promise<PurgedJob[]> {
    // Replicas sweeping at once take different rows; results in job_results go with their job (ON DELETE CASCADE).
    const {rows} = await this.query<{id: string; result: string | null}>(
      'jobs-purge',
      `DELETE FROM jobs WHERE id IN (SELECT id FROM jobs WHERE status IN ('succeeded', 'failed', 'cancelled') AND finished_at < $1::timestamptz ORDER BY finished_at LIMIT $2 FOR UPDATE SKIP LOCKED)
       RETURNING id, result`,
      [before.toISOString(), limit],
    )
    return rows.map(({id, result}) => ({id, resultPath: result ? (JSON.parse(result) as JobResultMeta).path : null}))
  }

  private fence(id: string): number | null {
    return this.held.get(id) ?? null
  }

  async extendLease(id: string, leaseMs: number): Promise<void> {
    await this.query('jobs-extend', `UPDATE jobs SET lease_until = ${clock('NULL')} + $2 * interval '1 millisecond', updated_at = ${clock('NULL')} WHERE id = $1 AND status = 'running' AND ($3::int IS NULL OR attempts = $3)`, [id, leaseMs, this.fence(id)])
  }

  async progress(id: string, progress: number): Promise<void> {
    await this.query('jobs-progress', `UPDATE jobs SET progress = $2, updated_at = ${clock('NULL')} WHERE id = $1 AND status = 'running' AND ($3::int IS NULL OR attempts = $3)`, [id, Math.max(0, Math.min(1, progress)), this.fence(id)])
  }

  async succeed(id: string, result: JobResultMeta): Promise<boolean> {
    const fence = this.fence(id)
    const {rowCount} = await this.query(
      'jobs-succeed',
      `UPDATE jobs SET status = 'succeeded', progress = 1, result = $2, error = NULL, finished_at = ${clock('NULL')}, updated_at = ${clock('NULL')}, lease_until = NULL
       WHERE id = $1 AND status = 'running' AND ($3::int IS NULL OR attempts = $3)`,
      [id, JSON.stringify(result), fence],
    )
    this.release(id, rowCount)
    return (rowCount ?? 0) > 0
  }

  /** The job is no longer ours once a fenced write ended it; a write that matched nothing keeps the fence. */
  private release(id: string, rowCount: number | null): void {
    if (rowCount) this.held.delete(id)
  }

  async fail(id: string, error: string, backoffMs: number, permanent = false): Promise<JobState> {
    const fence = this.fence(id)
    const ends = '($3 OR attempts >= max_attempts OR cancel_requested)'
    const {rows} = await this.query<{status: JobState}>(
      'jobs-fail',
      `UPDATE jobs SET
         status = CASE WHEN ${ends} THEN 'failed' ELSE 'queued' END,
         finished_at = CASE WHEN ${ends} THEN ${clock('NULL')} ELSE finished_at END,
         run_after = CASE WHEN ${ends} THEN run_after ELSE ${clock('NULL')} + $4 * interval '1 millisecond' END,
         error = $2, updated_at = ${clock('NULL')}, lease_until = NULL
       WHERE id = $1 AND status = 'running' AND ($5::int IS NULL OR attempts = $5)
       RETURNING status`,
      [id, error, permanent, backoffMs, fence],
    )
    this.release(id, rows.length)
    // No row: the job is no longer ours (its lease was taken over, or it ended meanwhile).
    return rows[0]?.status ?? (await this.get(id))?.status ?? 'failed'
  }

  async cancel(id: string): Promise<Job | undefined> {
    // One statement either ends a queued job or flags a running one; the row lock orders it
    // against a claim on another replica (a job claimed a moment ago is flagged, not ended).
    const {rows} = await this.query<JobRow>(
      'jobs-cancel',
      `UPDATE jobs SET
         status = CASE WHEN status = 'queued' THEN 'cancelled' ELSE status END,
         finished_at = CASE WHEN status = 'queued' THEN ${clock('NULL')} ELSE finished_at END,
         cancel_requested = true, updated_at = ${clock('NULL')}
       WHERE id = $1 AND status IN ('queued', 'running')
       RETURNING ${JOB_COLUMNS}`,
      [id],
    )
    return rows[0] ? toJob(rows[0]) : this.get(id)
  }

  async markCancelled(id: string): Promise<void> {
    const fence = this.fence(id)
    const {rowCount} = await this.query('jobs-cancelled', `UPDATE jobs SET status = 'cancelled', finished_at = ${clock('NULL')}, updated_at = ${clock('NULL')}, lease_until = NULL WHERE id = $1 AND status = 'running' AND ($2::int IS NULL OR attempts = $2)`, [id, fence])
    this.release(id, rowCount)
  }

  async recoverExpired(now?: Date): Promise<number> {
    // Several replicas may look at once: each expired row is taken by one of them (SKIP LOCKED).
    const {rowCount} = await this.query(
      'jobs-recover',
      `UPDATE jobs SET
         status = CASE WHEN attempts >= max_attempts THEN 'failed' ELSE 'queued' END,
         error = CASE WHEN attempts >= max_attempts THEN 'worker lost while running and no attempts remain' ELSE error END,
         finished_at = CASE WHEN attempts >= max_attempts THEN ${clock('$1')} ELSE finished_at END,
         lease_until = NULL, updated_at = ${clock('$1')}
       WHERE id IN (SELECT id FROM jobs WHERE status = 'running' AND lease_until < ${clock('$1')} FOR UPDATE SKIP LOCKED)`,
      [now?.toISOString() ?? null],
    )
    return rowCount ?? 0
  }

  async requeue(ids: string[]): Promise<void> {
    if (ids.length === 0) return
    const fences = ids.map((id) => this.fence(id))
    for (const id of ids) this.held.delete(id)
    await this.query(
      'jobs-requeue',
      `UPDATE jobs SET status = 'queued', lease_until = NULL, updated_at = ${clock('NULL')}
       FROM unnest($1::text[], $2::int[]) AS u(id, fence)
       WHERE jobs.id = u.id AND jobs.status = 'running' AND (u.fence IS NULL OR jobs.attempts = u.fence)`,
      [ids, fences],
    )
  }

  async countsByState(): Promise<Record<JobState, number>> {
    const counts = Object.fromEntries(JOB_STATES.map((state) => [state, 0])) as Record<JobState, number>
    const {rows} = await this.query<{status: JobState; n: string}>('jobs-counts', 'SELECT status, COUNT(*) AS n FROM jobs GROUP BY status', [])
    for (const row of rows) counts[row.status] = Number(row.n)
    return counts
  }

  async ping(): Promise<void> {
    await this.query('ping', 'SELECT 1', [])
  }

  async addToken(token: Token): Promise<void> {
    await this.query('tokens-add', 'INSERT INTO tokens (id, name, hash, created_at, scopes) VALUES ($1, $2, $3, $4, $5)', [token.id, token.name, token.hash, token.createdAt, token.scopes.join(' ')])
  }

  async tokenByHash(hash: string): Promise<Token | undefined> {
    const {rows} = await this.query<TokenRow>('tokens-by-hash', 'SELECT * FROM tokens WHERE hash = $1', [hash])
    return rows[0] ? toToken(rows[0]) : undefined
  }

  async revokeToken(idOrName: string): Promise<boolean> {
    const {rowCount} = await this.query('tokens-revoke', `UPDATE tokens SET revoked_at = ${clock('NULL')} WHERE (id = $1 OR name = $1) AND revoked_at IS NULL`, [idOrName])
    return (rowCount ?? 0) > 0
  }

  async listTokens(): Promise<Token[]> {
    const {rows} = await this.query<TokenRow>('tokens-list', 'SELECT * FROM tokens ORDER BY created_at, name', [])
    return rows.map(toToken)
  }

  /**
   * Keeps a small result in the database: every replica can serve it. Fenced like the job's other
   * writes: a replica that lost the job cannot replace the result of the one that took it over.
   */
  async saveResult(jobId: string, data: Buffer): Promise<boolean> {
    const {rowCount} = await this.query(
      'results-save',
      `INSERT INTO job_results (job_id, data)
       SELECT id, $2 FROM jobs WHERE id = $1 AND status = 'running' AND ($3::int IS NULL OR attempts = $3)
       ON CONFLICT (job_id) DO UPDATE SET data = EXCLUDED.data`,
      [jobId, data, this.fence(jobId)],
    )
    return (rowCount ?? 0) > 0
  }

  async readResult(jobId: string): Promise<Buffer | undefined> {
    const {rows} = await this.query<{data: Buffer}>('results-read', 'SELECT data FROM job_results WHERE job_id = $1', [jobId])
    return rows[0]?.data
  }

  async close(): Promise<void> {
    await this.flush()
    await this.pool.end()
  }
}

/** The URL without its password, for messages. */
export function redact(databaseUrl: string): string {
  try {
    const url = new URL(databaseUrl)
    if (url.password) url.password = '***'
    return url.toString()
  } catch {
    return 'postgres://...'
  }
}
