import type {DeployServiceReport} from '../../deploy/service.js'

/** What `infra deploy service` did, or on a dry run would do, for a person. */
export function renderDeployReport(report: DeployServiceReport): string {
  const lines = [`manifests: ${report.manifests.dir} (${report.manifests.objects.length} objects, schema-valid; policy ${report.audit.passed ? 'passed' : 'failed'})`, `monitoring: ${report.manifests.monitoringDir}`]
  for (const finding of report.audit.findings) lines.push(`  ${finding.severity} ${finding.rule}: ${finding.message}`)
  if (report.mode === 'dry-run') {
    lines.push('would apply:', ...report.manifests.objects.map((o) => `  ${o.object}`), 'would run:', ...report.kubectl.map((argv) => `  ${argv.join(' ')}`))
  } else if (report.skipped === 'declined') {
    lines.push(`Not confirmed: nothing was applied to ${report.environment}.`)
  } else {
    lines.push(`applied to ${report.context}; rollout ${report.rollout}`)
  }
  return lines.join('\n')
}
