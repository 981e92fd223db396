import {appendFileSync} from 'node:fs'
import path from 'node:path'

import {Flags} from '@oclif/core'

import {findTarget} from '../estate/load.js'
import {InfraCommand, awsFlags, terraformFlags, terraformOptions} from './_lib/base-command.js'
import {EXIT, InfraError} from '../errors.js'
import {RULES} from '../policy/rules.js'
import {renderPlans, renderProvisionMarkdown, renderProvisionReport} from './_lib/render-provision.js'
import {type StackGuard, confirmStack, refuseUnconfirmable} from './_lib/provision-guard.js'
import {colourOn, showPaged} from '../output/pager.js'
import {type ProvisionMode, type ProvisionReport, provision} from '../provision/provision.js'
import {CONFIRMATION_EXIT_CODE, requireChoice} from '../prompts/interaction.js'
import {environmentChoices} from './_lib/choices.js'
import type {FleetReport} from '../onboarding/fleet.js'
import {provisionClients} from './_lib/provision-clients.js'

export default class Provision extends InfraCommand {
  static override summary = 'Build an environment\'s private estate: synthesize, plan, confirm, apply.'
  static override description = `Synthesizes the environment's CDKTF stacks in-process, then for each stack in dependency order runs terraform init, plans to a saved plan file, shows what will change, asks for confirmation and applies exactly that plan.

Protected environments (prod) and every --destroy need the target's name typed to confirm; without a terminal, --yes --confirm NAME. Otherwise, without a terminal, --yes is required. A refused or declined confirmation exits 4 with nothing applied.
--dry-run needs no AWS account: it synthesizes, runs terraform validate, and lists what would be created.`

  static override examples = [
    '<%= config.bin %> provision --env dev --dry-run',
    '<%= config.bin %> provision --env prod',
    '<%= config.bin %> provision --env test --yes --json',
    '<%= config.bin %> provision --env dev --destroy',
    '<%= config.bin %> provision --clients all --parallel 4',
    '<%= config.bin %> provision --env prod --yes --confirm prod',
    '<%= config.bin %> provision --env dev --plan-only --plan-dir plan',
    '<%= config.bin %> provision --env dev --adopt aws_db_parameter_group.database_parameters_58B6739C',
  ]

  static override flags = {
    ...awsFlags,
    env: Flags.string({char: 'e', description: 'environment or client to provision (see `infra env list`)'}),
    'dry-run': Flags.boolean({description: 'synthesize and validate only; no AWS account needed', exclusive: ['destroy']}),
    destroy: Flags.boolean({description: 'plan and apply the removal of the environment (its state bucket is kept)'}),
    yes: Flags.boolean({char: 'y', description: 'apply without asking (for CI); the plan is still shown'}),
    confirm: Flags.string({description: 'the target\'s exact name: with --yes, confirms a protected environment or a --destroy where no name can be typed', helpValue: 'NAME'}),
    validate: Flags.boolean({description: 'with --dry-run, run terraform init and validate', default: true, allowNo: true}),
    ...terraformFlags,
    'work-dir': Flags.string({description: 'folder for synthesized stacks, plans and bootstrap state', env: 'INFRA_WORK_DIR', default: '.infra', helpGroup: 'TERRAFORM'}),
    'accept-risk': Flags.string({description: 'accept findings of this rule for this run (repeatable); needs --reason, which is recorded', multiple: true, dependsOn: ['reason']}),
    reason: Flags.string({description: 'why the --accept-risk findings are accepted (recorded in the work folder)', dependsOn: ['accept-risk']}),
    'plan-only': Flags.boolean({description: 'plan every stack and keep the saved plans for review (--plan-dir); apply nothing', exclusive: ['dry-run', 'destroy', 'from-plan', 'clients'], helpGroup: 'REVIEW'}),
    'plan-dir': Flags.string({description: 'with --plan-only, the folder for the saved plans and their manifest (default <work-dir>/<env>/plan)', helpGroup: 'REVIEW'}),
    'from-plan': Flags.string({description: 'apply the reviewed plans in this folder if they are still current; otherwise plan again and stop (PLAN_STALE)', exclusive: ['dry-run', 'destroy', 'clients'], helpGroup: 'REVIEW', helpValue: 'DIR'}),
    clients: Flags.string({description: 'provision clients instead of one target: all, a list (a,b) or a glob (eu-*); one summary, one question', exclusive: ['env', 'destroy'], helpGroup: 'FLEET'}),
    parallel: Flags.integer({description: 'with --clients, how many clients are planned and applied at a time (default 4)', min: 1, dependsOn: ['clients'], helpGroup: 'FLEET'}),
    adopt: Flags.string({description: 'import this resource\'s existing AWS object (found by the name the configuration gives it) instead of creating it: what an apply interrupted on another machine left (repeatable)', multiple: true, exclusive: ['dry-run', 'destroy', 'from-plan', 'clients'], helpValue: 'ADDRESS', helpGroup: 'TERRAFORM'}),
  }

