import type {AuditReport} from '../../policy/engine.js'
import {SEVERITIES, atLeast} from '../../policy/rule.js'

/**
 * Findings as a person reads them: worst first, each with where, what and the fix. The verdict,
 * the tags and the counts all follow --fail-on: a finding below it is reported as "below
 * --fail-on", never as a failure of an audit that passed.
 */
export function renderAudit(reports: AuditReport[]): string {
  const lines: string[] = []
  for (const report of reports) {
    const findings = [...report.findings].sort((a, b) => SEVERITIES.indexOf(a.severity) - SEVERITIES.indexOf(b.severity))
    lines.push(`${report.source} (${report.kind}, ${report.resources} resources, ${report.rules} rules, fail on ${report.failOn} and above): ${report.passed ? 'PASSED' : 'FAILED'}`)
    for (const finding of findings) {
      const tag =
        finding.status === 'accepted' ? `ACCEPTED ${finding.severity}` : finding.status === 'unproven' ? `unproven ${finding.severity}` : atLeast(finding.severity, report.failOn) ? finding.severity.toUpperCase() : `${finding.severity} (below)`
      lines.push(`  ${tag.padEnd(17)} ${finding.rule}${finding.checkov ? ` (${finding.checkov})` : ''}`)
      lines.push(`  ${''.padEnd(17)} ${finding.message}`)
      lines.push(
        finding.unprovenBy
          ? `  ${''.padEnd(17)} needs a plan: the rule read ${finding.unprovenBy.join(', ')}, not evaluated (below)`
          : finding.exception
            ? `  ${''.padEnd(17)} accepted until ${finding.exception.expires}: ${finding.exception.reason}`
            : `  ${''.padEnd(17)} fix: ${finding.fix}`,
      )
    }
    const count = (severities: readonly string[]) => severities.map((severity) => `${report.summary[severity as keyof typeof report.summary]} ${severity}`).join(', ')
    const failing = SEVERITIES.filter((severity) => atLeast(severity, report.failOn))
    const below = SEVERITIES.filter((severity) => !atLeast(severity, report.failOn))
    // What the rules could not see is named, never passed in silence (exit 3 when nothing failed).
    if (report.notEvaluated.length > 0) {
      const many = report.notEvaluated.length > 1
      lines.push(`  NOT EVALUATED     ${report.notEvaluated.length} attribute${many ? 's need' : ' needs'} a plan (findings that read them are unproven; audit \`terraform show -json\` output to prove them):`)
      for (const entry of report.notEvaluated) lines.push(`  ${''.padEnd(17)} ${entry.address} ${entry.attribute}: ${entry.reason}`)
    }
    lines.push(
      `  failing: ${count(failing)}${below.length ? `; below --fail-on: ${count(below)}` : ''}; accepted: ${report.summary.accepted}${report.summary.unproven ? `; unproven: ${report.summary.unproven}` : ''}${report.notEvaluated.length ? `; not evaluated: ${report.notEvaluated.length}` : ''}`,
      '',
    )
  }
  return lines.join('\n').trimEnd()
}
