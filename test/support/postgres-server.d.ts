export interface TestPostgres {
  port: number
  /** With `tls`: the CA that signed the server's certificate (made for the name localhost only). */
  caFile?: string
  /** A new, empty database on the server, as a postgres:// URL with sslmode=disable (loopback only). */
  createDatabase(name?: string): Promise<string>
  /** An outage: stops the server (open sessions ended, as in a failover), keeping its data. */
  halt(): Promise<void>
  /** Starts it again on the same port and data; resolves once it takes connections. */
  resume(): Promise<void>
  stop(): Promise<void>
}

/** What is missing to run PostgreSQL here, or undefined when nothing is. */
export function postgresMissing(): string | undefined

/**
 * A real PostgreSQL server in a temporary folder on a free loopback port. Its binaries refuse root,
 * so as root it runs as the unprivileged postgres user (runuser); the folder goes when it stops.
 */
export function startPostgres(options?: {tls?: boolean}): Promise<TestPostgres>
