import {renderTable} from '../../output/table.js'
import type {OffboardReport, OffboardTarget} from '../../onboarding/offboard.js'
import type {OnboardReport} from '../../onboarding/onboard.js'
import type {OnboardPlan} from '../../onboarding/onboard-plan.js'

/** The whole onboarding as a person reviews it before saying yes. */
export function renderOnboardPlan(plan: OnboardPlan): string {
  const {request} = plan
  const rows: [string, string][] = [
    ['client', request.name],
    ['root e-mail', request.email],
    ['organizational unit', request.organizationalUnit],
    ['region', request.region],
    ['VPC CIDR', `${request.vpcCidr}${plan.pool ? ` (pool ${plan.pool.cidr}: ${plan.pool.remainingAfter} block(s) left after this one)` : ''}`],
    ['sizing', request.sizing],
    ['access role', plan.roleName],
    ...(request.omitLayers?.length ? [['layers left out', request.omitLayers.join(', ')] as [string, string]] : []),
    ['tags', Object.entries(plan.tags).map(([key, value]) => `${key}=${value}`).join(', ')],
    ['estate file', `${plan.estateFile} (${plan.estateEntry === 'new' ? 'new entry' : plan.estateEntry === 'pending' ? 'pending entry, resumed' : 'already recorded'})`],
    ['journal', plan.journal],
  ]
  const lines = [`Onboarding plan for client ${request.name}`, '', ...rows.map(([key, value]) => `  ${key.padEnd(20)} ${value}`)]
  if (plan.resume && (plan.resume.createAccountRequestId || plan.resume.accountId || plan.resume.lastFailure)) {
    const parts = [
      plan.resume.accountId ? `account ${plan.resume.accountId}` : undefined,
      plan.resume.createAccountRequestId && !plan.resume.accountId ? `CreateAccount request ${plan.resume.createAccountRequestId} (polled again, never re-sent)` : undefined,
      plan.resume.lastFailure ? `last run failed at ${plan.resume.lastFailure.step}: ${plan.resume.lastFailure.message}` : undefined,
    ].filter(Boolean)
    lines.push('', `  Resuming: ${parts.join('; ')}`)
  }
  lines.push('', 'Steps (each checks what exists first and is safe to run again):', ...plan.steps.map(({title}, index) => `  ${index + 1}. ${title}`))
  return lines.join('\n')
}

export function renderOnboardReport(report: OnboardReport): string {
  const lines = [
    `Client ${report.client}: account ${report.accountId} in ${report.organizationalUnit.path}, ${report.vpcCidr} in ${report.region}${report.changed ? '' : ' (nothing to change: already onboarded)'}`,
    '',
    renderTable(['STEP', 'RESULT', 'DETAIL'], report.steps.map((step) => [step.step, step.outcome, step.detail])),
  ]
  if (report.baseline) lines.push('', `Baseline ${report.baseline.infraVersion} (${report.baseline.fingerprint}) applied ${report.baseline.appliedAt}`)
  else if (!report.provision) lines.push('', `Baseline not provisioned: run \`infra provision --env ${report.client}\` when ready.`)
  return lines.join('\n')
}

/** What offboarding will do, shown before the client's name is typed. */
export function renderOffboardPlan(target: OffboardTarget, options: {destroy: boolean; closeAccount: boolean; estateFile: string}): string {
  const account = target.accountId ? ` (account ${target.accountId}${target.accountName ? `, "${target.accountName}"` : ''}, ${target.accountStatus})` : ' (no account yet)'
  return [
    `Offboarding client ${target.name}${account}:`,
    `  ${options.destroy && target.recorded ? 'destroy its stacks (the state bucket is kept)' : 'keep its stacks'}`,
    `  remove it from ${options.estateFile}`,
    `  ${options.closeAccount && target.accountId ? 'CLOSE its AWS account' : 'leave its AWS account open'}`,
  ].join('\n')
}

export function renderOffboardReport(report: OffboardReport): string {
  const stacks = report.destroyed
    ? `stacks destroyed (${report.destroyed.stacks.filter((stack) => stack.applied).map((stack) => stack.name).join(', ') || 'nothing to destroy'})`
    : `stacks not destroyed (${report.destroySkipped})`
  const lines = [`Client ${report.client} offboarded: ${stacks}; ${report.removedFromEstate ? 'removed from the estate' : 'was not in the estate'}.`]
  if (report.accountClosed) lines.push(`Account ${report.accountId} is closing (suspended for 90 days, then closed).`)
  if (report.closeAccountHint) lines.push(report.closeAccountHint)
  if (report.unresolvedInterruptedApplies.length > 0) {
    lines.push(
      `Interrupted applies left ${report.unresolvedInterruptedApplies.length} create(s) the destroy could not remove (not in the state); check them by hand in account ${report.accountId}:`,
      ...report.unresolvedInterruptedApplies.map((call) => `  ${call.stack}: ${call.address} (interrupted ${call.interruptedAt ?? 'earlier'})`),
    )
  }
  return lines.join('\n')
}
