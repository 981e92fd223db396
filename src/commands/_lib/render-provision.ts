import {createColors} from 'picocolors'

import {renderTable} from '../../output/table.js'
import type {ProvisionReport, StackReport} from '../../provision/provision.js'

const SIGNS = {create: '+', update: '~', replace: '-/+', delete: '-', import: '<='} as const

/** How a plan is drawn: colours only at a terminal (never piped, never with NO_COLOR). */
export interface PlanStyle {
  colour: boolean
}

type Paint = (text: string) => string

/**
 * The plan of one stack as a person reviews it, modelled on terraform's own: the counts, then every
 * resource to create, update, replace or destroy in terraform's order, with each attribute an update
 * or a replacement changes (`# forces replacement` where it is why), the reason for a replacement or
 * a deletion, sensitive values masked and unknown ones "(known after apply)".
 */
export function renderStackPlan(stack: StackReport, style: PlanStyle = {colour: false}): string {
  const plan = stack.plan
  if (!plan) return `${stack.name}: not planned`
  const pc = createColors(style.colour)
  const paint: Record<keyof typeof SIGNS, Paint> = {create: pc.green, update: pc.yellow, replace: pc.magenta, delete: pc.red, import: pc.cyan}
  const lines = [pc.bold(`${stack.name}: ${plan.create} to create, ${plan.update} to update, ${plan.replace} to replace, ${plan.delete} to destroy${plan.import ? `, ${plan.import} to import` : ''}`)]
  for (const entry of stack.abandoned ?? []) {
    const when = entry.interruptedAt ? `the apply interrupted at ${entry.interruptedAt}` : '--adopt'
    if (entry.outcome === 'import') lines.push(`  Adopted from ${when}: ${entry.address} exists in AWS as ${entry.id} and is imported, not created again`)
    else if (entry.outcome === 'not-created') lines.push(entry.interruptedAt ? `  Not made by ${when}: ${entry.address} is created` : `  Nothing to adopt for --adopt: ${entry.address} does not exist in AWS and is created`)
    // check-by-hand comes only from an interruption: --adopt refuses what is not found by name.
    else lines.push(`  Check by hand: ${entry.address} was being created when an apply was interrupted at ${entry.interruptedAt}; AWS names it, so if AWS made it, it is a duplicate outside the state: find it by its tags and delete it`)
  }
  for (const change of plan.changes) {
    if (change.action === 'no-op' || change.action === 'read') continue
    const sign = paint[change.action](SIGNS[change.action].padStart(3))
    const notes = [
      change.importing === undefined ? undefined : `import ${change.importing}`,
      change.action === 'replace' ? `replaced${change.reason ? `: ${change.reason}` : ''}; data in it is lost` : undefined,
      change.action === 'delete' ? `destroyed${change.reason ? `: ${change.reason}` : ''}; data in it is lost` : undefined,
    ].filter(Boolean)
    lines.push(`  ${sign} ${change.address}${notes.length > 0 ? pc.dim(`  (${notes.join('; ')})`) : ''}`)
    for (const attribute of change.attributes ?? []) {
      const values = attribute.before === undefined ? `${attribute.after}` : attribute.after === undefined ? `${attribute.before} -> null` : `${attribute.before} -> ${attribute.after}`
      const mark = attribute.before === undefined ? pc.green('+') : attribute.after === undefined ? pc.red('-') : pc.yellow('~')
      lines.push(`        ${mark} ${attribute.path}: ${values}${attribute.forcesReplacement ? pc.red(' # forces replacement') : ''}`)
    }
  }
  return lines.join('\n')
}

/** Every planned stack's changes, grouped by stack (the stacks with nothing to change in one line). */
export function renderPlans(stacks: StackReport[], style: PlanStyle = {colour: false}): string {
  const planned = stacks.filter((stack) => stack.plan)
  const quiet = planned.filter((stack) => stack.plan!.changes.length === 0).map((stack) => stack.name)
  const blocks = planned.filter((stack) => stack.plan!.changes.length > 0).map((stack) => renderStackPlan(stack, style))
  if (quiet.length > 0) blocks.push(`No changes: ${quiet.join(', ')}`)
  return blocks.join('\n\n')
}

/** The security gate's verdict over every stack: synthesized, and each saved plan that was audited. */
function renderAuditVerdict(report: ProvisionReport): string | undefined {
  const audits = report.stacks.flatMap((stack) => [stack.audit.synthesized, stack.audit.plan]).filter((audit) => audit !== undefined)
  if (audits.length === 0) return undefined
  const total = {critical: 0, high: 0, medium: 0, low: 0, accepted: 0}
  for (const audit of audits) for (const key of Object.keys(total) as (keyof typeof total)[]) total[key] += audit.summary[key] ?? 0
  const planned = report.stacks.filter((stack) => stack.audit.plan).length
  const scope = `${report.stacks.length} synthesized stack${report.stacks.length === 1 ? '' : 's'}${planned > 0 ? ` and ${planned} saved plan${planned === 1 ? '' : 's'}` : ''}`
  const verdict = audits.every((audit) => audit.passed) ? 'PASSED' : 'FAILED'
  return `Security audit: ${verdict} on ${scope} (critical ${total.critical}, high ${total.high}, medium ${total.medium}, low ${total.low}, accepted ${total.accepted})`
}

