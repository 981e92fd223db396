import type {AuditReport} from '../../policy/engine.js'

/** Findings as a person reads them: worst first, each with where, what and the fix. */
export function renderAudit(reports: AuditReport[]): string {
  const lines: string[] = []
  for (const report of reports) {
    const order = ['critical', 'high', 'medium', 'low']
    const findings = [...report.findings].sort((a, b) => order.indexOf(a.severity) - order.indexOf(b.severity))
    lines.push(`${report.source} (${report.kind}, ${report.resources} resources, ${report.rules} rules): ${report.passed ? 'PASSED' : 'FAILED'}`)
    for (const finding of findings) {
      const tag = finding.status === 'accepted' ? `ACCEPTED ${finding.severity}` : finding.severity.toUpperCase()
      lines.push(`  ${tag.padEnd(17)} ${finding.rule}${finding.checkov ? ` (${finding.checkov})` : ''}`)
      lines.push(`  ${''.padEnd(17)} ${finding.message}`)
      lines.push(
        finding.exception
          ? `  ${''.padEnd(17)} accepted until ${finding.exception.expires}: ${finding.exception.reason}`
          : `  ${''.padEnd(17)} fix: ${finding.fix}`,
      )
    }
    const {critical, high, medium, low, accepted} = report.summary
    lines.push(`  ${critical} critical, ${high} high, ${medium} medium, ${low} low failed; ${accepted} accepted`, '')
  }
  return lines.join('\n').trimEnd()
}
