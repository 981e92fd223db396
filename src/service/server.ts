import {chmodSync, existsSync, mkdirSync} from 'node:fs'
import path from 'node:path'
import type {Server as TlsServer} from 'node:tls'

import type {FastifyInstance} from 'fastify'
import type {DestinationStream} from 'pino'

import {InfraError} from '../errors.js'
import {buildApp} from './app.js'
import {LocalResults, type ResultStore, SharedResults} from './results.js'
import {RetentionSweeper} from './retention.js'
import {checkSourceSettings} from './settings-check.js'
import type {SourceSettings} from './sources/source.js'
import type {JobStore} from './store/job-store.js'
import type {PostgresJobStore} from './store/postgres-store.js'
import {SqliteJobStore} from './store/sqlite-store.js'
import {type TlsPair, TlsReloader} from './tls.js'
import {startTracing} from './tracing.js'
import {WorkerPool} from './workers.js'

export interface ServiceConfig {
  /**
   * PEM certificate and key: the listener speaks HTTPS (the load balancer's hop to the pod). With
   * the files they came from, a renewed pair there is served without a restart.
   */
  tls?: TlsPair
  /** How often the TLS files are read again besides when their folder changes (default 60 s). */
  tlsReloadMs?: number
  host: string
  port: number
  dataDir: string
  /** sqlite:/path/jobs.db (default: jobs.db in the data folder) or postgres://... (several replicas). */
  databaseUrl?: string
  /** PostgreSQL mode: s3://bucket/prefix for results larger than resultsInDatabaseBytes. */
  resultsBucket?: string
  /** PostgreSQL mode: the KMS key results in S3 are encrypted with. */
  resultsKmsKey?: string
  /** PostgreSQL mode: results up to this size are kept in the database (default 1 MiB). */
  resultsInDatabaseBytes?: number
  concurrency: number
  jobTimeoutMs: number
  maxAttempts: number
  /** How long a claimed job survives without a heartbeat (default 15 s). */
  leaseMs?: number
  /** Requests per second per token (default 2000, bursts of twice that). */
  rateLimitPerSecond?: number
  /** Requests without a valid token per second per client address (default 2, bursts of ten times that). */
  authFailuresPerSecond?: number
  /** CIDRs of the load balancer whose X-Forwarded-For names the client (default: none, the TCP peer is the client). */
  trustedProxies?: string[]
  logLevel: string
  /** Where log lines go (default: stdout). */
  logDestination?: DestinationStream
  version: string
  settings: SourceSettings
  /** Finished jobs and their results are deleted this long after they ended (default 30 days). */
  retentionMs?: number
  /** Queued jobs one token may have at once; past it a trigger answers 429 (default 10,000). */
  maxQueuedPerToken?: number
  /** OTLP/HTTP collector base URL (--otlp-endpoint); the OTEL_* variables are read too. Off without either. */
  otlpEndpoint?: string
  /**
   * On stop, how long the listener keeps serving while /ready says 503 (default 0): the time a
   * load balancer takes to see the pod leave and stop sending to it.
   */
  drainMs?: number
  /** On stop, how long running jobs may take to finish before they go back to the queue (default 10 s). */
  stopGraceMs?: number
}

/** How long finished jobs and results are kept when nothing else is said (--retention-days, the estate's service.retentionDays). */
export const DEFAULT_RETENTION_DAYS = 30
/** Queued jobs per token when nothing else is said (--max-queued-per-token). */
export const DEFAULT_MAX_QUEUED_PER_TOKEN = 10_000

export interface RunningService {
  app: FastifyInstance
  store: JobStore
  workers: WorkerPool
  url: string
  stop(graceMs?: number): Promise<void>
}

/**
 * The job store the URL names: sqlite:FILE (one process) or postgres://... (any number of replicas;
 * migrations run once, under an advisory lock).
 * `owner`: the service's store, the one process that runs and changes jobs in a SQLite database.
 * `mustExist`: for commands that only read or change what a service made (token list, revoke).
 */
