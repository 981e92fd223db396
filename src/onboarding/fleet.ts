import type {EnvironmentSpec, Estate} from '../estate/model.js'
import {InfraError} from '../errors.js'
import {type ProvisionOptions, type ProvisionReport, type StackReport, provision} from '../provision/provision.js'
import {type BaselineRecord, recordBaseline} from './baseline.js'

/** `all`, a comma-separated list, or globs (`eu-*`), over the estate's clients. */
export function selectClients(estate: Estate, selector: string): EnvironmentSpec[] {
  const pending = new Set((estate.pendingClients ?? []).map((client) => client.name))
  const patterns = selector.split(',').map((part) => part.trim()).filter(Boolean)
  if (patterns.length === 0) throw new InfraError('--clients is empty', 'pass all, a list (a,b) or a glob (eu-*)', 'NO_CLIENTS')
  const chosen = new Map<string, EnvironmentSpec>()
  for (const pattern of patterns) {
    if (pattern === 'all') {
      for (const client of estate.clients) chosen.set(client.name, client)
      continue
    }
    const regex = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`)
    const matches = estate.clients.filter((client) => regex.test(client.name))
    if (matches.length === 0) {
      if (pending.has(pattern)) {
        throw new InfraError(`client ${pattern} is still being onboarded`, `finish it with \`infra onboard-client --name ${pattern}\` first`, 'CLIENT_PENDING')
      }
      throw new InfraError(`--clients ${pattern} matches no client in ${estate.source}`, `clients: ${estate.clients.map((client) => client.name).join(', ') || '(none)'}`, 'UNKNOWN_CLIENT')
    }
    for (const client of matches) chosen.set(client.name, client)
  }
  if (chosen.size === 0) throw new InfraError(`${estate.source} has no clients to provision`, 'onboard one with `infra onboard-client`', 'NO_CLIENTS')
  return [...chosen.values()]
}

/** One client's plan as the summary table shows it. */
export interface FleetPlanRow {
  client: string
  accountId: string
  /** The first stack with changes; stacks that depend on it are planned after it is applied. */
  stack: string | null
  create: number
  update: number
  replace: number
  delete: number
  /** Findings of the policy gate on the plan (blocking ones fail the client before this point). */
  findings: {critical: number; high: number; medium: number; low: number}
  state: 'changes' | 'no-changes' | 'failed' | 'dry-run'
  error?: string
}

export interface FleetClientResult {
  client: string
  accountId: string
  status: 'applied' | 'no-changes' | 'declined' | 'failed' | 'dry-run'
  report: ProvisionReport | null
  baseline: BaselineRecord | null
  error: {code: string; message: string; fix: string | null} | null
}

export interface FleetReport {
  mode: 'apply' | 'dry-run'
  parallel: number
  plan: FleetPlanRow[]
  /** Whether the one question was answered yes (or --yes); null when nothing had changes. */
  approved: boolean | null
  clients: FleetClientResult[]
  failed: number
}

export interface FleetOptions {
  estate: Estate
  clients: EnvironmentSpec[]
  mode: 'apply' | 'dry-run'
  parallel: number
  workDir: string
  /** Everything provision() needs besides the target, the mode, confirm and the renderer. */
  provision: Omit<ProvisionOptions, 'estate' | 'env' | 'mode' | 'confirm' | 'renderer' | 'workDir'>
  renderer: 'simple' | 'silent'
  /** Asked once, with every client's plan, before anything is applied. */
  approve: (plan: FleetPlanRow[]) => Promise<boolean>
  /** The single-target run; provision() itself unless a test measures the orchestration alone. */
  provisionTarget?: typeof provision
}

/**
 * Plans every client with the same code as `infra provision`, asks once, then applies with at most
 * `parallel` clients at a time. One client's failure is recorded and the others go on.
 *
 * provision() asks its confirm callback for each stack with changes; here that callback is a
 * barrier: a client that has planned gives up its slot and waits until every client has planned
 * (or failed), then the one answer is given to all. Later stacks of the same client (planned only
 * once the stacks they depend on exist) are covered by that answer.
 */
