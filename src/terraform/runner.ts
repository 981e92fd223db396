import {InfraError} from '../errors.js'
import type {StopSignal} from '../signals.js'
import {runInOwnGroup} from './process.js'

export interface TerraformRunOptions {
  binary: string
  /** The synthesized stack's folder. */
  cwd: string
  /** Extra environment: credentials profile, TF_CLI_CONFIG_FILE. */
  env?: Record<string, string | undefined>
  /** Stops terraform (SIGINT to its process group, then SIGKILL) when a call takes longer than this. */
  timeoutMs?: number
  /** Called with each line terraform prints, for progress displays. */
  onLine?: (line: string) => void
  /** Whose SIGINT and SIGTERM are forwarded to terraform (default: this process). */
  signals?: NodeJS.EventEmitter
  /** How long a stopped terraform (and its plugins) may take before the group is killed (default 15 s). */
  graceMs?: number
}

/** 'import': brought under management with no change; an import that also changes shows as that change, `importing` set. */
export type ChangeAction = 'create' | 'update' | 'replace' | 'delete' | 'read' | 'import' | 'no-op'

export interface ResourceChange {
  address: string
  type: string
  action: ChangeAction
  /** The existing object's id, when the plan imports it. */
  importing?: string
}

export interface PlanSummary {
  create: number
  update: number
  replace: number
  delete: number
  /** Existing objects the plan brings under management (import blocks), whatever else it does to them. */
  import: number
  changes: ResourceChange[]
}

/** A resource operation terraform had started and not finished when it was stopped. */
export interface CallInFlight {
  address: string
  action: 'create' | 'update' | 'delete'
}

/** Thin wrapper over the terraform CLI: every call non-interactive, every failure one readable line. */
export class Terraform {
  constructor(private readonly options: TerraformRunOptions) {}

  async init(options: {backend: boolean}): Promise<void> {
    await this.run('init', ['init', '-input=false', '-no-color', `-backend=${options.backend}`, ...(options.backend ? ['-reconfigure'] : [])])
  }

  /**
   * Moves the state from the backend terraform was last initialized with to the one the
   * configuration names now (the bootstrap's local state into its own bucket).
   */
  async migrateState(): Promise<void> {
    await this.run('migrate-state', ['init', '-input=false', '-no-color', '-migrate-state', '-force-copy'])
  }

  async validate(): Promise<void> {
    const result = await this.run('validate', ['validate', '-json', '-no-color'], {allowFailure: true})
    let report: {valid: boolean; diagnostics?: {severity: string; summary: string; detail?: string; address?: string}[]}
    try {
      report = JSON.parse(result.stdout)
    } catch {
      throw this.failure('validate', result.stderr || result.stdout)
    }
    if (!report.valid) {
      const first = report.diagnostics?.find((d) => d.severity === 'error')
      throw new InfraError(
        `terraform validate failed in ${this.options.cwd}: ${first?.summary ?? 'invalid configuration'}${first?.address ? ` at ${first.address}` : ''}${first?.detail ? ` (${first.detail.split('\n')[0]})` : ''}`,
        'this is a bug in the stacks; report it with the synthesized cdk.tf.json',
        'TERRAFORM_INVALID',
      )
    }
  }

  /** Plans into planFile; returns whether anything would change. */
  async plan(planFile: string, options: {destroy?: boolean} = {}): Promise<boolean> {
    const args = ['plan', '-input=false', '-no-color', `-lock-timeout=${lockTimeout()}`, '-detailed-exitcode', `-out=${planFile}`]
    if (options.destroy) args.push('-destroy')
    const result = await this.run('plan', args, {allowFailure: true})
    if (result.exitCode === 0) return false
    if (result.exitCode === 2) return true
    const missing = importsOfNothing(result.stderr + result.stdout)
    if (missing.length > 0) {
      throw new InfraError(`terraform plan failed in ${this.options.cwd}: nothing exists to import at ${missing.join(', ')}`, 'remove the import of an object that does not exist', 'TERRAFORM_IMPORT_MISSING', 1, {addresses: missing})
    }
    throw this.failure('plan', result.stderr || result.stdout)
  }

