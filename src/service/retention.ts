import type {ResultStore} from './results.js'
import type {JobStore} from './store/job-store.js'

export interface RetentionOptions {
  /** Jobs that ended longer ago than this are deleted, with their results. */
  retentionMs: number
  /** How often to look (default one minute). */
  intervalMs?: number
  /** Jobs deleted per statement (default 500): a large backlog goes in short transactions. */
  batch?: number
  /** Told of a sweep that failed (the next one tries again). */
  onError?: (error: unknown) => void
}

/**
 * Deletes finished jobs (succeeded, failed, cancelled) and their results once they are older than
 * the retention: rows in either store (job_results rows with them), result files, S3 objects.
 * A failing sweep never stops the process: the database may be away, and the next sweep catches up.
 */
export class RetentionSweeper {
  private timer: NodeJS.Timeout | undefined
  private sweeping: Promise<number> | undefined

  constructor(
    private readonly store: JobStore,
    private readonly results: ResultStore,
    private readonly options: RetentionOptions,
  ) {}

  start(): void {
    const run = () => {
      this.sweeping ??= this.sweep()
        .catch((error) => {
          this.options.onError?.(error)
          return 0
        })
        .finally(() => (this.sweeping = undefined))
    }
    this.timer = setInterval(run, this.options.intervalMs ?? 60_000)
    this.timer.unref()
    run()
  }

  async stop(): Promise<void> {
    clearInterval(this.timer)
    await this.sweeping
  }

  /** One pass: every job that ended before now minus the retention; returns how many went. */
  async sweep(now = new Date()): Promise<number> {
    const before = new Date(now.getTime() - this.options.retentionMs)
    const batch = this.options.batch ?? 500
    let total = 0
    for (;;) {
      const purged = await this.store.purgeFinished(before, batch)
      // The row goes first: a result whose row is gone can no longer be served; a row whose result
      // went first would answer with a missing file.
      for (const job of purged) if (job.resultPath) await this.results.discard(job.resultPath).catch((error) => this.options.onError?.(error))
      total += purged.length
      if (purged.length < batch) return total
    }
  }
}
