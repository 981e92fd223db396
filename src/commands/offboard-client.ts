import {Flags} from '@oclif/core'

import {type OffboardReport, describeOffboarding, offboardClient} from '../onboarding/offboard.js'
import {InfraCommand, terraformFlags, terraformOptions} from './_lib/base-command.js'
import {renderOffboardPlan, renderOffboardReport} from './_lib/render-onboarding.js'
import {confirmStack} from './_lib/provision-guard.js'
import {typedConfirmation} from './_lib/typed-confirmation.js'

export default class OffboardClient extends InfraCommand {
  static override summary = 'Take a client out of the estate: destroy its stacks, remove its entry, and (only when asked) close its account.'
  static override description = `Guarded like production: at a terminal the client's name must be typed; without one, --yes and --confirm <client-name> are both needed. The account is never closed silently: --close-account also asks for the account's name to be typed (--confirm-account without a terminal). Without --close-account the command says how to close it.`

  static override examples = [
    '<%= config.bin %> offboard-client --name globex',
    '<%= config.bin %> offboard-client --name globex --yes --confirm globex',
    '<%= config.bin %> offboard-client --name globex --close-account --yes --confirm globex --confirm-account globex',
  ]

  static override flags = {
    profile: Flags.string({description: 'AWS profile of the management account (default: the standard credential chain)', env: 'AWS_PROFILE', helpGroup: 'AWS'}),
    name: Flags.string({description: 'the client to offboard', required: true}),
    confirm: Flags.string({description: 'the client\'s name again: required with --yes when there is no terminal'}),
    'close-account': Flags.boolean({description: 'also close the client\'s AWS account (suspended 90 days, then closed)'}),
    'confirm-account': Flags.string({description: 'the account\'s name in Organizations: required with --close-account when there is no terminal', dependsOn: ['close-account']}),
    destroy: Flags.boolean({description: 'destroy the client\'s stacks first (its state bucket is kept)', default: true, allowNo: true}),
    yes: Flags.boolean({char: 'y', description: 'go ahead without a terminal (needs --confirm <client-name> too)'}),
    'work-dir': Flags.string({description: 'folder for synthesized stacks, plans and journals', env: 'INFRA_WORK_DIR', default: '.infra', helpGroup: 'TERRAFORM'}),
    ...terraformFlags,
  }

  async run(): Promise<OffboardReport> {
    const {flags} = await this.parse(OffboardClient)
    const estate = this.loadEstate(flags.estate)
    const interactive = this.interactive()
    const target = await describeOffboarding(estate, flags.name, flags.profile)
    if (!this.jsonEnabled()) this.log(renderOffboardPlan(target, {destroy: flags.destroy, closeAccount: flags['close-account'], estateFile: estate.source}))
    await typedConfirmation({action: `offboard client ${target.name}`, expected: target.name, given: flags.confirm, flag: '--confirm', yes: flags.yes, interactive})
    if (flags['close-account'] && target.accountId) {
      await typedConfirmation({
        action: `close AWS account ${target.accountId}`,
        expected: target.accountName ?? target.accountId,
        given: flags['confirm-account'],
        flag: '--confirm-account',
        yes: flags.yes,
        interactive,
      })
    }
    const report = await offboardClient({
      estate,
      target,
      workDir: flags['work-dir'],
      profile: flags.profile,
      renderer: this.renderer(),
      closeAccount: flags['close-account'],
      destroy: flags.destroy
        ? {
            validate: false,
            profile: flags.profile,
            terraform: terraformOptions(flags),
            // Each stack's destroy plan is shown in full before it is confirmed, as `provision
            // --destroy` does: at a terminal the client's name is typed again after reading it.
            confirm: (stack) =>
              confirmStack(
                stack,
                {
                  target: target.recorded!,
                  mode: 'destroy',
                  yes: flags.yes,
                  confirmName: flags.confirm,
                  interactive,
                  json: this.jsonEnabled(),
                  planCommand: `see every change first with \`infra offboard-client --name ${target.name}\` at a terminal (it shows each stack's plan before asking)`,
                },
                (text) => this.log(text),
              ),
          }
        : undefined,
    })
    if (!this.jsonEnabled()) this.log(`\n${renderOffboardReport(report)}`)
    return report
  }
}