  async showPlan(planFile: string): Promise<unknown> {
    const result = await this.run('show', ['show', '-json', '-no-color', planFile])
    return JSON.parse(result.stdout)
  }

  async apply(planFile: string): Promise<void> {
    await this.run('apply', ['apply', '-input=false', '-no-color', `-lock-timeout=${lockTimeout()}`, planFile])
  }

  async output(): Promise<Record<string, {value: unknown}>> {
    const result = await this.run('output', ['output', '-json', '-no-color'])
    return JSON.parse(result.stdout || '{}')
  }

  private async run(step: string, args: string[], options: {allowFailure?: boolean} = {}) {
    const result = await runInOwnGroup(this.options.binary, args, {
      cwd: this.options.cwd,
      env: {...process.env, TF_IN_AUTOMATION: '1', TF_INPUT: '0', CHECKPOINT_DISABLE: '1', ...this.options.env},
      timeoutMs: this.options.timeoutMs,
      onLine: this.options.onLine,
      signals: this.options.signals,
      graceMs: this.options.graceMs,
    })
    if (result.spawnError) {
      throw new InfraError(`could not run ${this.options.binary}: ${result.spawnError.message}`, 'check the terraform binary (--terraform, INFRA_TERRAFORM)', 'TERRAFORM_NOT_RUNNABLE')
    }
    if (result.interrupted) throw interruption(step, this.options.cwd, result.interrupted, result.stderr || result.stdout, step === 'apply' ? callsInFlight(result.stdout) : [])
    if (result.timedOut) {
      const said = firstError(result.stderr || result.stdout)
      // Stopped like an interrupted run (one SIGINT): the creates it cancelled may exist in AWS all the same.
      const inFlight = step === 'apply' ? callsInFlight(result.stdout) : []
      throw new InfraError(
        `terraform ${step} did not finish within ${Math.round((this.options.timeoutMs ?? 0) / 1000)} s in ${this.options.cwd}${said === 'no output' ? '' : ` (terraform said: ${said})`}${inFlight.length > 0 ? `; calls in flight when it was stopped: ${inFlight.map((call) => `${call.address} ${call.action}`).join(', ')}` : ''}`,
        `check the state lock and the API being called (network, endpoint), then run again${inFlight.some((call) => call.action === 'create') ? ' (it adopts what a cancelled create left in AWS)' : ''}; --timeout sets the minutes`,
        'TERRAFORM_TIMEOUT',
        1,
        inFlight.length > 0 ? {step, directory: this.options.cwd, inFlight} : null,
      )
    }
    if (result.exitCode !== 0 && !options.allowFailure) throw this.failure(step, result.stderr || result.stdout)
    return {stdout: result.stdout, stderr: result.stderr, exitCode: result.exitCode}
  }

  private failure(step: string, output: string): InfraError {
    const said = firstError(output)
    const existing = step === 'apply' ? createdOutsideState(output) : []
    return new InfraError(`terraform ${step} failed in ${this.options.cwd}: ${said}`, likelyFix(said), `TERRAFORM_${step.toUpperCase().replace('-', '_')}_FAILED`, 1, existing.length > 0 ? {existsOutsideState: existing} : null)
  }
}