export async function provisionFleet(options: FleetOptions): Promise<FleetReport> {
  const {clients} = options
  const slots = semaphore(Math.max(1, options.parallel))
  const rows = new Map<string, FleetPlanRow>()
  let settled = 0
  let releaseDecision!: (approved: boolean) => void
  const decision = new Promise<boolean>((resolve) => (releaseDecision = resolve))
  let approved: boolean | null = null
  let approveError: unknown
  const planned = () => {
    settled++
    if (settled === clients.length) void decide()
  }
  const decide = async () => {
    const plan = clients.map((client) => rows.get(client.name)!)
    if (!plan.some((row) => row.state === 'changes')) return releaseDecision(false)
    try {
      approved = await options.approve(plan)
    } catch (error) {
      // No one to ask, or the question failed: nothing is applied and the run ends with that error.
      approveError = error
      approved = false
    }
    releaseDecision(approved)
  }

  const results = await Promise.all(
    clients.map(async (client): Promise<FleetClientResult> => {
      // Whether this client holds a slot now: it gives it up while it waits for the answer.
      let holding = false
      const take = async () => {
        await slots.acquire()
        holding = true
      }
      const give = () => {
        if (holding) slots.release()
        holding = false
      }
      await take()
      let reachedBarrier = false
      try {
        const report = await (options.provisionTarget ?? provision)({
          ...options.provision,
          estate: options.estate,
          env: client,
          mode: options.mode,
          workDir: options.workDir,
          renderer: options.renderer,
          confirm: async (stack) => {
            if (reachedBarrier) return decision
            reachedBarrier = true
            rows.set(client.name, planRow(client, stack))
            give()
            planned()
            const answer = await decision
            if (answer) await take()
            return answer
          },
        })
        if (!reachedBarrier) {
          rows.set(client.name, {...emptyRow(client), state: options.mode === 'dry-run' ? 'dry-run' : 'no-changes'})
          planned()
        }
        const declined = report.stacks.some((stack) => stack.skipped === 'declined')
        const applied = report.stacks.some((stack) => stack.applied)
        const baseline = options.mode === 'apply' && !declined ? recordBaseline(options.workDir, report) : null
        const status = options.mode === 'dry-run' ? 'dry-run' : declined ? 'declined' : applied ? 'applied' : 'no-changes'
        return {client: client.name, accountId: client.accountId, status, report, baseline, error: null}
      } catch (error) {
        const err = error as InfraError
        if (!reachedBarrier) {
          rows.set(client.name, {...emptyRow(client), state: 'failed', error: err.message})
          planned()
        }
        return {
          client: client.name,
          accountId: client.accountId,
          status: 'failed',
          report: null,
          baseline: null,
          error: {code: err.code ?? err.name ?? 'ERROR', message: err.message, fix: err.fix ?? null},
        }
      } finally {
        give()
      }
    }),
  )
  if (approveError) throw approveError
  return {
    mode: options.mode,
    parallel: options.parallel,
    plan: clients.map((client) => rows.get(client.name)!),
    approved,
    clients: results,
    failed: results.filter((result) => result.status === 'failed').length,
  }
}

function emptyRow(client: EnvironmentSpec): FleetPlanRow {
  return {client: client.name, accountId: client.accountId, stack: null, create: 0, update: 0, replace: 0, delete: 0, findings: {critical: 0, high: 0, medium: 0, low: 0}, state: 'no-changes'}
}

function planRow(client: EnvironmentSpec, stack: StackReport): FleetPlanRow {
  const plan = stack.plan!
  const summary = stack.audit.plan?.summary ?? stack.audit.synthesized?.summary
  return {
    client: client.name,
    accountId: client.accountId,
    stack: stack.name,
    create: plan.create,
    update: plan.update,
    replace: plan.replace,
    delete: plan.delete,
    findings: {critical: summary?.critical ?? 0, high: summary?.high ?? 0, medium: summary?.medium ?? 0, low: summary?.low ?? 0},
    state: 'changes',
  }
}

/** At most n holders at a time. */
function semaphore(n: number) {
  let free = n
  const waiting: (() => void)[] = []
  return {
    acquire(): Promise<void> {
      if (free > 0) {
        free--
        return Promise.resolve()
      }
      return new Promise((resolve) => waiting.push(resolve))
    },
    release(): void {
      const next = waiting.shift()
      if (next) next()
      else free++
    },
  }
}
