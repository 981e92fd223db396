import {Args, Flags} from '@oclif/core'

import {findPlugin} from '../../ssm/plugin.js'
import {type SessionPlan, type SessionResult, planSession, runSession} from '../../ssm/session.js'
import {InfraCommand} from '../_lib/base-command.js'
import {SESSION_PURPOSE, commandSsmContext, sessionFlags, sessionReason, stopSignal, targetPicker} from '../_lib/ssm.js'

export default class Session extends InfraCommand {
  static override summary = 'Open a shell, or run one command, on a managed instance through Session Manager.'
  static override description = `TARGET is "bastion" (the environment's bastion: the InService instance of the Auto Scaling group named by /infra/<env>/bastion/asg-name, else instances tagged Role=bastion), an instance id, or a Name tag. The instance must be running and online in Systems Manager; a picker appears at a terminal when several match.
A shell uses the account's Session Manager preferences (SSM-SessionManagerRunShell: logged to S3 and CloudWatch with KMS). --command runs one command with AWS-StartNonInteractiveCommand (no pseudo-terminal, separateOutputStream=true) and exits with the status the SSM Agent reports for it ("EXIT_CODE: n", which infra removes from the output; the plugin itself always exits 0). --tty uses AWS-StartInteractiveCommand, whose status no agent reports: it exits 0 like the plugin. A shell exits 0 too.
Every session carries a reason, sent as StartSession's Reason. The session is terminated in AWS when the plugin exits, on error and on SIGINT/SIGTERM/SIGHUP (exit 130).`

  static override examples = [
    '<%= config.bin %> session bastion --env prod --reason "INC-123: check disk"',
    '<%= config.bin %> session i-0abc123def4567890 --env dev --reason debugging --command "df -h"',
    '<%= config.bin %> session acme-dev-bastion --env dev --reason "look" --dry-run --json',
    '<%= config.bin %> session list --env prod',
  ]

  static override args = {
    target: Args.string({description: 'bastion, an instance id (i-..., mi-...) or a Name tag', required: true}),
  }

  static override flags = {
    ...sessionFlags,
    command: Flags.string({char: 'c', description: 'run this one command (AWS-StartNonInteractiveCommand) and exit with its status, as the SSM Agent reports it'}),
    tty: Flags.boolean({description: 'with --command: run it in a pseudo-terminal (AWS-StartInteractiveCommand; no exit status: exits 0)', dependsOn: ['command']}),
  }

  async run(): Promise<{dryRun: true; plan: SessionPlan} | ({dryRun: false} & SessionResult)> {
    const {args, flags} = await this.parse(Session)
    const interactive = this.interactive()
    // The estate and environment first: a wrong --estate or --env is the line's mistake (exit 2),
    // whatever else this machine lacks. Building the context calls no AWS.
    const ctx = await commandSsmContext(this.loadEstate(flags.estate), flags, SESSION_PURPOSE)
    const reason = await sessionReason(flags.reason, interactive)
    const plugin = flags['dry-run'] ? undefined : findPlugin(flags.plugin)
    const plan = await planSession(ctx, {target: args.target, reason, command: flags.command, tty: flags.tty, pick: targetPicker(interactive)})
    if (flags['dry-run'] || !plugin) {
      if (!this.jsonEnabled()) this.log(renderPlan(plan))
      return {dryRun: true, plan}
    }
    const terminal = Boolean(process.stdin.isTTY) && !this.jsonEnabled()
    if (!this.jsonEnabled()) this.logToStderr(`Starting a session on ${plan.target.instanceId} (${plan.target.name ?? plan.target.foundBy}) in ${plan.environment}, document ${plan.document}`)
    const stop = stopSignal({ctrlCGoesToChild: terminal})
    try {
      const result = await runSession(ctx, plugin, plan, {terminal, signal: stop.signal, stdoutToStderr: this.jsonEnabled()})
      process.exitCode = result.exitCode
      if (!this.jsonEnabled() && result.interrupted) this.logToStderr(`Session ${result.sessionId} interrupted and terminated`)
      return {dryRun: false, ...result}
    } finally {
      stop.dispose()
    }
  }
}

function renderPlan(plan: SessionPlan): string {
  return [
    `environment  ${plan.environment} (account ${plan.account}, ${plan.region})`,
    `target       ${plan.target.instanceId}${plan.target.name ? ` (${plan.target.name})` : ''}, ${plan.target.state}, ${plan.target.pingStatus} in Systems Manager`,
    `found by     ${plan.target.foundBy}`,
    `document     ${plan.document}${plan.request.DocumentName ? '' : ' (the account\'s Session Manager preferences)'}`,
    `parameters   ${JSON.stringify(plan.request.Parameters ?? {})}`,
    `reason       ${plan.request.Reason}`,
    'dry run: nothing started',
  ].join('\n')
}
