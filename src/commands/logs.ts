import path from 'node:path'

import {Flags} from '@oclif/core'

import {findTarget} from '../estate/load.js'
import {InfraError} from '../errors.js'
import {parseTime} from '../flowlogs/sources.js'
import {checkQuery} from '../logs/query.js'
import type {LogLine} from '../logs/read.js'
import {type LogSource, serviceLogs} from '../logs/service-logs.js'
import {logLineFormatter} from '../output/log-lines.js'
import {stopController} from '../signals.js'
import {InfraCommand, awsFlags} from './_lib/base-command.js'

const jsonLine = (line: LogLine) => ({timestamp: new Date(line.timestamp).toISOString(), source: line.source, message: line.message})

export default class Logs extends InfraCommand {
  static override summary = 'Print one job\'s or one request\'s service log lines, across replicas, in time order (CloudWatch Logs, or a local log file).'
  static override description = `With --env: reads the environment's service log group (/infra/<env>/service/log-group, else /infra/<env>/service) with a filter on the JSON fields job_id/jobId or request_id/reqId, all pages.
With --file: reads a log file of the embedded service (infra service start --log-file FILE), no AWS.
--follow keeps polling for new lines until Ctrl-C. With --json: {"from", "lines": [{timestamp, source, message}]}; with --follow, one such line object per output line.`

  static override examples = [
    '<%= config.bin %> logs --env dev --job 3f2a9c1e-5b7d-4e21-9a0c-1d2e3f4a5b6c',
    '<%= config.bin %> logs --env prod --request req-7f3a9c1e --since 2h',
    '<%= config.bin %> logs --file ~/.infra/service/service.log --job 3f2a9c1e-5b7d-4e21-9a0c-1d2e3f4a5b6c',
  ]

  static override flags = {
    ...awsFlags,
    env: Flags.string({char: 'e', description: 'environment whose CloudWatch Logs group to read', exactlyOne: ['env', 'file']}),
    file: Flags.string({char: 'f', description: 'local log file of the embedded service (no AWS)', exactlyOne: ['env', 'file']}),
    job: Flags.string({description: 'job id: its lines (job_id or jobId)'}),
    request: Flags.string({description: 'request id: its lines (request_id or reqId; the x-request-id header)'}),
    since: Flags.string({description: 'from this time: ISO date/time or a duration like 30m, 2h, 7d (default: the whole retention)'}),
    until: Flags.string({description: 'up to this time (default: now)'}),
    follow: Flags.boolean({description: 'keep printing new lines until Ctrl-C'}),
    interval: Flags.integer({description: 'with --follow: seconds between polls', default: 2, min: 1, max: 60}),
    'log-group': Flags.string({description: 'with --env: read this log group instead of the one the stacks published'}),
  }

  async run(): Promise<{from: string; lines: ReturnType<typeof jsonLine>[]} | undefined> {
    const {flags} = await this.parse(Logs)
    const query = {jobId: flags.job, requestId: flags.request}
    checkQuery(query)
    const window = {since: flags.since ? parseTime(flags.since, '--since') : undefined, until: flags.until ? parseTime(flags.until, '--until') : undefined}
    if (window.since && window.until && window.since > window.until) throw new InfraError('--since is after --until', 'swap them', 'BAD_TIME', 2)
    if (flags.follow && flags.until) throw new InfraError('--follow reads until Ctrl-C and takes no --until', 'drop --until or --follow', 'BAD_FLAG', 2)
    if (flags['log-group'] && !flags.env) throw new InfraError('--log-group reads CloudWatch Logs and needs --env', 'add --env NAME', 'MISSING_FLAG', 2)
    let source: LogSource
    if (flags.file) {
      source = {kind: 'file', file: path.resolve(flags.file)}
    } else {
      const estate = this.loadEstate(flags.estate)
      const target = findTarget(estate, flags.env!)
      source = {
        kind: 'cloudwatch',
        envName: target.name,
        logGroupName: flags['log-group'],
        access: {estate, target: flags.region ? {...target, region: flags.region} : target, profile: flags.profile, purpose: 'logs'},
      }
    }
    // At a terminal the JSON lines are shown readable; piped they stay JSON, one per line.
    const readable = process.stdout.isTTY ? logLineFormatter() : (message: string) => `${message}\n`
    const print = (line: LogLine) => process.stdout.write(this.jsonEnabled() ? `${JSON.stringify(jsonLine(line))}\n` : readable(line.message))
    if (flags.follow) {
      const stop = stopController()
      try {
        await serviceLogs({source, query, window, follow: {intervalMs: flags.interval * 1000, signal: stop.signal, onLine: print}})
      } finally {
        stop.dispose()
      }
      return undefined
    }
    const result = await serviceLogs({source, query, window})
    if (this.jsonEnabled()) return {from: result.from, lines: result.lines.map(jsonLine)}
    for (const line of result.lines) print(line)
    if (result.lines.length === 0) process.stderr.write(`no matching lines in ${result.from}${result.foundBy ? ` (found by ${result.foundBy})` : ''}\n`)
    return undefined
  }
}