/** What an interrupted step leaves behind, and what to do next. */
function interruption(step: string, cwd: string, interrupted: {signal: StopSignal; forced: boolean}, output: string, inFlight: CallInFlight[]): InfraError {
  const what = `terraform ${step} in ${cwd} was interrupted (${interrupted.signal}${interrupted.forced ? ', then killed' : ''})`
  let left: string
  let fix: string
  if (step !== 'apply' && step !== 'migrate-state') {
    left = 'nothing was changed in AWS'
    fix = 'run the same command again when ready'
  } else if (!interrupted.forced) {
    left = 'terraform stopped, recorded what it had finished in the state and released its lock'
    fix = 'run the same command again: it plans what is left'
  } else {
    left = 'terraform was killed: changes in flight may be missing from the state and its lock may remain'
    fix = `if the next run reports a state lock, check no one else is running and use \`terraform force-unlock ID\` in ${cwd}; then run again`
  }
  // Stopping cancels the provider's calls in flight, but AWS may already have carried them out:
  // a create then exists in AWS and not in the state.
  if (inFlight.length > 0) {
    left += `; it cancelled ${inFlight.length} call${inFlight.length === 1 ? '' : 's'} in flight that AWS may have carried out anyway (${inFlight.map((call) => `${call.address} ${call.action}`).join(', ')})`
    if (inFlight.some((call) => call.action === 'create')) fix += ', and adopts (imports) what a cancelled create left in AWS where the resource is known by its name'
  }
  const said = firstError(output)
  return new InfraError(`${what}: ${left}`, fix, 'TERRAFORM_INTERRUPTED', 130, {step, directory: cwd, signal: interrupted.signal, forced: interrupted.forced, terraformSaid: said === 'no output' ? null : said, inFlight})
}

/** The likely cause of a terraform failure, from terraform's own words. */
export function likelyFix(said: string): string {
  if (/provider packages|Failed to install provider|could not connect to registry|provider registry|filesystem_mirror|network_mirror/i.test(said)) {
    return 'terraform could not get the AWS provider: on a machine with no registry access pass --plugin-mirror (or INFRA_TF_PLUGIN_MIRROR; scripts/provider-mirror.sh finds one), else check the network to registry.terraform.io'
  }
  if (/acquiring the state lock|state lock|ConditionalCheckFailed|PreconditionFailed/i.test(said)) {
    return 'another run holds the state lock: wait for it, or if none is running, `terraform force-unlock ID` in the stack folder'
  }
  if (/No valid credential|NoCredentialProviders|InvalidClientTokenId|ExpiredToken|security token|SignatureDoesNotMatch|failed to refresh cached credentials|get identity|AssumeRole|not authorized|AccessDenied|Access Denied|UnauthorizedOperation|credentials/i.test(said)) {
    return 'check the AWS credentials and the role infra assumes (--profile, AWS_PROFILE; `aws sts get-caller-identity`), and that the role may do this'
  }
  if (/dial tcp|no such host|connection refused|i\/o timeout|TLS handshake|certificate|context deadline exceeded|network is unreachable|EOF/i.test(said)) {
    return 'terraform could not reach the endpoint: check the network, proxy and DNS (and AWS_CA_BUNDLE behind a TLS-inspecting proxy)'
  }
  return 'read terraform\'s message above; run again after fixing it (the stack folder holds the configuration terraform ran)'
}

/**
 * Terraform's first error on one line: its summary and, when the summary stands alone (as in
 * "Failed to query available provider packages"), the first paragraph of detail that follows
 * it (the reason: "could not connect to registry.terraform.io ... no such host"), skipping the
 * "with ..."/"on ..." location lines.
 */
export function firstError(output: string): string {
  const lines = output.split('\n').map((line) => line.replace(/^[│╷╵]\s?/, '').trim())
  const index = lines.findIndex((line) => line.startsWith('Error:'))
  if (index === -1) return lines.find((line) => line.length > 0) ?? 'no output'
  const paragraphs: string[][] = [[]]
  for (const line of lines.slice(index)) {
    if (line.startsWith('Error:') && paragraphs.flat().length > 0) break
    if (line.length === 0) {
      if (paragraphs.at(-1)!.length > 0) paragraphs.push([])
      continue
    }
    paragraphs.at(-1)!.push(line)
  }
  const oneLine = (paragraph: string[]) => paragraph.join(' ').replace(/\s+/g, ' ')
  const summary = oneLine(paragraphs[0]).replace(/^Error:\s*/, '')
  if (paragraphs[0].length > 1) return summary
  const detail = paragraphs.slice(1).find((paragraph) => paragraph.length > 0 && !/^(with|on) /.test(paragraph[0]))
  if (!detail) return summary
  const text = oneLine(detail)
  return `${summary}: ${text.length > 400 ? `${text.slice(0, 400)}...` : text}`
}

