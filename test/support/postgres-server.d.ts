export interface TestPostgres {
  port: number
  /** With `tls`: the CA that signed the server's certificate (made for the name localhost only). */
  caFile?: string
  /** A new, empty database on the server, as a postgres:// URL (no TLS: loopback only). */
  createDatabase(): Promise<string>
  stop(): Promise<void>
}

/** What is missing to run PostgreSQL here, or undefined when nothing is. */
export function postgresMissing(): string | undefined

/**
 * A real PostgreSQL server in a temporary folder on a free loopback port. Its binaries refuse root,
 * so as root it runs as the unprivileged postgres user (runuser); the folder goes when it stops.
 */
export function startPostgres(options?: {tls?: boolean}): Promise<TestPostgres>
