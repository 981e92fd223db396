import {createHash} from 'node:crypto'
import {type WriteStream, chmodSync, createWriteStream, mkdirSync, renameSync, rmSync} from 'node:fs'
import path from 'node:path'

import type {ResultStore} from './results.js'
import {SOURCES} from './sources/index.js'
import {type JobLimits, PermanentJobError, type SourceSettings} from './sources/source.js'
import type {Job, JobStore} from './store/job-store.js'
import {type JobTrace, type ServiceTracing, TRACEPARENT_KEY} from './tracing.js'

export interface WorkerOptions {
  concurrency: number
  jobTimeoutMs: number
  /** How long a claimed job stays ours without a heartbeat; a dead worker's job is requeued after it. */
  leaseMs: number
  pollMs: number
  /**
   * The least time between two claim rounds that finishing or new jobs ask for (default 10 ms).
   * Jobs that end at once (a missing file) would otherwise be claimed, failed and replaced as fast
   * as the event loop turns, taking the CPU the API needs; a slot stays empty at most this long.
   */
  claimGapMs?: number
  backoffBaseMs: number
  resultsDir: string
  settings: SourceSettings
  /** Where a finished result is kept (default: the file in resultsDir). */
  results?: ResultStore
  /** Spans for every attempt; absent when tracing is off. */
  tracing?: ServiceTracing
}

/** The end of one attempt at a job: what logs and metrics record. */
export interface AttemptFinished {
  job: Job
  state: string
  seconds: number
}

/**
 * Runs queued jobs with a concurrency limit, a timeout per job, retries with exponential backoff,
 * progress and leases. Results are streamed to a temporary file and renamed into place only when
 * complete, with their byte count and SHA-256.
 */
export class WorkerPool {
  private readonly running = new Map<string, AbortController>()
  private timer: NodeJS.Timeout | undefined
  private stopping = false
  private readonly finishedListeners: ((event: AttemptFinished) => void)[] = []

  constructor(
    private readonly store: JobStore,
    readonly options: WorkerOptions,
  ) {
    // Collected data is for the service's user only (files 0600 below).
    mkdirSync(options.resultsDir, {recursive: true, mode: 0o700})
    chmodSync(options.resultsDir, 0o700)
  }

  /** The server's ceilings, lowered where the job's config asks for less (the request schema keeps them within). */
  limitsFor(job: Job): JobLimits {
    const lower = (asked: unknown, ceiling: number) => (typeof asked === 'number' && Number.isFinite(asked) && asked > 0 ? Math.min(asked, ceiling) : ceiling)
    return {
      maxBytes: lower(job.config.max_bytes, this.options.settings.maxResultBytes),
      maxRows: this.options.settings.maxRows,
      timeoutMs: lower(job.config.timeout_ms, this.options.jobTimeoutMs),
    }
  }

  /** 'running' once started and until stop() begins; 'stopping' while draining; 'stopped' before and after. */
  get state(): 'running' | 'stopping' | 'stopped' {
    if (this.stopping) return this.stopped ? 'stopped' : 'stopping'
    return this.timer ? 'running' : 'stopped'
  }

  private stopped = false
  /** When the last claim round finished without an error (0 before the first). */
  lastTickAt = 0
  /** The store's last error in a background loop, until a claim round succeeds again. */
  lastStoreError: string | undefined
  private readonly storeErrorListeners: ((error: unknown) => void)[] = []

  /** Subscribes to errors of the store in the background loops (the service logs them). */
  onStoreError(listener: (error: unknown) => void): void {
    this.storeErrorListeners.push(listener)
  }

  private storeFailed(error: unknown): void {
    const message = (error as Error)?.message ?? String(error)
    // One log line per change of error, not one per poll through an outage.
    if (message !== this.lastStoreError) for (const listener of this.storeErrorListeners) listener(error)
    this.lastStoreError = message
  }

  /**
   * Writes a job's outcome (or its result, which PostgreSQL mode keeps in the database), again and
   * again while the store is unreachable: a job that finished during an outage is recorded when the
   * database returns (or, if its lease ran out meanwhile, the store's fence refuses it and the job
   * runs again). An error while the store answers its ping is the write's own and is thrown. Gives
   * up when the pool stops; the lease then hands the job back.
   */
  private async persist<T>(write: () => Promise<T>, fallback: T): Promise<T> {
    for (let wait = 100; ; wait = Math.min(wait * 2, 2000)) {
      try {
        return await write()
      } catch (error) {
        if (await this.store.ping().then(() => true, () => false)) throw error
        this.storeFailed(error)
        if (this.stopped) return fallback
        await new Promise((resolve) => setTimeout(resolve, wait))
      }
    }
  }

  /** Subscribes to the end of every attempt (the service's log and metrics). */
  onAttemptFinished(listener: (event: AttemptFinished) => void): void {
    this.finishedListeners.push(listener)
  }