export async function openStore(config: Pick<ServiceConfig, 'dataDir' | 'databaseUrl'>, options: {owner?: boolean; mustExist?: boolean} = {}): Promise<JobStore> {
  const url = config.databaseUrl ?? `sqlite:${path.join(config.dataDir, 'jobs.db')}`
  // pg is loaded only in PostgreSQL mode: SQLite mode starts without it.
  if (/^postgres(ql)?:\/\//.test(url)) return (await import('./store/postgres-store.js')).PostgresJobStore.open(url)
  if (url.startsWith('sqlite:')) {
    const file = url.slice('sqlite:'.length)
    if (options.mustExist && !existsSync(file)) {
      throw new InfraError(`no job database at ${file}`, 'pass the service\'s --data-dir (or INFRA_SERVICE_DATA_DIR), or create a token first with `infra service token create`', 'NO_DATABASE')
    }
    return new SqliteJobStore(file, {owner: options.owner})
  }
  throw new InfraError(`--database-url ${url.split(':')[0]}:... is not a job store`, 'use sqlite:/path/jobs.db or postgres://USER@HOST:5432/DB?sslmode=verify-full&sslrootcert=/path/global-bundle.pem', 'BAD_DATABASE_URL', 2)
}

/** Starts store, workers and HTTP; stop() drains: not ready, no new work taken, running jobs finish or go back to the queue. */
export async function startService(config: ServiceConfig): Promise<RunningService> {
  checkSourceSettings(config.settings)
  // Bad tracing configuration fails here, before anything is opened; off, the SDK is never loaded.
  const tracing = await startTracing(config.otlpEndpoint, config.version)
  // The data folder holds collected data and token hashes: its owner's only.
  mkdirSync(config.dataDir, {recursive: true, mode: 0o700})
  chmodSync(config.dataDir, 0o700)
  if (config.resultsBucket && !/^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](\/.*)?$/.test(config.resultsBucket)) {
    throw new InfraError(`--results-bucket ${config.resultsBucket} is not an S3 URL`, 'write s3://BUCKET or s3://BUCKET/PREFIX', 'BAD_FLAG', 2)
  }
  const resultsBucketName = config.resultsBucket?.slice('s3://'.length).split('/')[0]
  if (resultsBucketName && config.settings.s3Buckets?.includes(resultsBucketName)) {
    throw new InfraError(`--s3-buckets lists ${resultsBucketName}, the results bucket: the s3 source would hand out every token's results`, 'remove it from the s3 source\'s buckets (the estate\'s service.s3Buckets)', 'BAD_FLAG', 2)
  }
  const store = await openStore(config, {owner: true})
  const shared = 'saveResult' in store ? (store as PostgresJobStore) : undefined
  if (config.resultsBucket && !shared) {
    await store.close()
    throw new InfraError('--results-bucket is for several replicas on PostgreSQL', 'drop it, or pass --database-url postgres://...', 'BAD_FLAG', 2)
  }
  // Replicas share results through the database (small) or S3 (large); one SQLite process keeps files.
  const results: ResultStore = shared
    ? new SharedResults(shared, {databaseMaxBytes: config.resultsInDatabaseBytes ?? 1 << 20, bucketUrl: config.resultsBucket, kmsKeyId: config.resultsKmsKey})
    : new LocalResults()
  const workers = new WorkerPool(store, {
    concurrency: config.concurrency,
    jobTimeoutMs: config.jobTimeoutMs,
    leaseMs: config.leaseMs ?? 15_000,
    pollMs: 250,
    backoffBaseMs: 1000,
    resultsDir: path.join(config.dataDir, 'results'),
    settings: config.settings,
    results,
    tracing,
  })
  const app = await buildApp({
    store,
    workers,
    settings: config.settings,
    results,
    maxAttempts: config.maxAttempts,
    maxQueuedPerToken: config.maxQueuedPerToken ?? DEFAULT_MAX_QUEUED_PER_TOKEN,
    rateLimitPerSecond: config.rateLimitPerSecond ?? 2000,
    authFailuresPerSecond: config.authFailuresPerSecond ?? 2,
    trustedProxies: config.trustedProxies,
    https: config.tls && {cert: config.tls.cert, key: config.tls.key},
    bodyLimitBytes: 1 << 20,
    logLevel: config.logLevel,
    logDestination: config.logDestination,
    version: config.version,
    tracing,
  })
  workers.onStoreError((error) => app.log.warn({err: error}, 'job store unreachable from the workers; retrying (health and readiness say 503 meanwhile)'))
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
    await tracing?.shutdown()
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
  const tlsReloader = startTlsReload(app, config)
  await workers.start()
  const retention = new RetentionSweeper(store, results, {
    retentionMs: config.retentionMs ?? DEFAULT_RETENTION_DAYS * 86_400_000,
    onError: (error) => app.log.warn({err: error}, 'retention sweep failed; the next one tries again'),
  })
  retention.start()
  let stopped = false
  return {
    app,
    store,
    workers,
    url: address,
    async stop(graceMs = config.stopGraceMs ?? 10_000) {
      if (stopped) return
      stopped = true
      // From now /ready says 503 (the workers are stopping) and no new job is claimed, while the
      // listener keeps answering for the drain time: the load balancer's deregistration reaches
      // its nodes in a few seconds and sends requests here until then. Running jobs finish within
      // the grace, or go back to the queue; then the listener closes.
      const draining = new Promise((resolve) => setTimeout(resolve, config.drainMs ?? 0))
      await Promise.all([workers.stop(graceMs), draining])
      await retention.stop()
      tlsReloader?.stop()
      await app.close()
      await store.close()
      // Last: the spans of the final requests and jobs are flushed to the collector.
      const unsent = await tracing?.shutdown()
      if (unsent) process.stderr.write(`warning: ${unsent}\n`)
    },
  }
}

/** With TLS from files, the listener follows them: a renewed certificate is served without a restart. */
function startTlsReload(app: FastifyInstance, config: ServiceConfig): TlsReloader | undefined {
  if (!config.tls?.certFile || !config.tls.keyFile) return undefined
  const log = app.log.child({component: 'tls'})
  const reloader = new TlsReloader(app.server as unknown as TlsServer, {certFile: config.tls.certFile, keyFile: config.tls.keyFile}, config.tls, {
    info: (fields, message) => log.info(fields, message),
    warn: (fields, message) => log.warn(fields, message),
  }, {intervalMs: config.tlsReloadMs ?? 60_000, settleMs: 200})
  reloader.start()
  return reloader
}