  async run(): Promise<ProvisionReport | FleetReport> {
    const {flags} = await this.parse(Provision)
    const estate = this.loadEstate(flags.estate)
    const interactive = this.interactive()
    if (flags.clients) {
      return provisionClients({
        estate,
        selector: flags.clients,
        parallel: flags.parallel ?? 4,
        dryRun: flags['dry-run'],
        yes: flags.yes,
        confirmName: flags.confirm,
        workDir: flags['work-dir'],
        profile: flags.profile,
        validate: flags.validate,
        terraform: terraformOptions(flags),
        acceptedRisks: (flags['accept-risk'] ?? []).map((rule) => ({rule, reason: flags.reason?.trim() ?? ''})),
        json: this.jsonEnabled(),
        interactive,
        log: (text) => this.log(text),
      })
    }
    const envName = await requireChoice(flags.env, '--env', 'Environment:', environmentChoices(estate), interactive)
    const env = findTarget(estate, envName)
    if (flags.region && flags.region !== env.region) {
      throw new InfraError(`--region ${flags.region} disagrees with ${env.name}'s region ${env.region} in ${estate.source}`, 'drop --region or fix the estate', 'REGION_MISMATCH')
    }
    const unknownRule = flags['accept-risk']?.find((rule) => !RULES.some((known) => known.id === rule))
    if (unknownRule) throw new InfraError(`--accept-risk ${unknownRule} is not a rule`, 'see `infra audit stacks --env NAME` for rule ids', 'UNKNOWN_RULE')
    const reason = flags.reason?.trim() ?? ''
    if (flags['accept-risk'] && reason.length < 10) {
      throw new InfraError('--reason is too short to record', 'say why the risk is accepted, in 10 characters or more', 'REASON_REQUIRED', EXIT.usage)
    }
    if (!flags.validate && !flags['dry-run']) {
      throw new InfraError('--no-validate only applies to --dry-run', 'add --dry-run, or drop --no-validate (a real run always plans with terraform)', 'FLAG_CONFLICT', 2)
    }
    if (flags['plan-dir'] && !flags['plan-only']) {
      throw new InfraError('--plan-dir only applies to --plan-only', 'add --plan-only, or pass the reviewed folder with --from-plan', 'FLAG_CONFLICT', 2)
    }
    const mode: ProvisionMode = flags['dry-run'] ? 'dry-run' : flags.destroy ? 'destroy' : flags['plan-only'] ? 'plan' : 'apply'
    const planDir = flags['plan-only'] ? (flags['plan-dir'] ?? path.join(flags['work-dir'], env.name, 'plan')) : undefined
    const run = (overrides: Partial<Parameters<typeof provision>[0]>) => provision({
      estate,
      env,
      mode,
      planDir,
      fromPlan: flags['from-plan'],
      adopt: flags.adopt,
      workDir: flags['work-dir'],
      validate: flags.validate,
      profile: flags.profile,
      renderer: this.renderer(),
      acceptedRisks: (flags['accept-risk'] ?? []).map((rule) => ({rule, reason})),
      terraform: terraformOptions(flags),
      confirm: (stack) => confirmStack(stack, guard!, (text) => this.log(text)),
      ...overrides,
    })
    const reviewDir = path.join(flags['work-dir'], env.name, 'plan')
    const guard: StackGuard | undefined = mode === 'apply' || mode === 'destroy'
      ? {
          target: env,
          mode,
          yes: flags.yes,
          confirmName: flags.confirm,
          interactive,
          json: this.jsonEnabled(),
          planCommand: mode === 'destroy'
            ? `see every change first with \`infra provision --env ${env.name} --destroy\` at a terminal (it shows the plan before asking)`
            : `see every change first with \`infra provision --env ${env.name} --plan-only\` (it prints them and keeps the saved plans in ${reviewDir}; \`--from-plan ${reviewDir}\` then applies exactly those)`,
        }
      : undefined
    // A confirmation no one can give is refused before the first AWS call (exit 4).
    if (guard) refuseUnconfirmable(guard)
    let report: ProvisionReport
    try {
      report = await run({})
    } catch (error) {
      if (!(error instanceof InfraError && error.code === 'PLAN_STALE')) throw error
      // Plan again so the difference is on record, then stop: nothing unreviewed is applied.
      const replanDir = path.join(flags['work-dir'], env.name, 'replanned')
      const fresh = await run({mode: 'plan', fromPlan: undefined, planDir: replanDir})
      if (!this.jsonEnabled()) this.log(renderProvisionReport(fresh))
      writeStepSummary(fresh)
      throw new InfraError(error.message, `${error.fix ?? 'plan again for review'}; the fresh plans are in ${replanDir}`, 'PLAN_STALE', 1, {replanned: fresh})
    }
    if (!this.jsonEnabled()) {
      // --plan-only shows what the confirmation would have shown: every stack's changes.
      const text = report.mode === 'plan' ? `${renderPlans(report.stacks, {colour: colourOn()})}\n\n${renderProvisionReport(report)}` : renderProvisionReport(report)
      if (interactive) await showPaged(text)
      else this.log(text)
    }
    writeStepSummary(report)
    // Declined: the report says what was applied before; the exit code says nothing more was.
    if (report.stacks.some((stack) => stack.skipped === 'declined')) process.exitCode = CONFIRMATION_EXIT_CODE
    return report
  }
}

/** In a GitHub Actions job, the plan (or what was applied) goes to the job's summary page. */
function writeStepSummary(report: ProvisionReport): void {
  const file = process.env.GITHUB_STEP_SUMMARY
  if (file) appendFileSync(file, renderProvisionMarkdown(report))
}
