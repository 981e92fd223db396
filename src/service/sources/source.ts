/** A collection source: validates its config, then streams what it collects into the result. */
export interface SourceContext {
  signal: AbortSignal
  /** This job's limits: the server's ceilings, lowered by the job's own config where it asked. */
  limits: JobLimits
  /** Reports progress between 0 and 1. */
  progress(fraction: number): void
  /**
   * Appends to the job's result; resolves when it may write more (backpressure) and, for a Buffer,
   * when its bytes have been written out, so the caller may fill the same buffer again (the s3
   * source streams through one). Rejects with a PermanentJobError once the result would pass
   * limits.maxBytes: nothing past the cap is written.
   */
  write(chunk: string | Buffer): Promise<void>
}

export interface JobLimits {
  maxBytes: number
  maxRows: number
  timeoutMs: number
}

export interface SourceSettings {
  /** Root folder the file source may read under. */
  fileRoot: string
  /** Named database connections: name -> SQLite file (PostgreSQL URLs come with the scale-out work). */
  connections: Record<string, string>
  /** Let the http source reach private, link-local and metadata addresses (off by default). */
  allowPrivateHttp: boolean
  /** Ceiling of one HTTP request's time. */
  httpTimeoutMs: number
  /** Ceiling of one result's size, for every source. */
  maxResultBytes: number
  /** Ceiling of rows (database) and objects (s3) in one result. */
  maxRows: number
  /** The buckets the s3 source may read (the estate's service.s3Buckets); none: it reads nothing. */
  s3Buckets?: string[]
}

export interface Source {
  type: string
  contentType: string
  /**
   * JSON schema of the source's own config keys (the limits every source shares are added by the
   * app): it validates requests and documents the source in OpenAPI.
   */
  configSchema(settings: SourceSettings): {type: 'object'; required?: string[]; properties: Record<string, unknown>}
  /** A problem the schema cannot see (known names, paths), naming the field, or undefined when valid. */
  validate(config: Record<string, unknown>, settings: SourceSettings): string | undefined
  /** Collects; returns the row count for tabular sources. */
  run(config: Record<string, unknown>, ctx: SourceContext, settings: SourceSettings): Promise<{rows: number | null}>
}

/** Job errors that retrying cannot fix (bad input, refused targets, limits). */
export class PermanentJobError extends Error {}
