import {chmodSync, existsSync, mkdirSync} from 'node:fs'
import path from 'node:path'

import type {FastifyInstance} from 'fastify'
import type {DestinationStream} from 'pino'

import {InfraError} from '../errors.js'
import {buildApp} from './app.js'
import {checkSourceSettings} from './settings-check.js'
import type {SourceSettings} from './sources/source.js'
import type {JobStore} from './store/job-store.js'
import {SqliteJobStore} from './store/sqlite-store.js'
import {WorkerPool} from './workers.js'

export interface ServiceConfig {
  host: string
  port: number
  dataDir: string
  /** sqlite:/path/jobs.db (default: jobs.db in the data folder); postgres:// comes with the EKS scale-out. */
  databaseUrl?: string
  concurrency: number
  jobTimeoutMs: number
  maxAttempts: number
  /** How long a claimed job survives without a heartbeat (default 15 s). */
  leaseMs?: number
  /** Requests per second per token (default 2000, bursts of twice that). */
  rateLimitPerSecond?: number
  /** Requests without a valid token per second per client address (default 2, bursts of ten times that). */
  authFailuresPerSecond?: number
  logLevel: string
  /** Where log lines go (default: stdout). */
  logDestination?: DestinationStream
  version: string
  settings: SourceSettings
}

export interface RunningService {
  app: FastifyInstance
  store: JobStore
  workers: WorkerPool
  url: string
  stop(graceMs?: number): Promise<void>
}

/** `owner`: the service's store, the one process that runs and changes jobs in this database. */
/** `mustExist`: for commands that only read or change what a service made (token list, revoke). */
export function openStore(config: Pick<ServiceConfig, 'dataDir' | 'databaseUrl'>, options: {owner?: boolean; mustExist?: boolean} = {}): JobStore {
  const url = config.databaseUrl ?? `sqlite:${path.join(config.dataDir, 'jobs.db')}`
  if (url.startsWith('sqlite:')) {
    const file = url.slice('sqlite:'.length)
    if (options.mustExist && !existsSync(file)) {
      throw new InfraError(`no job database at ${file}`, 'pass the service\'s --data-dir (or INFRA_SERVICE_DATA_DIR), or create a token first with `infra service token create`', 'NO_DATABASE')
    }
    return new SqliteJobStore(file, {owner: options.owner})
  }
  throw new Error(`database URL ${url.split(':')[0]}: is not supported yet; use sqlite:/path/jobs.db`)
}

/** Starts store, workers and HTTP; stop() drains: not ready, no new work taken, running jobs finish or go back to the queue. */
export async function startService(config: ServiceConfig): Promise<RunningService> {
  checkSourceSettings(config.settings)
  // The data folder holds collected data and token hashes: its owner's only.
  mkdirSync(config.dataDir, {recursive: true, mode: 0o700})
  chmodSync(config.dataDir, 0o700)
  const store = openStore(config, {owner: true})
  const workers = new WorkerPool(store, {
    concurrency: config.concurrency,
    jobTimeoutMs: config.jobTimeoutMs,
    leaseMs: config.leaseMs ?? 15_000,
    pollMs: 250,
    backoffBaseMs: 1000,
    resultsDir: path.join(config.dataDir, 'results'),
    settings: config.settings,
  })
  const app = await buildApp({
    store,
    workers,
    settings: config.settings,
    maxAttempts: config.maxAttempts,
    rateLimitPerSecond: config.rateLimitPerSecond ?? 2000,
    authFailuresPerSecond: config.authFailuresPerSecond ?? 2,
    bodyLimitBytes: 1 << 20,
    logLevel: config.logLevel,
    logDestination: config.logDestination,
    version: config.version,
  })
  workers.onAttemptFinished(({job, state, seconds}) =>
    app.log.info({msg: 'job finished', jobId: job.id, sourceType: job.sourceType, attempt: job.attempts, state, seconds}),
  )
  let address: string
  try {
    address = await app.listen({host: config.host, port: config.port})
  } catch (error) {
    // The port is taken (or the like): give the database back before saying so.
    await app.close()
    await store.close()
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'EADDRINUSE' || code === 'EACCES') {
      throw new InfraError(
        `${config.host}:${config.port} ${code === 'EADDRINUSE' ? 'is already in use' : 'may not be opened by this user'}`,
        'pass another --port (0 picks a free one), or stop what listens there',
        code === 'EADDRINUSE' ? 'PORT_IN_USE' : 'PORT_DENIED',
      )
    }
    throw error
  }
  await workers.start()
  let stopped = false
  return {
    app,
    store,
    workers,
    url: address,
    async stop(graceMs = 10_000) {
      if (stopped) return
      stopped = true
      // Workers drain first, while the API still answers (and /ready says 503, so a load balancer
      // sends no more); then the listener closes.
      await workers.stop(graceMs)
      await app.close()
      await store.close()
    },
  }
}
