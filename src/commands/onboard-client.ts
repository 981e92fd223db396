import {Flags} from '@oclif/core'

import {EXIT, InfraError} from '../errors.js'
import type {Estate} from '../estate/model.js'
import {nextFreeBlock} from '../estate/pool.js'
import {describeAdoption, organizationalUnits} from '../onboarding/lookups.js'
import {type OnboardReport, onboardClient} from '../onboarding/onboard.js'
import {knownValues, planOnboarding} from '../onboarding/onboard-plan.js'
import {confirmChange} from '../prompts/interaction.js'
import {completeRequest} from './_lib/ask-onboarding.js'
import {InfraCommand, terraformFlags, terraformOptions} from './_lib/base-command.js'
import {renderOnboardPlan, renderOnboardReport} from './_lib/render-onboarding.js'
import {renderStackPlan} from './_lib/render-provision.js'
import {type StackGuard, confirmStack, refuseUnconfirmable} from './_lib/provision-guard.js'
import {findTarget} from '../estate/load.js'
import type {EnvironmentSpec} from '../estate/model.js'
import {typedConfirmation} from './_lib/typed-confirmation.js'

export default class OnboardClient extends InfraCommand {
  static override summary = 'Vend a client account end to end: account, OU, tags, access role, estate entry, baseline.'
  static override description = `Asks (at a terminal) for the client's name, root e-mail, organizational unit, region, CIDR (the pool's next free block offered), sizing and tags, shows the plan, and on confirmation runs each step: check the caller is the management account, reserve the client in the estate, find the account by e-mail or create it, move it into the OU, tag it, assume its access role, record it in the estate, and provision the baseline as \`infra provision\` does.

Before anything touches an account, the account must prove it is the client's: created by this onboarding (its CreateAccount request is journaled), named as infra names the client's account (the client's name) and held by no other estate entry, or tagged infra:client=<client>. Any other account with the e-mail (prod, another client's, an unrelated one) is refused before the first change; adopt one on purpose with --adopt-account ID, its name typed (--confirm-account NAME-or-ID without a terminal). Only the organization's management account can vend.

Every step checks what exists before acting and progress is journaled in the work folder, so running the same command again after a failure or a crash continues where it stopped, and after success changes nothing. Without a terminal (or with --yes) --name, --email and --ou are required; region, CIDR and sizing default to the estate's region, the next free block and small.`

  static override examples = [
    '<%= config.bin %> onboard-client',
    '<%= config.bin %> onboard-client --name globex --email aws+globex@acme.example --ou Clients --dry-run',
    '<%= config.bin %> onboard-client --name globex --email aws+globex@acme.example --ou Clients --tag team=payments --yes',
    '<%= config.bin %> onboard-client --name globex --yes   # resume an interrupted onboarding',
    '<%= config.bin %> onboard-client --name hooli --email billing@hooli.example --ou Clients --adopt-account 210987654321 --yes --confirm-account legacy-billing',
  ]

  static override flags = {
    profile: Flags.string({description: 'AWS profile of the management account (default: the standard credential chain)', env: 'AWS_PROFILE', helpGroup: 'AWS'}),
    name: Flags.string({description: 'client name (2-31 lowercase letters, digits, dashes)'}),
    email: Flags.string({description: 'root e-mail of the client\'s account (no AWS account may use it yet)'}),
    ou: Flags.string({description: 'organizational unit: id (ou-...), path (Root/Clients) or unique name'}),
    region: Flags.string({description: 'the client\'s region (default: the estate\'s)'}),
    cidr: Flags.string({description: 'the client\'s VPC CIDR (default: the next free block of clientCidrPool)'}),
    sizing: Flags.string({description: 'small or ha', options: ['small', 'ha']}),
    tag: Flags.string({description: 'account tag key=value (repeatable)', multiple: true}),
    'omit-layer': Flags.string({description: 'optional layer the client goes without (repeatable; recorded as omitLayers)', multiple: true}),
    'adopt-account': Flags.string({description: 'adopt this existing account (12-digit id) as the client\'s: its name must be typed'}),
    'confirm-account': Flags.string({description: 'the adopted account\'s name (or id): required with --adopt-account when there is no terminal', dependsOn: ['adopt-account']}),
    yes: Flags.boolean({char: 'y', description: 'go ahead without asking; every missing answer is then an error'}),
    confirm: Flags.string({description: 'the client\'s exact name: with --yes, confirms provisioning a protected (ha) client where no name can be typed', helpValue: 'NAME'}),
    'dry-run': Flags.boolean({description: 'show the plan and touch nothing'}),
    provision: Flags.boolean({description: 'provision the baseline stacks after the account is ready', default: true, allowNo: true}),
    'work-dir': Flags.string({description: 'folder for the onboarding journal, synthesized stacks and plans', env: 'INFRA_WORK_DIR', default: '.infra', helpGroup: 'TERRAFORM'}),
    ...terraformFlags,
    'poll-interval': Flags.integer({description: 'milliseconds between account-creation status checks', env: 'INFRA_ONBOARD_POLL_MS', default: 5000, min: 10, hidden: true}),
    'role-wait': Flags.integer({description: 'seconds to keep retrying AccessDenied on the new account\'s role', env: 'INFRA_ONBOARD_ROLE_WAIT_SECONDS', default: 600, min: 0, hidden: true}),
  }

