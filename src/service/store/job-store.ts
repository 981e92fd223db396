/** The job store: one interface, a SQLite implementation here, PostgreSQL for the EKS scale-out. */

export const JOB_STATES = ['queued', 'running', 'succeeded', 'failed', 'cancelled'] as const
export type JobState = (typeof JOB_STATES)[number]
export const TERMINAL: ReadonlySet<JobState> = new Set(['succeeded', 'failed', 'cancelled'])

export interface Job {
  id: string
  sourceType: string
  config: Record<string, unknown>
  status: JobState
  attempts: number
  maxAttempts: number
  progress: number
  error: string | null
  createdAt: string
  updatedAt: string
  startedAt: string | null
  finishedAt: string | null
  /** The worker holds the job until then; a crashed worker's job is requeued after it. */
  leaseUntil: string | null
  cancelRequested: boolean
  result: JobResultMeta | null
  /** The token that created the job: its owner. */
  tokenId: string
}

export interface JobResultMeta {
  /** Rows for tabular sources, else null. */
  rows: number | null
  bytes: number
  sha256: string
  contentType: string
  path: string
}

export interface NewJob {
  id: string
  sourceType: string
  config: Record<string, unknown>
  maxAttempts: number
  idempotencyKey?: string
  /** Token that created it: idempotency keys are per token. */
  tokenId: string
  /** Refused (QueueFullError) when the token already has this many queued jobs; unlimited when absent. */
  maxQueuedPerToken?: number
}

/** The token already has its quota of queued jobs (the API answers 429). */
export class QueueFullError extends Error {
  constructor(readonly tokenId: string, readonly limit: number) {
    super(`this token already has ${limit} queued jobs, its quota; retry when some have started`)
  }
}

/** A job deleted by retention, with where its result was kept (to delete it too). */
export interface PurgedJob {
  id: string
  resultPath: string | null
}

/**
 * The order of a claim among tokens: round-robin, starting with the token served longest ago.
 * `perToken` holds each token's runnable jobs, oldest first, its tokens in turn order.
 */
export function interleave<T>(perToken: T[][], limit: number): T[] {
  const picked: T[] = []
  for (let round = 0; picked.length < limit; round++) {
    let any = false
    for (const jobs of perToken) {
      if (round >= jobs.length) continue
      any = true
      picked.push(jobs[round])
      if (picked.length === limit) break
    }
    if (!any) break
  }
  return picked
}

export interface ListQuery {
  status?: JobState
  sourceType?: string
  createdAfter?: string
  createdBefore?: string
  limit: number
  /** Opaque cursor from the previous page. */
  cursor?: string
  /** Only the jobs this token created (every non-admin listing). */
  tokenId?: string
}

/**
 * What a token may do: `jobs:write` trigger and cancel, `jobs:read` status, list and results, both
 * for the token's own jobs only; `admin` every job of every token.
 */
export const SCOPES = ['jobs:write', 'jobs:read', 'admin'] as const
export type Scope = (typeof SCOPES)[number]
export const DEFAULT_SCOPES: readonly Scope[] = ['jobs:write', 'jobs:read']

export interface Token {
  id: string
  name: string
  hash: string
  scopes: Scope[]
  createdAt: string
  revokedAt: string | null
}

/**
 * Where jobs and tokens live. Every method is asynchronous, as a PostgreSQL implementation must be;
 * the SQLite one answers at once.
 */
export interface JobStore {
  /**
   * Inserts, or returns the job already created with the same idempotency key and token. Resolves
   * once the job is durably committed; concurrent calls share one commit (group commit).
   */
  create(job: NewJob): Promise<{job: Job; created: boolean}>
  /** The job as last committed; callers must not modify it (a store may hand the same object out again). */
  get(id: string): Promise<Job | undefined>
  list(query: ListQuery): Promise<{jobs: Job[]; nextCursor: string | null}>
  /**
   * Atomically takes up to `limit` runnable jobs and leases them: fair between tokens (round-robin,
   * starting with the token whose turn came longest ago), oldest first within a token.
   */
  claim(leaseMs: number, limit?: number, now?: Date): Promise<Job[]>
  /**
   * The writes below are fenced by the attempt this store claimed: once the job's lease ran out and
   * it was claimed again (by this store or another), the earlier attempt's writes match nothing.
   */
  extendLease(id: string, leaseMs: number): Promise<void>
  progress(id: string, progress: number): Promise<void>
  /** True when recorded; false when the job is no longer this attempt's (its result must be dropped). */
  succeed(id: string, result: JobResultMeta): Promise<boolean>
  /**
   * Fails for good (permanent errors, attempts used up), or requeues after backoffMs. A stale
   * attempt changes nothing and gets the job's state as it stands.
   */
  fail(id: string, error: string, backoffMs: number, permanent?: boolean): Promise<JobState>
  /** Queued jobs end at once; running ones are flagged and end when their worker sees it. */
  cancel(id: string): Promise<Job | undefined>
  markCancelled(id: string): Promise<void>
  /** Running jobs whose lease ran out (their worker died): requeue or fail them. */
  recoverExpired(now?: Date): Promise<number>
  /** On shutdown: give this process's running jobs back to the queue. */
  requeue(ids: string[]): Promise<void>
  /** Deletes up to `limit` jobs that ended before `before` (their results' rows with them); says which. */
  purgeFinished(before: Date, limit: number): Promise<PurgedJob[]>
  countsByState(): Promise<Record<JobState, number>>
  ping(): Promise<void>
  addToken(token: Token): Promise<void>
  /** The token with this SHA-256, revoked or not (callers check revokedAt). */
  tokenByHash(hash: string): Promise<Token | undefined>
  /** Marks a token revoked by id or name; false when no live token has it. */
  revokeToken(idOrName: string): Promise<boolean>
  listTokens(): Promise<Token[]>
  close(): Promise<void>
}