const STARTED = /^(\S+): (Creating|Modifying|Destroying)\.\.\.(?: \[id=[^\]]*\])?$/
const FINISHED = /^(\S+): (Creation|Modifications|Destruction) complete after /
const STARTED_ACTION = {Creating: 'create', Modifying: 'update', Destroying: 'delete'} as const

/**
 * The operations an apply had started and not finished, from terraform's progress lines
 * ("aws_x.y: Creating..." without its "Creation complete after"). A replacement's two halves are
 * two operations; the last one started is what was in flight.
 */
export function callsInFlight(output: string): CallInFlight[] {
  const open = new Map<string, CallInFlight['action']>()
  for (const raw of output.split('\n')) {
    const line = raw.trim()
    const started = STARTED.exec(line)
    if (started) {
      open.set(started[1], STARTED_ACTION[started[2] as keyof typeof STARTED_ACTION])
      continue
    }
    const finished = FINISHED.exec(line)
    if (finished) open.delete(finished[1])
  }
  return [...open].map(([address, action]) => ({address, action}))
}

/** The addresses whose import block names an object that does not exist, from terraform's plan errors. */
export function importsOfNothing(output: string): string[] {
  if (!/Cannot import non-existent remote object/.test(output)) return []
  const text = output.replace(/^[│╷╵]\s?/gm, '').replace(/\s+/g, ' ')
  return [...new Set([...text.matchAll(/import an existing object to "([^"]+)"/g)].map((match) => match[1]))]
}

/**
 * The addresses terraform failed to create because an object of that name already exists in AWS
 * (DBParameterGroupAlreadyExists, EntityAlreadyExists, BucketAlreadyOwnedByYou, ...): there, and
 * not in the state.
 */
export function createdOutsideState(output: string): string[] {
  const text = output.replace(/^[│╷╵]\s?/gm, '')
  const addresses = new Set<string>()
  for (const block of text.split(/^Error: /m).slice(1)) {
    if (!/^creating /.test(block) || !/AlreadyExists|AlreadyOwnedByYou|already exists/i.test(block)) continue
    const address = /^\s*with (\S+),$/m.exec(block)?.[1]
    if (address) addresses.add(address)
  }
  return [...addresses]
}

/** Counts a `terraform show -json` plan's resource changes, with replacements apart from updates. */
export function summarizePlan(plan: unknown): PlanSummary {
  const changes: ResourceChange[] = []
  const resourceChanges = (plan as {resource_changes?: {address: string; type: string; change: {actions: string[]; importing?: {id?: string}}}[]}).resource_changes ?? []
  for (const change of resourceChanges) {
    const importing = change.change.importing?.id
    let action = toAction(change.change.actions)
    if (importing !== undefined && action === 'no-op') action = 'import'
    if (action === 'no-op' || action === 'read') continue
    changes.push({address: change.address, type: change.type, action, ...(importing === undefined ? {} : {importing})})
  }
  const count = (action: ChangeAction) => changes.filter((change) => change.action === action).length
  return {create: count('create'), update: count('update'), replace: count('replace'), delete: count('delete'), import: changes.filter((change) => change.importing !== undefined).length, changes}
}

function toAction(actions: string[]): ChangeAction {
  if (actions.includes('delete') && actions.includes('create')) return 'replace'
  const [only] = actions
  return (['create', 'update', 'delete', 'read'].includes(only) ? only : 'no-op') as ChangeAction
}

/**
 * How long plan and apply wait for another run's state lock: 60s, or INFRA_TF_LOCK_TIMEOUT (terraform's
 * duration, e.g. 45m) where runs queue on purpose, as a pipeline's applies to one environment do.
 */
export function lockTimeout(env: NodeJS.ProcessEnv = process.env): string {
  const wanted = env.INFRA_TF_LOCK_TIMEOUT?.trim()
  if (!wanted) return '60s'
  if (!/^\d{1,4}[smh]$/.test(wanted)) {
    throw new InfraError(`INFRA_TF_LOCK_TIMEOUT="${wanted}" is not a duration`, 'set it like 90s, 45m or 2h, or unset it for 60s', 'BAD_LOCK_TIMEOUT', 2)
  }
  return wanted
}