export function renderProvisionReport(report: ProvisionReport): string {
  const header = `${report.mode === 'dry-run' ? 'Dry run of' : report.mode === 'destroy' ? 'Destroy of' : report.mode === 'plan' ? 'Plan (for review, nothing applied) of' : 'Provision of'} ${report.environment} (account ${report.accountId}, ${report.region}); synthesized in ${report.synthMs} ms${report.validated ? ', terraform validate passed' : ''}`
  const rows = report.stacks.map((stack) => [
    stack.name,
    stack.resources.total,
    stack.plan ? `+${stack.plan.create} ~${stack.plan.update} -/+${stack.plan.replace} -${stack.plan.delete}${stack.plan.import ? ` import ${stack.plan.import}` : ''}` : undefined,
    stack.applied ? 'applied' : (stack.skipped ?? 'not applied'),
  ])
  if (report.nothingToDestroy) {
    return `${header}\n\nNothing to destroy: ${report.environment} was never applied (its state bucket ${report.nothingToDestroy.stateBucket} does not exist in account ${report.accountId}).`
  }
  const lines = [header, '', renderTable(['STACK', 'RESOURCES', 'PLAN', 'RESULT'], rows)]
  const audit = renderAuditVerdict(report)
  if (audit) lines.push('', audit)
  if (report.mode === 'dry-run') {
    const byType = new Map<string, number>()
    for (const stack of report.stacks) for (const [type, count] of Object.entries(stack.resources.byType)) byType.set(type, (byType.get(type) ?? 0) + count)
    lines.push('', 'Would create:', renderTable(['RESOURCE TYPE', 'COUNT'], [...byType].sort(([a], [b]) => a.localeCompare(b))))
  }
  lines.push('', `Synthesized stacks: ${report.outputDir}`)
  const k8s = report.serviceManifests
  if (k8s) {
    lines.push(`Service manifests: ${k8s.dir} (${k8s.objects} objects; Kubernetes rules ${k8s.audit.passed ? 'PASSED' : 'FAILED'}: high ${k8s.audit.summary.high}, medium ${k8s.audit.summary.medium})`)
    lines.push(`  placeholders until \`infra deploy service\` fills them in: ${k8s.placeholders.map((p) => `${p.field} (${p.from})`).join(', ')}`)
  }
  if (report.planDir) lines.push(report.mode === 'plan' ? `Saved plans for review: ${report.planDir}` : `Applied the reviewed plans in ${report.planDir}`)
  // Each saved plan, with the command that shows it again in terraform's own words.
  for (const stack of report.stacks) if (stack.savedPlan) lines.push(`  ${stack.name}: terraform -chdir=${stack.directory} show ${stack.savedPlan}`)
  if (report.acceptedRisksLog) lines.push(`Accepted risks recorded in: ${report.acceptedRisksLog}`)
  return lines.join('\n')
}

/** The report as GitHub-flavoured markdown, for a pipeline's job summary. */
export function renderProvisionMarkdown(report: ProvisionReport): string {
  const verb = {'dry-run': 'Dry run', plan: 'Plan', apply: 'Apply', destroy: 'Destroy'}[report.mode]
  const lines = [
    `### ${verb} of ${report.environment} (account ${report.accountId}, ${report.region})`,
    '',
    '| stack | create | update | replace | destroy | policy gate | result |',
    '| --- | ---: | ---: | ---: | ---: | --- | --- |',
  ]
  for (const stack of report.stacks) {
    const plan = stack.plan
    const audit = stack.audit.plan ?? stack.audit.synthesized
    const gate = audit ? `${audit.passed ? 'passed' : 'FAILED'} (${audit.summary.critical} critical, ${audit.summary.high} high, ${audit.summary.medium} medium${audit.accepted.length ? `, ${audit.accepted.length} accepted` : ''})` : '-'
    const cells = plan ? [plan.create, plan.update, plan.replace, plan.delete] : ['-', '-', '-', '-']
    lines.push(`| ${stack.name} | ${cells.join(' | ')} | ${gate} | ${stack.applied ? 'applied' : (stack.skipped ?? 'not applied')} |`)
  }
  const risky = report.stacks.flatMap((stack) => (stack.plan?.changes ?? []).filter((c) => c.action === 'replace' || c.action === 'delete').map((c) => `- \`${c.action}\` ${stack.name}: \`${c.address}\``))
  if (risky.length) lines.push('', '**Replaced or destroyed (data in these is lost):**', '', ...risky)
  return `${lines.join('\n')}\n\n`
}
