import {renderTable} from '../../output/table.js'
import type {FlowAuditReport} from '../../flowlogs/audit.js'
import type {AnalysisResult, FlowFinding} from '../../flowlogs/analyzer.js'

const time = (seconds: number | null) => (seconds === null ? '-' : new Date(seconds * 1000).toISOString().replace('.000Z', 'Z'))

/** "tcp-flags 3, pairing 1 (high)": what decided a finding's records, and how sure it is. */
export function evidenceText(finding: FlowFinding): string {
  return `${Object.entries(finding.evidence)
    .map(([name, count]) => `${name} ${count}`)
    .join(', ')} (${finding.confidence})`
}

/** How the direction of public inbound records was decided, and how much the connection table could not hold. */
function directionText(direction: AnalysisResult['direction']): string {
  const n = (value: number) => value.toLocaleString('en')
  const by = direction.placedBy
  const table = direction.connections
  return (
    `Direction of ${n(direction.records)} public inbound record(s): tcp-flags ${n(by['tcp-flags'])}, pairing ${n(by.pairing)}, port rule ${n(by['port-rule'])}, undecided ${n(by.none)}; ` +
    `connections seen opening ${n(table.opened)}, pushed out of the table ${n(table.evicted)}, too long to hold ${n(table.tooLong)} (table of ${n(table.capacity)})`
  )
}

export function renderFlowAudit(report: FlowAuditReport): string {
  const lines: string[] = []
  for (const config of report.configuration) {
    lines.push(`Configuration of ${config.environment} (account ${config.accountId}): ${config.vpcs.length} VPC(s), ${config.findings.length ? `${config.findings.length} gap(s)` : 'every VPC logs ALL traffic, actively, in a usable format'}`)
    for (const finding of config.findings) lines.push(`  CRITICAL ${finding.vpcId} ${finding.problem}: ${finding.detail}`, `           fix: ${finding.fix}`)
  }
  const records = report.records
  if (records) {
    const c = records.coverage
    if (lines.length) lines.push('')
    lines.push(
      `Records: ${c.records.toLocaleString('en')} read from ${report.sources.files} file(s), ${report.sources.s3Objects} S3 object(s) and ${report.sources.cloudwatchEvents} CloudWatch event(s), ${time(c.firstSeen)} to ${time(c.lastSeen)}`,
      `Coverage gaps: ${c.nodata} NODATA, ${c.skipdata} SKIPDATA; ${c.malformed} malformed line(s) skipped`,
      `NAT gateway interfaces: ${records.natInterfaces.map((n) => `${n.interfaceId} (${n.source})`).join(', ') || 'none known (pass --nat-eni)'}`,
      directionText(records.direction),
      `Checks: ${records.checks.map((check) => `${check.id} ${check.status === 'not-run' ? 'not run (no record)' : check.status}${check.missing.length ? ` (lacks ${check.missing.join(', ')})` : ''}`).join('; ')}`,
      ...records.warnings.map((warning) => `WARNING: ${warning}`),
      '',
    )
    if (records.findings.length === 0) lines.push('No findings.')
    else {
      lines.push(
        renderTable(
          ['SEVERITY', 'FINDING', 'RECORDS', 'BYTES', 'FIRST SEEN', 'LAST SEEN', 'EVIDENCE', 'INTERFACES'],
          records.findings.map((f) => [f.severity.toUpperCase(), f.id, f.count, f.bytes, time(f.firstSeen), time(f.lastSeen), evidenceText(f), f.interfaces.slice(0, 3).map((i) => i.interfaceId + (i.instanceId ? ` (${i.instanceId})` : '')).join(' ')]),
        ),
      )
      for (const finding of records.findings.filter((f) => f.severity !== 'info')) lines.push(`  ${finding.id}: ${finding.title}; fix: ${finding.fix}`)
    }
    const top = (title: string, rows: {key: string; count: number}[]) => {
      if (rows.length === 0) return
      lines.push('', title, renderTable(['FLOW', 'TOTAL'], rows.slice(0, 10).map((row) => [row.key, row.count])))
    }
    top('Top talkers by bytes', records.topTalkersByBytes)
    top('Rejected (source -> destination:port/protocol)', records.rejected)
  }
  lines.push('')
  if (report.verdict === 'passed') lines.push('PASSED: the isolation promise holds in what was read.')
  else if (report.verdict === 'failed') lines.push('FAILED: see the critical findings above.')
  else {
    const unproven = records?.unproven
    lines.push('UNPROVEN: what was read cannot show that the isolation promise holds.')
    for (const reason of unproven?.reasons ?? []) lines.push(`  - ${reason}`)
    if (unproven?.reasons.some((reason) => reason.includes('--log-format'))) lines.push("  fix: pass --log-format with the flow log's LogFormat (files without a header line are read in the default version 2 format)")
    else if (unproven?.missingFields.length) lines.push(`  fix: deliver flow logs in a custom format with every field through version 5 (as infra provision creates): ${unproven.logFormat}`)
    else lines.push('  fix: check the --file paths or the --since/--until range, and that the flow log delivers (infra audit flow-logs --env NAME)')
  }
  return lines.join('\n')
}
