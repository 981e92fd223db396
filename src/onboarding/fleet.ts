import type {EnvironmentSpec, Estate} from '../estate/model.js'
import {InfraError, isInfraError} from '../errors.js'
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

/** One client's stack with changes (or a client's outcome) as the summary table shows it. */
export interface FleetPlanRow {
  client: string
  accountId: string
  /** The stack with changes; a client's later stacks (planned once earlier ones are applied) have rows of their own. */
  stack: string | null
  /** Which question covered it: 1 for the first stack with changes, 2 for the next one planned after it was applied, ... */
  round: number
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
  /** The stacks whose changes were applied in this run, in order (a declined client may have some from earlier rounds). */
  applied: string[]
  /** The stacks with changes, or not yet planned, that were not applied: declined, or never reached after a "no". */
  notApplied: string[]
  report: ProvisionReport | null
  baseline: BaselineRecord | null
  error: {code: string; message: string; fix: string | null} | null
}

export interface FleetReport {
  mode: 'apply' | 'dry-run'
  parallel: number
  plan: FleetPlanRow[]
  /** Whether every question was answered yes (or --yes); null when nothing had changes. */
  approved: boolean | null
  /** How many questions were asked: one per round of stacks planned after earlier ones were applied. */
  questions: number
  clients: FleetClientResult[]
  failed: number
}

/** What one question covers: every client's stack with changes at this round, with its whole plan. */
export interface FleetQuestion {
  round: number
  /** Every client's row: its stack with changes, or why it has none (no changes, failed). */
  rows: FleetPlanRow[]
  /** The stacks with changes that the answer applies, each with its full plan. */
  stacks: {client: EnvironmentSpec; stack: StackReport}[]
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
  /** Asked once per round, with every stack the answer covers, before any of them is applied. */
  approve: (question: FleetQuestion) => Promise<boolean>
  /** The single-target run; provision() itself unless a test measures the orchestration alone. */
  provisionTarget?: typeof provision
}

/** One question and the clients waiting for it. */
interface Round {
  waiting: Map<string, StackReport>
  decided: boolean
  decision: Promise<boolean>
  release(answer: boolean): void
}

/**
 * Plans every client with the same code as `infra provision`, asks, then applies with at most
 * `parallel` clients at a time. One client's failure is recorded and the others go on.
 *
 * provision() asks its confirm callback for each stack with changes; here that callback is a
 * barrier: a client that has planned gives up its slot and waits until every client has planned
 * (or finished), then one answer is given to all. A client's later stack (planned only once the
 * stacks it depends on exist) reaches the next round's barrier: nothing is applied that was not
 * shown in the question that covered it, so a client with two stacks changing is asked about twice.
 */