  async start(): Promise<void> {
    await this.store.recoverExpired()
    this.lastRecovery = Date.now()
    this.timer = setInterval(() => this.tick(), this.options.pollMs)
    this.tick()
  }

  private wakeScheduled = false

  /** Nudges the pool when a job was just queued, instead of waiting for the next poll; one nudge per turn. */
  wake(): void {
    if (this.stopping || this.wakeScheduled || this.running.size >= this.options.concurrency) return
    this.wakeScheduled = true
    const wait = this.lastClaimAt + (this.options.claimGapMs ?? 10) - performance.now()
    if (wait > 0) setTimeout(this.woken, wait)
    else setImmediate(this.woken)
  }

  private readonly woken = (): void => {
    this.wakeScheduled = false
    this.tick()
  }

  /** When the last claim round began (performance.now()). */
  private lastClaimAt = -Infinity

  get busy(): number {
    return this.running.size
  }

  private lastRecovery = 0
  /** The tick in progress: ticks never overlap, or two could claim the same free slots. */
  private ticking: Promise<void> | undefined
  private tickAgain = false

  private tick(): void {
    if (this.stopping) return
    if (this.ticking) {
      this.tickAgain = true
      return
    }
    // A store that fails here (a database outage, a failover) costs this round only: the process
    // stays up, /health and /ready say 503 through the stalled claim loop and the failing ping, and
    // the next poll tries again. Crashing would restart every replica at once into CrashLoopBackOff.
    this.ticking = this.claimWork().then(() => {
      this.lastTickAt = Date.now()
      this.lastStoreError = undefined
    }, (error: unknown) => {
      this.storeFailed(error)
    }).finally(() => {
      this.ticking = undefined
      if (this.tickAgain) {
        this.tickAgain = false
        this.wake()
      }
    })
  }

  private async claimWork(): Promise<void> {
    // Lost leases are looked for once per poll interval, not on every nudge.
    if (Date.now() - this.lastRecovery >= this.options.pollMs) {
      this.lastRecovery = Date.now()
      await this.store.recoverExpired()
    }
    const free = this.options.concurrency - this.running.size
    if (free <= 0) return
    this.lastClaimAt = performance.now()
    const startedAt = Date.now()
    const jobs = await this.store.claim(this.options.leaseMs, free)
    const claim = {startedAt, endedAt: Date.now()}
    for (const job of jobs) this.execute(job, this.options.tracing?.startJob(job, claim))
  }

  private execute(job: Job, trace?: JobTrace): void {
    const controller = new AbortController()
    // An earlier attempt of this job still running here lost its lease (its writes are fenced out):
    // it stops now, so two attempts of one job never run side by side.
    this.running.get(job.id)?.abort(new LeaseLostError())
    this.running.set(job.id, controller)
    const started = performance.now()
    const limits = this.limitsFor(job)
    const timeout = setTimeout(() => controller.abort(new Error(`timed out after ${limits.timeoutMs} ms`)), limits.timeoutMs)
    const heartbeat = setInterval(async () => {
      let current: Job | undefined
      try {
        await this.store.extendLease(job.id, this.options.leaseMs)
        current = await this.store.get(job.id)
      } catch (error) {
        // The store is away: the job goes on; the next beat tries again, and if the lease runs out
        // meanwhile, recovery hands the job back and the check below stops this attempt.
        this.storeFailed(error)
        return
      }
      if (current?.cancelRequested) controller.abort(new CancelledError())
      // Our lease ran out and the job was requeued or taken over (another replica, after a stall
      // here): stop at once, and write nothing more for it.
      else if (!current || current.status !== 'running' || current.attempts !== job.attempts) controller.abort(new LeaseLostError())
    }, Math.max(50, Math.floor(this.options.leaseMs / 3)))
    let failure: unknown
    this.run(job, controller.signal, limits, trace)
      .then((recorded) => (recorded ? 'succeeded' : 'lease_lost'))
      .catch(async (error: unknown) => {
        failure = error
        if (controller.signal.reason instanceof LeaseLostError) return 'lease_lost'
        if (controller.signal.reason instanceof CancelledError || error instanceof CancelledError) {
          await this.persist(() => this.store.markCancelled(job.id), undefined)
          return 'cancelled'
        }
        if (this.stopping && controller.signal.aborted) return 'requeued'
        const message = (error as Error).message ?? String(error)
        const permanent = error instanceof PermanentJobError
        const backoff = this.options.backoffBaseMs * 2 ** (job.attempts - 1)
        return this.persist<string>(() => this.store.fail(job.id, message, backoff, permanent), 'unrecorded')
      })
      // Recording the end failed for good (the store answers but refuses): the lease hands it back.
      .catch(() => 'unrecorded')
      .then((state) => {
        clearTimeout(timeout)
        clearInterval(heartbeat)
        if (this.running.get(job.id) === controller) this.running.delete(job.id)
        const seconds = (performance.now() - started) / 1000
        trace?.end(state, failure)
        for (const listener of this.finishedListeners) listener({job, state, seconds})
        this.wake()
      })
  }

