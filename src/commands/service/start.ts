import {mkdirSync, openSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import {Flags} from '@oclif/core'
import pino from 'pino'

import {readableDestination} from '../../output/log-lines.js'
import {ServiceCommand} from '../_lib/base-command.js'
import {InfraError} from '../../errors.js'
import {DEFAULT_MAX_QUEUED_PER_TOKEN, DEFAULT_RETENTION_DAYS, startService} from '../../service/server.js'
import {readTlsFiles} from '../../service/tls.js'
import {onStopSignal} from '../../signals.js'

export default class ServiceStart extends ServiceCommand {
  static override summary = 'Run the collection service: SQLite in the data folder, or one of several replicas on PostgreSQL (--database-url).'
  static override examples = [
    '<%= config.bin %> service start',
    '<%= config.bin %> service start --port 8080 --data-dir /var/lib/infra',
    '<%= config.bin %> service start --otlp-endpoint http://otel-collector.observability:4318',
  ]

  static override flags = {
    host: Flags.string({description: 'address to listen on', env: 'INFRA_SERVICE_HOST', default: '127.0.0.1'}),
    port: Flags.integer({description: 'port to listen on (0: any free port)', env: 'INFRA_SERVICE_PORT', default: 8080, min: 0, max: 65535}),
    'data-dir': Flags.string({description: 'jobs database, results and tokens', env: 'INFRA_SERVICE_DATA_DIR', default: path.join(os.homedir(), '.infra', 'service')}),
    'database-url': Flags.string({description: 'job store (default: sqlite:<data-dir>/jobs.db); postgres://USER@HOST/DB?sslmode=verify-full&sslrootcert=CA.pem (&iam=true: IAM token) for several replicas', env: 'INFRA_SERVICE_DATABASE_URL'}),
    'results-bucket': Flags.string({description: 'PostgreSQL mode: s3://BUCKET/PREFIX for results larger than --results-in-database', env: 'INFRA_SERVICE_RESULTS_BUCKET'}),
    'results-kms-key': Flags.string({description: 'PostgreSQL mode: KMS key (id, ARN or alias) for results in S3', env: 'INFRA_SERVICE_RESULTS_KMS_KEY'}),
    'results-in-database': Flags.integer({description: 'PostgreSQL mode: results up to this many bytes are kept in the database', default: 1 << 20, min: 0}),
    concurrency: Flags.integer({description: 'jobs run at once', env: 'INFRA_SERVICE_CONCURRENCY', default: 4, min: 1}),
    'job-timeout': Flags.integer({description: 'seconds one attempt may take', default: 300, min: 1}),
    'rate-limit': Flags.integer({description: 'requests per second per token (bursts of twice that)', env: 'INFRA_SERVICE_RATE_LIMIT', default: 2000, min: 1}),
    'auth-failure-limit': Flags.integer({description: 'requests without a valid token per second per client address (bursts of ten times that), then 429', default: 2, min: 1}),
    'max-result-bytes': Flags.integer({description: 'ceiling of one result\'s size; a job may only ask for less', default: 100 * 1024 * 1024, min: 1}),
    'max-rows': Flags.integer({description: 'ceiling of rows (database) and objects (s3) per result; a job may only ask for less', default: 1_000_000, min: 1}),
    'http-timeout': Flags.integer({description: 'deadline in seconds for one http source request as a whole (redirects and every byte of the body), not an idle timeout', default: 30, min: 1}),
    'lease-seconds': Flags.integer({description: 'how long a running job stays claimed without a heartbeat; after a crash it is requeued then', default: 15, min: 1, hidden: true}),
    'retention-days': Flags.integer({description: 'days finished jobs and their results (files, database rows, S3 objects) are kept after they ended', env: 'INFRA_SERVICE_RETENTION_DAYS', default: DEFAULT_RETENTION_DAYS, min: 1}),
    'max-queued-per-token': Flags.integer({description: 'queued jobs one token may have at once; past it a trigger answers 429', env: 'INFRA_SERVICE_MAX_QUEUED_PER_TOKEN', default: DEFAULT_MAX_QUEUED_PER_TOKEN, min: 1}),
    'max-attempts': Flags.integer({description: 'attempts per job before it fails', default: 3, min: 1, max: 10}),
    'file-root': Flags.string({description: 'folder the file source may read', env: 'INFRA_SERVICE_FILE_ROOT'}),
    connection: Flags.string({description: 'database connection for the database source, NAME=sqlite-file (repeatable)', multiple: true}),
    'allow-private-http': Flags.boolean({description: 'let the http source reach private and metadata addresses'}),
    's3-buckets': Flags.string({description: 'comma-separated buckets the s3 source may read (the estate\'s service.s3Buckets); none: it reads nothing. Never the results bucket', env: 'INFRA_SERVICE_S3_BUCKETS', helpValue: 'BUCKET,...'}),
    'trusted-proxies': Flags.string({description: 'comma-separated CIDRs of the load balancer: X-Forwarded-For from these peers names the client (rate limits count per client); from others it is ignored', env: 'INFRA_SERVICE_TRUSTED_PROXIES', helpValue: 'CIDR,...'}),
    'drain-seconds': Flags.integer({description: 'on SIGTERM, seconds the listener keeps serving while /ready says 503 (a load balancer\'s deregistration time)', env: 'INFRA_SERVICE_DRAIN_SECONDS', default: 0, min: 0, max: 3600}),
    'stop-grace-seconds': Flags.integer({description: 'on SIGTERM, seconds running jobs may take to finish before they go back to the queue', env: 'INFRA_SERVICE_STOP_GRACE_SECONDS', default: 10, min: 0, max: 3600}),
    'log-level': Flags.string({options: ['fatal', 'error', 'warn', 'info', 'debug', 'silent'], default: 'info', env: 'INFRA_SERVICE_LOG_LEVEL'}),
    'otlp-endpoint': Flags.string({description: 'send OpenTelemetry traces to this OTLP/HTTP collector (base URL, e.g. http://otel-collector:4318); the OTEL_* variables work too; off without either', helpValue: 'URL'}),
    'tls-cert': Flags.string({description: 'serve HTTPS with this PEM certificate (chain); needs --tls-key (in the pod: tls.crt of the kubernetes.io/tls Secret)', env: 'INFRA_SERVICE_TLS_CERT', helpValue: 'FILE'}),
    'tls-key': Flags.string({description: 'the PEM private key of --tls-cert', env: 'INFRA_SERVICE_TLS_KEY', helpValue: 'FILE'}),
    'log-file': Flags.string({description: 'append the JSON log lines to this file (owner-only) instead of stdout; `infra logs --file` reads it', env: 'INFRA_SERVICE_LOG_FILE'}),
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(ServiceStart)
    const connections = Object.fromEntries(
      (flags.connection ?? []).map((entry) => {
        const [name, ...rest] = entry.split('=')
        if (!name || rest.length === 0) throw new InfraError(`--connection ${entry}: write NAME=path/to/file.db`, 'e.g. --connection crm=./crm.db', 'BAD_FLAG', 2)
        if (!/^[\w.-]{1,64}$/.test(name)) throw new InfraError(`--connection ${entry}: the name must be letters, digits, dots, dashes or underscores`, 'e.g. --connection crm=./crm.db', 'BAD_FLAG', 2)
        return [name, path.resolve(rest.join('='))]
      }),
    )
    // The default file root is created (owner-only); one that was named must exist.
    const fileRoot = path.resolve(flags['file-root'] ?? path.join(flags['data-dir'], 'files'))
    if (!flags['file-root']) mkdirSync(fileRoot, {recursive: true, mode: 0o700})
    let logDestination: pino.DestinationStream | undefined
    if (flags['log-file']) {
      const logFile = path.resolve(flags['log-file'])
      let fd: number
      try {
        fd = openSync(logFile, 'a', 0o600)
      } catch (error) {
        throw new InfraError(`--log-file ${logFile} cannot be opened: ${(error as Error).message}`, 'name a file in a folder that exists and is writable', 'BAD_FLAG', 2)
      }
      logDestination = pino.destination({dest: fd, sync: true})
    } else if (process.stdout.isTTY && !this.jsonEnabled()) {
      // A person watching the service reads lines; a container's stdout (no terminal) stays JSON.
      logDestination = readableDestination()
    }
    const tls = readTlsFiles(flags['tls-cert'], flags['tls-key'])
    const service = await startService({
      tls,
      host: flags.host,
      port: flags.port,
      dataDir: path.resolve(flags['data-dir']),
      databaseUrl: flags['database-url'],
      resultsBucket: flags['results-bucket'],
      resultsKmsKey: flags['results-kms-key'],
      resultsInDatabaseBytes: flags['results-in-database'],
      concurrency: flags.concurrency,
      jobTimeoutMs: flags['job-timeout'] * 1000,
      maxAttempts: flags['max-attempts'],
      retentionMs: flags['retention-days'] * 86_400_000,
      maxQueuedPerToken: flags['max-queued-per-token'],
      leaseMs: flags['lease-seconds'] * 1000,
      rateLimitPerSecond: flags['rate-limit'],
      authFailuresPerSecond: flags['auth-failure-limit'],
      trustedProxies: parseTrustedProxies(flags['trusted-proxies']),
      logLevel: flags['log-level'],
      logDestination,
      version: this.config.version,
      otlpEndpoint: flags['otlp-endpoint'],
      drainMs: flags['drain-seconds'] * 1000,
      stopGraceMs: flags['stop-grace-seconds'] * 1000,
      settings: {
        fileRoot,
        connections,
        allowPrivateHttp: flags['allow-private-http'],
        httpTimeoutMs: flags['http-timeout'] * 1000,
        maxResultBytes: flags['max-result-bytes'],
        maxRows: flags['max-rows'],
        s3Buckets: flags['s3-buckets']?.split(',').map((name) => name.trim()).filter(Boolean),
      },
    })
    if (!(await service.store.listTokens()).some((token) => !token.revokedAt)) {
      process.stderr.write(`warning: no live API token: every request will be refused; create one with \`infra service token create --name NAME ${flags['database-url'] ? '--database-url URL' : `--data-dir ${path.resolve(flags['data-dir'])}`}\`
`)
    }
    // With --json, one line on stdout says where it listens, for scripts that start it.
    if (this.jsonEnabled()) process.stdout.write(`${JSON.stringify({url: service.url, pid: process.pid, dataDir: path.resolve(flags['data-dir'])})}\n`)
    else process.stderr.write(`infra service listening on ${service.url}\n`)
    const shutdown = (signal: string) => {
      service.app.log.info({signal, drainSeconds: flags['drain-seconds'], graceSeconds: flags['stop-grace-seconds']}, 'stopping: not ready, no new work, still serving while draining; running jobs finish or go back to the queue')
      service.stop().then(() => process.exit(0), () => process.exit(1))
    }
    // The first stop signal (SIGTERM from Kubernetes, Ctrl-C, SIGHUP from a closed terminal) drains;
    // a second one ends it at once.
    let stopping = false
    onStopSignal((signal) => {
      if (stopping) process.exit(130)
      stopping = true
      shutdown(signal)
    })
    await new Promise(() => {})
  }
}

/** IPv4 or IPv6 CIDRs (or single addresses), comma-separated; anything else is a usage error. */
function parseTrustedProxies(value: string | undefined): string[] | undefined {
  if (!value?.trim()) return undefined
  const list = value.split(',').map((entry) => entry.trim()).filter(Boolean)
  for (const entry of list) {
    const [address, bits, ...rest] = entry.split('/')
    const v4 = /^(\d{1,3})(\.\d{1,3}){3}$/.test(address) && address.split('.').every((part) => Number(part) <= 255)
    const v6 = !v4 && /^[0-9a-f:]+$/i.test(address) && address.includes(':')
    const max = v4 ? 32 : 128
    if ((!v4 && !v6) || rest.length > 0 || (bits !== undefined && !(/^\d{1,3}$/.test(bits) && Number(bits) <= max))) {
      throw new InfraError(`--trusted-proxies ${entry} is not a CIDR`, 'write addresses or CIDRs separated by commas, e.g. 10.1.0.0/24,10.1.1.0/24', 'BAD_FLAG', 2)
    }
  }
  return list
}
