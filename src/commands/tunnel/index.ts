import {realpathSync} from 'node:fs'

import {Args, Flags} from '@oclif/core'

import {findBastion} from '../../ssm/discovery.js'
import {kubeconfigPath, writeKubeContext} from '../../ssm/kubeconfig.js'
import {findPlugin} from '../../ssm/plugin.js'
import {DEFAULT_DB_NAME, DEFAULT_DB_USER, runPsql} from '../../ssm/psql.js'
import {checkReason} from '../../ssm/session.js'
import {checkTunnelArguments, resolveTunnels} from '../../ssm/targets.js'
import {type TunnelEvent, type TunnelState, PORT_FORWARD_DOCUMENT, TunnelSet, portForwardRequest} from '../../ssm/tunnel.js'
import {EXIT, InfraError} from '../../errors.js'
import {InfraCommand} from '../_lib/base-command.js'
import {SESSION_PURPOSE, commandSsmContext, sessionFlags, sessionReason, stopSignal, targetPicker} from '../_lib/ssm.js'

interface TunnelReport {
  environment: string
  bastion: string
  document: string
  dryRun: boolean
  tunnels: (Omit<TunnelState, 'sessionId'> & {sessionId?: string; parameters?: Record<string, string[]>})[]
  kubeconfig?: {file: string; context: string}
  psqlExitCode?: number
}

export default class Tunnel extends InfraCommand {
  static override summary = 'Forward local ports through the environment\'s bastion: the database, the private EKS API, or any host:port.'
  static override description = `Each tunnel is a Session Manager session (AWS-StartPortForwardingSessionToRemoteHost) through the bastion, with a session-manager-plugin process of its own. With no --local-port a free port is chosen and printed.
db: the database from /infra/<env>/database/endpoint; --psql starts psql through it with an RDS IAM authentication token.
eks: the private EKS API; a kubeconfig context infra-<env> is written (server https://127.0.0.1:PORT, tls-server-name the cluster's host, the cluster's CA) whose credentials come from "infra eks token".
A dropped tunnel (idle timeout, websocket closed, expired credentials, plugin crash) is re-established on the same port with backoff, and you are told. Ctrl-C, SIGTERM or SIGHUP terminates every session in AWS and ends every plugin.`

  static override examples = [
    '<%= config.bin %> tunnel db --env prod --reason "INC-123: slow queries"',
    '<%= config.bin %> tunnel db --env dev --reason "migration check" --psql',
    '<%= config.bin %> tunnel eks --env prod --reason "deploy review"   # then: kubectl --context infra-prod get nodes',
    '<%= config.bin %> tunnel db eks --env prod --reason "release" --local-port db=15432',
    '<%= config.bin %> tunnel --to 10.1.4.20:8080 --env dev --reason "admin UI"',
  ]

  static override strict = false
  static override args = {
    tunnels: Args.string({description: 'db and/or eks (several allowed)'}),
  }

  static override flags = {
    ...sessionFlags,
    to: Flags.string({description: 'host:port reachable from the bastion (repeatable)', multiple: true}),
    'local-port': Flags.string({description: 'local port: PORT with one tunnel, NAME=PORT with several (repeatable); default a free port', multiple: true}),
    psql: Flags.boolean({description: 'with db: start psql through the tunnel with an IAM auth token; the tunnel closes when psql exits'}),
    'psql-path': Flags.string({description: 'psql binary (default psql on PATH)', dependsOn: ['psql']}),
    'db-user': Flags.string({description: 'database user with the rds_iam role', default: DEFAULT_DB_USER}),
    'db-name': Flags.string({description: 'database name', default: DEFAULT_DB_NAME}),
    kubeconfig: Flags.string({description: 'with eks: kubeconfig file to write the context to (default: KUBECONFIG, else ~/.kube/config)'}),
  }

  // One JSON object per line: events while the tunnels run, then the summary.
  protected override logJson(json: unknown): void {
    process.stdout.write(`${JSON.stringify(json)}\n`)
  }

