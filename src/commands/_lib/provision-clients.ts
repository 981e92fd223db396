import {type Estate} from '../../estate/model.js'
import {type FleetPlanRow, type FleetReport, provisionFleet, selectClients} from '../../onboarding/fleet.js'
import {renderTable} from '../../output/table.js'
import {confirmChange} from '../../prompts/interaction.js'
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
  const report = await provisionFleet({
    estate: input.estate,
    clients,
    mode: input.dryRun ? 'dry-run' : 'apply',
    parallel: input.parallel,
    workDir: input.workDir,
    renderer: input.json ? 'silent' : 'simple',
    provision: {validate: input.validate, profile: input.profile, terraform: input.terraform, acceptedRisks: input.acceptedRisks},
    approve: async (plan) => {
      if (!input.json) input.log(`\n${renderFleetPlan(plan)}\n`)
      const changing = plan.filter((row) => row.state === 'changes')
      const protectedOnes = changing.filter((row) => clients.find((client) => client.name === row.client)?.protected)
      return confirmChange({
        action: `apply changes to ${changing.length} client(s): ${changing.map((row) => row.client).join(', ')}`,
        typeToConfirm: protectedOnes.length > 0 ? input.selector : undefined,
        yes: input.yes,
        interactive: input.interactive,
      })
    },
  })
  if (!input.json) input.log(`\n${renderFleetReport(report)}`)
  if (report.failed > 0) process.exitCode = 1
  return report
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
    result.status,
    result.baseline ? `${result.baseline.infraVersion} ${result.baseline.fingerprint}` : undefined,
    result.error ? `${result.error.message}${result.error.fix ? `: ${result.error.fix}` : ''}` : undefined,
  ])
  const summary = report.failed > 0 ? `${report.failed} of ${report.clients.length} client(s) failed` : `all ${report.clients.length} client(s) done`
  return `${renderTable(['CLIENT', 'ACCOUNT', 'RESULT', 'BASELINE', 'ERROR'], rows)}\n\n${summary}`
}
