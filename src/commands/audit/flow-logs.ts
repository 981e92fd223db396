import {writeFileSync} from 'node:fs'

import {Flags} from '@oclif/core'

import {findTarget} from '../../estate/load.js'
import {allTargets} from '../../estate/model.js'
import {type FlowAuditReport, auditFlowLogs} from '../../flowlogs/audit.js'
import {renderHtml} from '../../flowlogs/html.js'
import {renderFlowAudit} from '../_lib/render-flow-audit.js'
import {expandFiles, parseTime} from '../../flowlogs/sources.js'
import {InfraCommand, awsFlags} from '../_lib/base-command.js'
import {EXIT, InfraError} from '../../errors.js'

/** passed 0, failed 1, unproven 3: a run that read nothing usable must not look like a pass to a script. */
const EXIT_CODES = {passed: 0, failed: 1, unproven: 3} as const

export default class AuditFlowLogs extends InfraCommand {
  static override summary = 'Prove the isolation promise from flow log configuration and from the records themselves.'
  static override description = `With --env (or every account of the estate when neither --env nor --file is given): checks that every VPC has an ACTIVE flow log of ALL traffic that delivers, in a format the analysis can use; with --since, also reads the delivered records from S3.
With --file: analyzes local flow log files (files, folders or globs, gzip or plain), no AWS needed.
Findings: traffic out through an internet gateway from anything but a NAT gateway, connections started from public addresses and accepted by workloads (who started a connection is decided by TCP flags, then the opposite record, then the ports), interfaces that forward to the internet without being an approved NAT gateway, SSH/RDP, AWS service traffic through NAT instead of endpoints; plus rejects and top talkers.
NAT gateways come from --nat-eni, else /infra/<env>/nat/eni-ids, else DescribeNatGateways, else the records.
Exit codes: 0 passed, 1 a critical finding or configuration gap, 3 unproven (no records, or a log format without the fields a check needs: the report names them and the format to use).`

  static override examples = [
    '<%= config.bin %> audit flow-logs',
    '<%= config.bin %> audit flow-logs --env prod --since 24h',
    '<%= config.bin %> audit flow-logs --env dev --since 2h --from cloudwatch',
    '<%= config.bin %> audit flow-logs --file "logs/**/*.log.gz" --nat-eni eni-0abc --format html --output report.html',
  ]

  static override flags = {
    ...awsFlags,
    env: Flags.string({char: 'e', description: 'environment or client to audit (repeatable; default: all)', multiple: true}),
    file: Flags.string({char: 'f', description: 'local flow log files, folders (their .log and .log.gz files at any depth) or globs, gzip or plain (repeatable)', multiple: true}),
    since: Flags.string({description: 'read S3 records from this time: ISO date/time or a duration like 24h, 7d'}),
    from: Flags.string({description: 'with --since: read records from the S3 evidence bucket or CloudWatch Logs', options: ['s3', 'cloudwatch'], default: 's3'}),
    until: Flags.string({description: 'read S3 records up to this time (default: now)', dependsOn: ['since']}),
    'nat-eni': Flags.string({description: 'interface id of a NAT gateway (repeatable); default: read from the account, else inferred', multiple: true}),
    'log-format': Flags.string({description: 'field order of files without a header line, as in the flow log\'s LogFormat'}),
    format: Flags.string({description: 'output format', options: ['table', 'json', 'html'], default: 'table'}),
    output: Flags.string({char: 'o', description: 'write the report to this file'}),
    top: Flags.integer({description: 'entries in each top list', default: 20, min: 1, max: 1000}),
    parallel: Flags.integer({description: 'worker threads for local files (default: one per core)', min: 1}),
  }

  async run(): Promise<FlowAuditReport> {
    const {flags} = await this.parse(AuditFlowLogs)
    const estate = this.loadEstate(flags.estate)
    const files = flags.file ? expandFiles(flags.file) : []
    const targets = flags.env ? flags.env.map((name) => findTarget(estate, name)) : files.length ? [] : allTargets(estate)
    if (flags.since && targets.length === 0) throw new InfraError('--since reads records from S3 and needs --env', 'add --env NAME, or drop --since to read only --file', 'MISSING_FLAG', EXIT.usage)
    const since = flags.since ? parseTime(flags.since, '--since') : undefined
    const until = flags.until ? parseTime(flags.until, '--until') : undefined
    if (since && until && since > until) throw new InfraError('--since is after --until', 'swap them', 'BAD_TIME', EXIT.usage)
    const report = await auditFlowLogs({
      estate,
      targets: flags.region ? targets.map((target) => ({...target, region: flags.region!})) : targets,
      files,
      logFormat: flags['log-format'],
      natEnis: flags['nat-eni'] ?? [],
      since,
      until,
      recordsFrom: flags.from as 's3' | 'cloudwatch',
      profile: flags.profile,
      topN: flags.top,
      parallel: flags.parallel ?? Math.max(1, (await import('node:os')).availableParallelism()),
    })
    process.exitCode = EXIT_CODES[report.verdict]
    const format = this.jsonEnabled() ? 'json' : flags.format
    const body = format === 'html' ? renderHtml(report) : format === 'json' ? JSON.stringify(report, null, 2) : renderFlowAudit(report)
    if (flags.output) {
      writeFileSync(flags.output, body.endsWith('\n') ? body : `${body}\n`)
      if (!this.jsonEnabled()) this.log(`${report.verdict.toUpperCase()}: report written to ${flags.output}`)
    } else if (!this.jsonEnabled()) this.log(body)
    return report
  }
}