  async run(): Promise<TunnelReport> {
    const {argv, flags} = await this.parse(Tunnel)
    const names = argv as string[]
    if (flags.psql && !names.includes('db')) throw new InfraError('--psql needs the db tunnel', 'run: infra tunnel db --psql --env ...', 'BAD_FLAG', EXIT.usage)
    checkTunnelArguments(names, flags.to ?? [], flags['local-port'] ?? [])
    const interactive = this.interactive()
    const reason = checkReason(await sessionReason(flags.reason, interactive))
    const plugin = flags['dry-run'] ? undefined : findPlugin(flags.plugin)
    const estate = this.loadEstate(flags.estate)
    const ctx = await commandSsmContext(estate, flags, SESSION_PURPOSE)
    const resolved = await resolveTunnels(ctx, names, flags.to ?? [], flags['local-port'] ?? [])
    const bastion = await findBastion(ctx, ctx.env.name, targetPicker(interactive))
    const report: TunnelReport = {environment: ctx.env.name, bastion: bastion.instanceId, document: PORT_FORWARD_DOCUMENT, dryRun: Boolean(flags['dry-run']), tunnels: []}

    if (flags['dry-run'] || !plugin) {
      report.tunnels = resolved.specs.map((spec) => {
        const request = portForwardRequest(bastion.instanceId, spec, spec.localPort ?? 0, reason)
        return {name: spec.name, host: spec.host, port: spec.port, localPort: spec.localPort ?? 0, reconnects: 0, parameters: request.Parameters}
      })
      if (!this.jsonEnabled()) {
        this.log(`bastion   ${bastion.instanceId} (${bastion.foundBy})\ndocument  ${PORT_FORWARD_DOCUMENT}\nreason    ${reason}`)
        for (const t of report.tunnels) this.log(`tunnel    ${t.name}: 127.0.0.1:${t.localPort || '<free port>'} -> ${t.host}:${t.port}  parameters ${JSON.stringify(t.parameters)}`)
        this.log('dry run: nothing started')
      }
      return report
    }

    const psqlOwnsTerminal = flags.psql && Boolean(process.stdin.isTTY)
    const stop = stopSignal({ctrlCGoesToChild: psqlOwnsTerminal})
    const tunnels = new TunnelSet(ctx, plugin, {bastion, reason, specs: resolved.specs, onEvent: (event) => this.tell(event)})
    try {
      const opened = await tunnels.open()
      if (resolved.eks) {
        const eksTunnel = opened.find((t) => t.name === 'eks')!
        const file = kubeconfigPath(flags.kubeconfig)
        const context = `infra-${ctx.env.name}`
        writeKubeContext(file, {
          name: context,
          localPort: eksTunnel.localPort,
          serverName: resolved.eks.host,
          certificateAuthority: resolved.eks.certificateAuthority,
          exec: tokenCommand(resolved.eks.name, ctx.env.name, estate.source, flags),
        })
        report.kubeconfig = {file, context}
        this.say(`kubeconfig ${file}: context ${context} -> https://127.0.0.1:${eksTunnel.localPort} (kubectl --context ${context} get nodes)`)
      }
      if (this.jsonEnabled()) this.logJson({event: 'ready', tunnels: opened, kubeconfig: report.kubeconfig ?? null})
      if (flags.psql) {
        const db = opened.find((t) => t.name === 'db')!
        report.psqlExitCode = await Promise.race([
          runPsql(ctx, {database: resolved.database!, localPort: db.localPort, user: flags['db-user'], dbName: flags['db-name'], psql: flags['psql-path']}),
          tunnels.failed,
        ])
        process.exitCode = report.psqlExitCode
      } else {
        this.say('Press Ctrl-C to close the tunnels.')
        await Promise.race([new Promise((resolve) => stop.signal.addEventListener('abort', resolve, {once: true})), tunnels.failed])
      }
    } finally {
      report.tunnels = tunnels.states()
      await tunnels.close()
      stop.dispose()
    }
    this.say('Tunnels closed; their sessions are terminated.')
    return report
  }

  private say(line: string): void {
    if (!this.jsonEnabled()) this.logToStderr(line)
  }

  private tell(event: TunnelEvent): void {
    if (this.jsonEnabled()) {
      this.logJson({event: event.type, ...event})
      return
    }
    const t = event.tunnel
    const where = `${t.name}: 127.0.0.1:${t.localPort} -> ${t.host}:${t.port}`
    if (event.type === 'opened') this.log(`Tunnel ${where} open (session ${t.sessionId})`)
    else if (event.type === 'reopened') this.logToStderr(`Tunnel ${where} re-established (session ${t.sessionId})`)
    else if (event.type === 'expiring') this.logToStderr(`Warning: tunnel ${where}: ${event.detail}`)
    else this.logToStderr(`Tunnel ${where} dropped: ${event.detail}; reconnecting in ${Math.round(event.retryInMs / 100) / 10}s`)
  }
}

/**
 * How kubectl gets a token: this very CLI, so no AWS CLI is needed. The estate file this run
 * used is named by its absolute path whatever chose it (--estate, INFRA_ESTATE, ./infra.estate.yaml,
 * the default): kubectl runs from any folder, with any environment.
 */
function tokenCommand(cluster: string, envName: string, estateFile: string, flags: {profile?: string; region?: string}) {
  let command = 'infra'
  try {
    if (process.argv[1]) command = realpathSync(process.argv[1])
  } catch {
    // keep "infra" from PATH
  }
  const args = ['eks', 'token', '--cluster', cluster, '--env', envName]
  args.push('--estate', realpathSync(estateFile))
  if (flags.region) args.push('--region', flags.region)
  return {command, args, env: flags.profile ? [{name: 'AWS_PROFILE', value: flags.profile}] : undefined}
}
