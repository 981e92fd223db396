/** A collection source: validates its config, then streams what it collects into the result. */
export interface SourceContext {
  signal: AbortSignal
  /** Reports progress between 0 and 1. */
  progress(fraction: number): void
  /** Appends to the job's result; resolves when it may write more (backpressure). */
  write(chunk: string | Buffer): Promise<void>
}

export interface SourceSettings {
  /** Root folder the file source may read under. */
  fileRoot: string
  /** Named database connections: name -> SQLite file (PostgreSQL URLs come with the scale-out work). */
  connections: Record<string, string>
  /** Let the http source reach private, link-local and metadata addresses (off by default). */
  allowPrivateHttp: boolean
  httpTimeoutMs: number
  httpMaxBytes: number
}

export interface Source {
  type: string
  contentType: string
  /** A problem with the config, naming the field, or undefined when it is valid. */
  validate(config: Record<string, unknown>, settings: SourceSettings): string | undefined
  /** Collects; returns the row count for tabular sources. */
  run(config: Record<string, unknown>, ctx: SourceContext, settings: SourceSettings): Promise<{rows: number | null}>
}

/** Job errors that retrying cannot fix (bad input, refused targets). */
export class PermanentJobError extends Error {}