export async function provisionFleet(options: FleetOptions): Promise<FleetReport> {
  const {clients} = options
  const slots = semaphore(Math.max(1, options.parallel))
  const rows: FleetPlanRow[] = []
  const rounds: Round[] = []
  /** How many barriers each client has reached, and whether it has finished. */
  const reached = new Map(clients.map((client) => [client.name, 0]))
  const finished = new Set<string>()
  const outcome = new Map<string, FleetPlanRow>()
  let approved: boolean | null = null
  let approveError: unknown
  let questions = 0

  const roundAt = (index: number): Round => {
    while (rounds.length <= index) {
      let release!: (answer: boolean) => void
      const decision = new Promise<boolean>((resolve) => (release = resolve))
      rounds.push({waiting: new Map(), decided: false, decision, release})
    }
    return rounds[index]
  }
  // Each round is decided once every client waits at it or has finished.
  const maybeDecide = () => {
    const index = rounds.findIndex((round) => !round.decided)
    if (index === -1) return
    const round = rounds[index]
    if (!clients.every((client) => finished.has(client.name) || round.waiting.has(client.name))) return
    round.decided = true
    void decide(index, round)
  }
  const decide = async (index: number, round: Round) => {
    if (round.waiting.size === 0) return round.release(false)
    const stacks = clients.filter((client) => round.waiting.has(client.name)).map((client) => ({client, stack: round.waiting.get(client.name)!}))
    const covered = stacks.map(({client, stack}) => planRow(client, stack, index + 1))
    rows.push(...covered)
    const others = clients.filter((client) => !round.waiting.has(client.name)).map((client) => outcome.get(client.name) ?? {...emptyRow(client), round: index + 1})
    let answer = false
    if (approveError === undefined && approved !== false) {
      try {
        questions++
        // The first question shows every client; later ones the stacks they cover.
        const shown = index === 0 ? clients.map((client) => covered.find((row) => row.client === client.name) ?? others.find((row) => row.client === client.name)!) : covered
        answer = await options.approve({round: index + 1, rows: shown, stacks})
      } catch (error) {
        // No one to ask, or the question failed: nothing more is applied and the run ends with that error.
        approveError = error
      }
    }
    approved = approved === false ? false : answer
    round.release(answer)
    maybeDecide()
  }
  const finish = (client: EnvironmentSpec, row?: FleetPlanRow) => {
    if (row && !outcome.has(client.name)) outcome.set(client.name, row)
    finished.add(client.name)
    maybeDecide()
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
      try {
        const report = await (options.provisionTarget ?? provision)({
          ...options.provision,
          estate: options.estate,
          env: client,
          mode: options.mode,
          workDir: options.workDir,
          renderer: options.renderer,
          confirm: async (stack) => {
            const index = reached.get(client.name)!
            reached.set(client.name, index + 1)
            const round = roundAt(index)
            round.waiting.set(client.name, stack)
            give()
            maybeDecide()
            const answer = await round.decision
            if (answer) await take()
            return answer
          },
        })
        finish(client, reached.get(client.name) === 0 ? {...emptyRow(client), state: options.mode === 'dry-run' ? 'dry-run' : 'no-changes'} : undefined)
        const declined = report.stacks.some((stack) => stack.skipped === 'declined')
        const applied = report.stacks.filter((stack) => stack.applied).map((stack) => stack.name)
        const notApplied = options.mode === 'apply' ? report.stacks.filter((stack) => !stack.applied && stack.skipped !== 'no-changes').map((stack) => stack.name) : []
        // A client declined at a later round keeps a record of what earlier rounds applied (its stacks say which were not).
        const baseline = options.mode === 'apply' && (!declined || applied.length > 0) ? recordBaseline(options.workDir, report) : null
        const status = options.mode === 'dry-run' ? 'dry-run' : declined ? 'declined' : applied.length > 0 ? 'applied' : 'no-changes'
        return {client: client.name, accountId: client.accountId, status, applied, notApplied, report, baseline, error: null}
      } catch (error) {
        const err = error as InfraError
        finish(client, {...emptyRow(client), state: 'failed', error: err.message})
        return {
          client: client.name,
          accountId: client.accountId,
          status: 'failed',
          applied: [],
          notApplied: [],
          report: null,
          baseline: null,
          error: {code: err.code ?? err.name ?? 'ERROR', message: err.message, fix: err.fix ?? null},
        }
      } finally {
        give()
      }
    }),
  )
  // Clients with nothing to ask about are in the plan too, as the summary shows them.
  for (const client of clients) if (!rows.some((row) => row.client === client.name)) rows.push(outcome.get(client.name) ?? emptyRow(client))
  const order = new Map(clients.map((client, index) => [client.name, index]))
  rows.sort((a, b) => a.round - b.round || order.get(a.client)! - order.get(b.client)!)
  const report: FleetReport = {mode: options.mode, parallel: options.parallel, plan: rows, approved: questions === 0 ? null : approved, questions, clients: results, failed: results.filter((result) => result.status === 'failed').length}
  if (approveError !== undefined) throw partialFleetError(approveError, report)
  return report
}

/**
 * A question that failed (Ctrl-C, a refusal) after earlier rounds were applied: the same error
 * (code, exit code), its message saying what was applied and what was not, and the report in its
 * details, so neither the text nor the --json output loses what already changed in AWS.
 * Anything but an InfraError is a bug and is thrown as it is, with its stack.
 */
function partialFleetError(error: unknown, report: FleetReport): unknown {
  if (!isInfraError(error)) return error
  const applied = report.clients.filter((client) => client.applied.length > 0).map((client) => `${client.client} (${client.applied.join(', ')})`)
  const notApplied = report.clients.flatMap((client) => client.notApplied)
  const done = applied.length > 0 ? `applied before it: ${applied.join(', ')}` : 'nothing was applied'
  const left = notApplied.length > 0 ? `; not applied: ${notApplied.join(', ')}` : ''
  return new InfraError(`${error.message}; ${done}${left}`, error.fix, error.code, error.exitCode, {fleet: report})
}

/** The fleet's report carried by the error of a run whose question failed, if this is one. */
export function partialFleetReport(error: unknown): FleetReport | undefined {
  if (!isInfraError(error)) return undefined
  const details = error.details as {fleet?: FleetReport} | null
  return details?.fleet
}

function emptyRow(client: EnvironmentSpec): FleetPlanRow {
  return {client: client.name, accountId: client.accountId, stack: null, round: 1, create: 0, update: 0, replace: 0, delete: 0, findings: {critical: 0, high: 0, medium: 0, low: 0}, state: 'no-changes'}
}

function planRow(client: EnvironmentSpec, stack: StackReport, round: number): FleetPlanRow {
  const plan = stack.plan!
  const summary = stack.audit.plan?.summary ?? stack.audit.synthesized?.summary
  return {
    client: client.name,
    accountId: client.accountId,
    stack: stack.name,
    round,
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
