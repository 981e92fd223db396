import {mkdirSync, openSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import {Flags} from '@oclif/core'
import pino from 'pino'

import {readableDestination} from '../../output/log-lines.js'
import {ServiceCommand} from '../_lib/base-command.js'
import {InfraError} from '../../errors.js'
import {startService} from '../../service/server.js'

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
    'http-timeout': Flags.integer({description: 'seconds one http source request may take', default: 30, min: 1}),
    'lease-seconds': Flags.integer({description: 'how long a running job stays claimed without a heartbeat; after a crash it is requeued then', default: 15, min: 1, hidden: true}),
    'max-attempts': Flags.integer({description: 'attempts per job before it fails', default: 3, min: 1, max: 10}),
    'file-root': Flags.string({description: 'folder the file source may read', env: 'INFRA_SERVICE_FILE_ROOT'}),
    connection: Flags.string({description: 'database connection for the database source, NAME=sqlite-file (repeatable)', multiple: true}),
    'allow-private-http': Flags.boolean({description: 'let the http source reach private and metadata addresses'}),
    'log-level': Flags.string({options: ['fatal', 'error', 'warn', 'info', 'debug', 'silent'], default: 'info', env: 'INFRA_SERVICE_LOG_LEVEL'}),
    'otlp-endpoint': Flags.string({description: 'send OpenTelemetry traces to this OTLP/HTTP collector (base URL, e.g. http://otel-collector:4318); the OTEL_* variables work too; off without either', helpValue: 'URL'}),
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
    const service = await startService({
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
      leaseMs: flags['lease-seconds'] * 1000,
      rateLimitPerSecond: flags['rate-limit'],
      authFailuresPerSecond: flags['auth-failure-limit'],
      logLevel: flags['log-level'],
      logDestination,
      version: this.config.version,
      otlpEndpoint: flags['otlp-endpoint'],
      settings: {
        fileRoot,
        connections,
        allowPrivateHttp: flags['allow-private-http'],
        httpTimeoutMs: flags['http-timeout'] * 1000,
        maxResultBytes: flags['max-result-bytes'],
        maxRows: flags['max-rows'],
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
      service.app.log.info({signal}, 'stopping: no new work; running jobs finish or go back to the queue')
      service.stop().then(() => process.exit(0), () => process.exit(1))
    }
    process.once('SIGTERM', () => shutdown('SIGTERM'))
    process.once('SIGINT', () => shutdown('SIGINT'))
    await new Promise(() => {})
  }
}
