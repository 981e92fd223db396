import {type Estate} from '../../estate/model.js'
import {type FleetPlanRow, type FleetQuestion, type FleetReport, partialFleetReport, provisionFleet, selectClients} from '../../onboarding/fleet.js'
import type {EnvironmentSpec} from '../../estate/model.js'
import {colourOn, showPaged} from '../../output/pager.js'
import {renderStackPlan} from './render-provision.js'
import {renderTable} from '../../output/table.js'
import {confirmChange, confirmableWithoutAsking} from '../../prompts/interaction.js'
import {EXIT, InfraError} from '../../errors.js'
import {RULES} from '../../policy/rules.js'

export interface FleetCommandInput {
  estate: Estate
  selector: string
  parallel: number
  dryRun: boolean
  yes: boolean
  workDir: string
  profile?: string
  validate: boolean
  terraform: {binary?: string; pluginMirror?: string; timeoutMs: number}
  acceptedRisks: {rule: string; reason: string}[]
  /** --confirm: the protected clients' names (comma-separated), for runs with no terminal. */
  confirmName?: string
  json: boolean
  interactive: boolean
  log: (text: string) => void
}

/** `infra provision --clients ...`: the fleet run, its one question and its report. */
export async function provisionClients(input: FleetCommandInput): Promise<FleetReport> {
  const clients = selectClients(input.estate, input.selector)
  const unknownRule = input.acceptedRisks.find((risk) => !RULES.some((known) => known.id === risk.rule))
  if (unknownRule) throw new InfraError(`--accept-risk ${unknownRule.rule} is not a rule`, 'see `infra audit stacks --env NAME` for rule ids', 'UNKNOWN_RULE')
  if (input.acceptedRisks.some((risk) => risk.reason.length < 10)) {
    throw new InfraError('--reason is too short to record', 'say why the risk is accepted, in 10 characters or more', 'REASON_REQUIRED', EXIT.usage)
  }
  if (!input.dryRun) refuseUnconfirmableFleet(clients, input)
  const report = await provisionFleet({
    estate: input.estate,
    clients,
    mode: input.dryRun ? 'dry-run' : 'apply',
    parallel: input.parallel,
    workDir: input.workDir,
    renderer: input.json ? 'silent' : 'simple',
    provision: {validate: input.validate, profile: input.profile, terraform: input.terraform, acceptedRisks: input.acceptedRisks},
    approve: async (question) => {
      if (!input.json) await showFleetQuestion(question, input)
      const changing = question.stacks.map(({client}) => client)
      // Protected clients with changes are named, typed at the prompt or given with --confirm.
      const names = changing.filter((client) => client.protected).map((client) => client.name)
      const typeToConfirm = names.length > 0 ? names.join(',') : undefined
      return confirmChange({
        action: `apply the changes shown to ${changing.length} client(s): ${question.stacks.map(({stack}) => stack.name).join(', ')}`,
        typeToConfirm,
        confirmName: typeToConfirm && input.confirmName !== undefined && names.every((name) => confirmedNames(input.confirmName).includes(name)) ? typeToConfirm : input.confirmName,
        yes: input.yes,
        interactive: input.interactive,
      })
    },
  }).catch((error: unknown) => {
    // A later question failed: what earlier rounds applied is shown before the error (--json: in its details).
    const partial = partialFleetReport(error)
    if (partial && !input.json) input.log(`\n${renderFleetReport(partial)}`)
    throw error
  })
  if (!input.json) input.log(`\n${renderFleetReport(report)}`)
  if (report.failed > 0) process.exitCode = 1
  // A "no" to a question: what it covered was not applied, as for a single target (exit 4).
  else if (report.clients.some((client) => client.status === 'declined')) process.exitCode = EXIT.declined
  return report
}

/** --confirm's names: a comma-separated list, in any order. */
function confirmedNames(value: string | undefined): string[] {
  return (value ?? '').split(',').map((name) => name.trim()).filter(Boolean)
}

/**
 * Before any AWS call: without a terminal the run needs --yes, and every selected protected client
 * named in --confirm (whether it has changes is known only after planning, and planning is work).
 */
function refuseUnconfirmableFleet(clients: EnvironmentSpec[], input: FleetCommandInput): void {
  const names = clients.filter((client) => client.protected).map((client) => client.name)
  const given = confirmedNames(input.confirmName)
  const stray = given.filter((name) => !clients.some((client) => client.name === name))
  if (stray.length > 0) {
    throw new InfraError(`--confirm ${stray.join(',')} names no selected client; nothing was planned`, `pass --confirm with the protected clients' names: ${names.join(',') || '(none selected)'}`, 'CONFIRMATION_REFUSED', EXIT.declined)
  }
  confirmableWithoutAsking({
    action: `apply changes to ${clients.length} client(s): ${clients.map((client) => client.name).join(', ')}`,
    typeToConfirm: names.length > 0 ? names.join(',') : undefined,
    confirmName: names.length > 0 && names.every((name) => given.includes(name)) ? names.join(',') : (input.confirmName ?? undefined),
    yes: input.yes,
    interactive: input.interactive,
    seePlan: `see every change first with \`infra provision --env CLIENT --plan-only\` for each client, or run at a terminal`,
  })
}

/** One question's plan: the summary table, then every stack it covers with all its changes. */
async function showFleetQuestion(question: FleetQuestion, input: FleetCommandInput): Promise<void> {
  const heading = question.round === 1 ? '' : `Planned now that the stacks they depend on are applied (question ${question.round}):\n`
  const colour = colourOn()
  const plans = question.stacks.map(({client, stack}) => `${client.name} (account ${client.accountId}${client.protected ? ', protected' : ''})\n${renderStackPlan(stack, {colour})}`)
  const text = `\n${heading}${renderFleetPlan(question.rows)}\n\n${plans.join('\n\n')}\n`
  if (input.interactive) await showPaged(text)
  else input.log(text)
}

export function renderFleetPlan(plan: FleetPlanRow[]): string {
  return renderTable(
    ['CLIENT', 'ACCOUNT', 'STACK', 'CREATE', 'UPDATE', 'REPLACE', 'DESTROY', 'FINDINGS (C/H/M/L)', 'PLAN'],
    plan.map((row) => [
      row.client,
      row.accountId,
      row.stack ?? undefined,
      row.create,
      row.update,
      row.replace,
      row.delete,
      `${row.findings.critical}/${row.findings.high}/${row.findings.medium}/${row.findings.low}`,
      row.state === 'failed' ? `failed: ${row.error}` : row.state,
    ]),
  )
}

export function renderFleetReport(report: FleetReport): string {
  const rows = report.clients.map((result) => [
    result.client,
    result.accountId,
    result.status === 'declined' && result.applied.length > 0 ? `declined after applying ${result.applied.join(', ')}` : result.status,
    result.baseline ? `${result.baseline.infraVersion} ${result.baseline.fingerprint}` : undefined,
    result.error ? `${result.error.message}${result.error.fix ? `: ${result.error.fix}` : ''}` : undefined,
  ])
  const declined = report.clients.filter((result) => result.status === 'declined').length
  const summary =
    report.failed > 0
      ? `${report.failed} of ${report.clients.length} client(s) failed`
      : declined > 0
        ? `${declined} of ${report.clients.length} client(s) declined: not every change shown was applied`
        : `all ${report.clients.length} client(s) done`
  return `${renderTable(['CLIENT', 'ACCOUNT', 'RESULT', 'BASELINE', 'ERROR'], rows)}\n\n${summary}`
}
