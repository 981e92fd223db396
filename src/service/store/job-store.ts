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
}

export interface ListQuery {
  status?: JobState
  sourceType?: string
  createdAfter?: string
  createdBefore?: string
  limit: number
  /** Opaque cursor from the previous page. */
  cursor?: string
}

export interface Token {
  id: string
  name: string
  hash: string
  createdAt: string
  revokedAt: string | null
}

export interface JobStore {
  /**
   * Inserts, or returns the job already created with the same idempotency key and token. Resolves
   * once the job is durably committed; concurrent calls share one commit (group commit).
   */
  create(job: NewJob): Promise<{job: Job; created: boolean}>
  get(id: string): Job | undefined
  list(query: ListQuery): {jobs: Job[]; nextCursor: string | null}
  /** Atomically takes up to `limit` of the oldest runnable jobs and leases them. */
  claim(leaseMs: number, limit?: number, now?: Date): Job[]
  extendLease(id: string, leaseMs: number): void
  progress(id: string, progress: number): void
  succeed(id: string, result: JobResultMeta): void
  /** Fails for good (permanent errors, attempts used up), or requeues after backoffMs. */
  fail(id: string, error: string, backoffMs: number, permanent?: boolean): JobState
  /** Queued jobs end at once; running ones are flagged and end when their worker sees it. */
  cancel(id: string): Job | undefined
  markCancelled(id: string): void
  /** Running jobs whose lease ran out (their worker died): requeue or fail them. */
  recoverExpired(now?: Date): number
  /** On shutdown: give this process's running jobs back to the queue. */
  requeue(ids: string[]): void
  countsByState(): Record<JobState, number>
  ping(): void
  addToken(token: Token): void
  tokenByHash(hash: string): Token | undefined
  revokeToken(idOrName: string): boolean
  listTokens(): Token[]
  close(): void
}
