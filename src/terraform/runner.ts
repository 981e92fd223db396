import {execa} from 'execa'

import {InfraError} from '../errors.js'

export interface TerraformRunOptions {
  binary: string
  /** The synthesized stack's folder. */
  cwd: string
  /** Extra environment: credentials profile, TF_CLI_CONFIG_FILE. */
  env?: Record<string, string | undefined>
  /** Kills terraform (SIGINT, then SIGKILL) when a call takes longer than this. */
  timeoutMs?: number
  /** Called with each line terraform prints, for progress displays. */
  onLine?: (line: string) => void
}

export type ChangeAction = 'create' | 'update' | 'replace' | 'delete' | 'read' | 'no-op'

export interface ResourceChange {
  address: string
  type: string
  action: ChangeAction
}

export interface PlanSummary {
  create: number
  update: number
  replace: number
  delete: number
  changes: ResourceChange[]
}

/** Thin wrapper over the terraform CLI: every call non-interactive, every failure one readable line. */
export class Terraform {
  constructor(private readonly options: TerraformRunOptions) {}

  async init(options: {backend: boolean}): Promise<void> {
    await this.run('init', ['init', '-input=false', '-no-color', `-backend=${options.backend}`, ...(options.backend ? ['-reconfigure'] : [])])
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
    const args = ['plan', '-input=false', '-no-color', '-lock-timeout=60s', '-detailed-exitcode', `-out=${planFile}`]
    if (options.destroy) args.push('-destroy')
    const result = await this.run('plan', args, {allowFailure: true})
    if (result.exitCode === 0) return false
    if (result.exitCode === 2) return true
    throw this.failure('plan', result.stderr || result.stdout)
  }

  async showPlan(planFile: string): Promise<unknown> {
    const result = await this.run('show', ['show', '-json', '-no-color', planFile])
    return JSON.parse(result.stdout)
  }

  async apply(planFile: string): Promise<void> {
    await this.run('apply', ['apply', '-input=false', '-no-color', '-lock-timeout=60s', planFile])
  }

  async output(): Promise<Record<string, {value: unknown}>> {
    const result = await this.run('output', ['output', '-json', '-no-color'])
    return JSON.parse(result.stdout || '{}')
  }

  private async run(step: string, args: string[], options: {allowFailure?: boolean} = {}) {
    const subprocess = execa(this.options.binary, args, {
      cwd: this.options.cwd,
      env: {TF_IN_AUTOMATION: '1', TF_INPUT: '0', CHECKPOINT_DISABLE: '1', ...this.options.env},
      reject: false,
      timeout: this.options.timeoutMs,
      killSignal: 'SIGINT',
      forceKillAfterDelay: 15_000,
      stdin: 'ignore',
      lines: false,
    })
    if (this.options.onLine) {
      const onLine = this.options.onLine
      subprocess.stdout?.on('data', (chunk: Buffer) => {
        for (const line of chunk.toString().split('\n')) if (line.trim()) onLine(line)
      })
    }
    const result = await subprocess
    if (result.timedOut) {
      throw new InfraError(
        `terraform ${step} did not finish within ${Math.round((this.options.timeoutMs ?? 0) / 1000)} s in ${this.options.cwd}`,
        'check the state lock and the API being called, then run again',
        'TERRAFORM_TIMEOUT',
      )
    }
    if (result.failed && result.exitCode === undefined) {
      throw new InfraError(`could not run ${this.options.binary}: ${result.shortMessage}`, 'check the terraform binary', 'TERRAFORM_NOT_RUNNABLE')
    }
    if (result.exitCode !== 0 && !options.allowFailure) throw this.failure(step, String(result.stderr || result.stdout))
    return {stdout: String(result.stdout), stderr: String(result.stderr), exitCode: result.exitCode}
  }

  private failure(step: string, output: string): InfraError {
    return new InfraError(`terraform ${step} failed in ${this.options.cwd}: ${firstError(output)}`, undefined, `TERRAFORM_${step.toUpperCase()}_FAILED`)
  }
}

/** The first "Error: ..." paragraph terraform printed, on one line. */
export function firstError(output: string): string {
  const lines = output.split('\n').map((line) => line.replace(/^[│╷╵]\s?/, '').trim())
  const index = lines.findIndex((line) => line.startsWith('Error:'))
  if (index === -1) return lines.find((line) => line.length > 0) ?? 'no output'
  const paragraph: string[] = []
  for (const line of lines.slice(index)) {
    if (paragraph.length > 0 && line.length === 0) break
    paragraph.push(line)
  }
  return paragraph.join(' ').replace(/^Error:\s*/, '').replace(/\s+/g, ' ')
}

/** Counts a `terraform show -json` plan's resource changes, with replacements apart from updates. */
export function summarizePlan(plan: unknown): PlanSummary {
  const changes: ResourceChange[] = []
  const resourceChanges = (plan as {resource_changes?: {address: string; type: string; change: {actions: string[]}}[]}).resource_changes ?? []
  for (const change of resourceChanges) {
    const action = toAction(change.change.actions)
    if (action === 'no-op' || action === 'read') continue
    changes.push({address: change.address, type: change.type, action})
  }
  const count = (action: ChangeAction) => changes.filter((change) => change.action === action).length
  return {create: count('create'), update: count('update'), replace: count('replace'), delete: count('delete'), changes}
}

function toAction(actions: string[]): ChangeAction {
  if (actions.includes('delete') && actions.includes('create')) return 'replace'
  const [only] = actions
  return (['create', 'update', 'delete', 'read'].includes(only) ? only : 'no-op') as ChangeAction
}