  /** Collects and keeps the result; false when the job was no longer this attempt's at the end (nothing kept). */
  private async run(job: Job, signal: AbortSignal, limits: JobLimits, trace?: JobTrace): Promise<boolean> {
    const step = <T>(name: string, work: () => Promise<T>): Promise<T> => (trace ? trace.step(name, work) : work())
    const source = SOURCES[job.sourceType]
    if (!source) throw new PermanentJobError(`unknown source type ${job.sourceType}`)
    // One file per attempt: an attempt that lost its lease never writes over the one that took over.
    const final = path.join(this.options.resultsDir, `${job.id}.${job.attempts}.out`)
    const partial = `${final}.partial`
    const hash = createHash('sha256')
    let bytes = 0
    // Opened on the first write: a job that fails before collecting anything leaves no file behind.
    let out: WriteStream | undefined
    try {
      const {rows} = await step('job.source.fetch', () => source.run(
        withoutTraceContext(job.config),
        {
          signal,
          limits,
          // Progress is advisory: an update lost to a busy store is replaced by the next.
          progress: (fraction) => void this.store.progress(job.id, fraction).catch(() => {}),
          write: (chunk) =>
            new Promise<void>((resolve, reject) => {
              if (signal.aborted) return reject(signal.reason)
              const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : chunk
              // The size limit holds for every source, checked before a byte past it is written.
              if (bytes + buffer.length > limits.maxBytes) return reject(new PermanentJobError(`the result would pass ${limits.maxBytes} bytes, the size limit`))
              hash.update(buffer)
              bytes += buffer.length
              out ??= createWriteStream(partial, {mode: 0o600})
              // A Buffer is the caller's again only once written (it may be refilled); a string was
              // copied into a new one, so a write queued under the stream's high-water mark is done.
              if (typeof chunk !== 'string') out.write(buffer, (error) => (error ? reject(error) : resolve()))
              else if (out.write(buffer)) resolve()
              else out.once('drain', resolve)
            }),
        },
        this.options.settings,
      ))
      return await step('job.result.store', async () => {
        out ??= createWriteStream(partial, {mode: 0o600})
        const stream = out
        await new Promise<void>((resolve, reject) => stream.end((error?: Error | null) => (error ? reject(error) : resolve())))
        renameSync(partial, final)
        const results = this.options.results
        const location = results ? await this.persist(() => results.keep(job, final), undefined) : final
        if (location === undefined) throw new Error('the job store was unreachable when the job finished; its lease hands it back')
        const sha256 = hash.digest('hex')
        // The data is collected and kept: an outage now must not throw it away and run it again.
        const recorded = await this.persist(() => this.store.succeed(job.id, {rows, bytes, sha256, contentType: source.contentType, path: location}), undefined)
        if (recorded === undefined) throw new Error('the job store was unreachable when the job finished; its lease hands it back')
        // Fenced out: this attempt's copy is nobody's result.
        if (!recorded) await (results?.discard(location) ?? rmSync(final, {force: true}))
        return recorded
      })
    } catch (error) {
      if (out) {
        out.destroy()
        rmSync(partial, {force: true})
      }
      throw signal.aborted && !(error instanceof PermanentJobError) ? (signal.reason ?? error) : error
    }
  }

  /** Stops taking work; running jobs get `graceMs` to finish, then go back to the queue. */
  async stop(graceMs: number): Promise<void> {
    this.stopping = true
    clearInterval(this.timer)
    // Jobs a claim in flight takes are ours to finish or give back too.
    await this.ticking
    const deadline = Date.now() + graceMs
    while (this.running.size > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50))
    const left = [...this.running.keys()]
    for (const controller of this.running.values()) controller.abort(new Error('service stopping'))
    try {
      await this.store.requeue(left)
    } catch (error) {
      // The store is away: the leases run out and another replica (or this one, restarted) takes them.
      this.storeFailed(error)
    }
    this.stopped = true
  }
}

/** The job's config as its source takes it: without the trace context stored beside it. */
function withoutTraceContext(config: Record<string, unknown>): Record<string, unknown> {
  if (!(TRACEPARENT_KEY in config)) return config
  const {[TRACEPARENT_KEY]: _traceparent, ...rest} = config
  return rest
}

/** The job is no longer this worker's: its lease ran out and someone requeued or took it. */
export class LeaseLostError extends Error {
  constructor() {
    super('lease lost')
  }
}

export class CancelledError extends Error {
  constructor() {
    super('cancelled')
  }
}