  async run(): Promise<OnboardReport | {dryRun: true; plan: ReturnType<typeof planOnboarding>}> {
    const {flags} = await this.parse(OnboardClient)
    const estate = this.loadEstate(flags.estate)
    const interactive = this.interactive() && !flags.yes
    const workDir = flags['work-dir']
    // A rerun needs only the name: the rest comes from the estate entry and the journal.
    const known = flags.name ? knownValues(estate, flags.name, workDir) : {}
    const request = await completeRequest(
      estate,
      {
        name: flags.name,
        email: flags.email ?? known.email,
        ou: flags.ou ?? known.organizationalUnit,
        region: flags.region ?? known.region,
        cidr: flags.cidr ?? known.vpcCidr,
        sizing: flags.sizing ?? known.sizing,
        tags: flags.tag,
        omitLayers: flags['omit-layer'] ?? known.omitLayers,
      },
      interactive,
      () => organizationalUnits(estate, flags.profile),
    )
    // Chosen from the pool (not typed by the operator): the reservation may move to the next free block.
    request.cidrFromPool = !flags.cidr && !known.vpcCidr && request.vpcCidr === nextFreeBlock(estate)
    const plan = planOnboarding(estate, request, workDir, flags.provision)
    if (!this.jsonEnabled()) this.log(renderOnboardPlan(plan))
    if (flags['dry-run']) {
      if (!this.jsonEnabled()) this.log('\nDry run: nothing was changed.')
      return {dryRun: true, plan}
    }
    // A protected client's stacks are changed only with its name given, as `infra provision` asks;
    // when that cannot be given, nothing is done at all.
    const guardFor = (target: EnvironmentSpec): StackGuard => ({target, mode: 'apply', yes: flags.yes, confirmName: flags.confirm, interactive, json: this.jsonEnabled(), planCommand: `see every change first with \`infra provision --env ${target.name} --plan-only\``})
    const recorded = estate.clients.find((client) => client.name === request.name)
    if (flags.provision && recorded?.protected) refuseUnconfirmable(guardFor(recorded))
    if (flags['adopt-account']) await this.confirmAdoption(estate, request.name, flags['adopt-account'], flags['confirm-account'], flags.yes, interactive, flags.profile)
    const agreed = await confirmChange({action: `onboard client ${request.name} (${request.email}) into the organization`, yes: flags.yes, interactive})
    if (!agreed) throw new InfraError('onboarding not confirmed: nothing was changed', 'run again and answer yes, or pass --yes', 'NOT_CONFIRMED', EXIT.declined)
    const report = await onboardClient({
      estate,
      plan,
      workDir,
      profile: flags.profile,
      renderer: this.renderer(),
      pollIntervalMs: flags['poll-interval'],
      adoptAccountId: flags['adopt-account'],
      roleWaitMs: flags['role-wait'] * 1000,
      provision: flags.provision
        ? {
            validate: false,
            profile: flags.profile,
            terraform: terraformOptions(flags),
            confirm: async (stack) => {
              const target = findTarget(this.loadEstate(flags.estate), request.name)
              if (target.protected) return confirmStack(stack, guardFor(target), (text) => this.log(text))
              if (!this.jsonEnabled()) this.log(renderStackPlan(stack))
              const risky = stack.plan!.replace + stack.plan!.delete
              // The onboarding plan was agreed; only replacing or destroying something asks again.
              return risky === 0 || confirmChange({action: `replace or destroy ${risky} resources in ${stack.name}`, yes: flags.yes, interactive})
            },
          }
        : undefined,
    })
    if (!this.jsonEnabled()) this.log(`\n${renderOnboardReport(report)}`)
    return report
  }

  /** --adopt-account: shows the account and wants its name typed (or --confirm-account with its name or id). */
  private async confirmAdoption(estate: Estate, client: string, accountId: string, given: string | undefined, yes: boolean, interactive: boolean, profile?: string): Promise<void> {
    const account = await describeAdoption(estate, accountId, client, profile)
    if (!this.jsonEnabled()) this.log(`\nAdopting account ${account.id} ("${account.name}", ${account.email}, in ${account.parent.path}) as client ${client}'s: it will be moved, tagged and provisioned.`)
    await typedConfirmation({
      action: `adopt AWS account ${account.id} as client ${client}'s`,
      expected: account.name,
      given: given === account.id ? account.name : given,
      flag: '--confirm-account',
      yes,
      interactive,
    })
  }
}
