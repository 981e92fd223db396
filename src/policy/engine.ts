import type {RiskException} from '../estate/model.js'
import type {AuditInput, AuditResource, NotEvaluatedAttribute} from './resources.js'
import {type AuditContext, type Rule, type Severity, atLeast, refersTo} from './rule.js'
import {RULES} from './rules.js'

export interface Finding {
  rule: string
  checkov: string | null
  title: string
  severity: Severity
  address: string
  resourceType: string
  constructPath: string | null
  message: string
  fix: string
  /**
   * failed: must be fixed; accepted: a declared, unexpired exception covers it; unproven: the rule
   * failed only after reading an attribute configuration input could not evaluate (see unprovenBy),
   * so the verdict waits for a plan and does not fail the audit.
   */
  status: 'failed' | 'accepted' | 'unproven'
  exception: {reason: string; expires: string; source: string} | null
  /** For unproven findings: the attributes read that need a plan ("address attribute"); null otherwise. */
  unprovenBy: string[] | null
}

export interface AuditReport {
  source: string
  kind: AuditInput['kind']
  resources: number
  rules: number
  findings: Finding[]
  summary: Record<Severity, number> & {accepted: number; unproven: number}
  /** The lowest severity that fails the audit (--fail-on); failed findings below it are reported, not failing. */
  failOn: Severity
  /** True when no failed finding is at or above failOn. */
  passed: boolean
  /** Attributes of configuration input that cannot be known without a plan: findings that read them are unproven. */
  notEvaluated: NotEvaluatedAttribute[]
}

export interface AuditOptions {
  protected?: boolean
  exceptions?: RiskException[]
  /** Findings at or above this severity fail the audit (default: high). */
  blockAt?: Severity
  /** Rule ids accepted for this run only (provision --accept-risk), with the recorded reason. */
  acceptedRisks?: {rule: string; reason: string}[]
  today?: Date
  rules?: Rule[]
}

export function auditContext(resources: AuditResource[], isProtected: boolean): AuditContext {
  const byType = new Map<string, AuditResource[]>()
  for (const resource of resources) byType.set(resource.type, [...(byType.get(resource.type) ?? []), resource])
  return {
    resources,
    protected: isProtected,
    ofType: (...types) => types.flatMap((type) => byType.get(type) ?? []),
    referencing: (target, type, attribute) => (byType.get(type) ?? []).filter((candidate) => refersTo(candidate.values[attribute], target)),
  }
}

/** Runs every rule over every resource it covers; exceptions turn findings into accepted ones. */
export function runAudit(input: AuditInput, options: AuditOptions = {}): AuditReport {
  const rules = options.rules ?? RULES
  const ctx = auditContext(input.resources, options.protected ?? false)
  const today = (options.today ?? new Date()).toISOString().slice(0, 10)
  const findings: Finding[] = []
  const unknown = unknownParts(input)
  const tracker = unknown.size > 0 ? new ReadTracker(ctx, unknown) : undefined
  let known: {ctx: AuditContext; tracker: ReadTracker} | undefined
  const knownInput = () => {
    if (known) return known
    const view = knownOnly(input.resources, unknown)
    const knownCtx = auditContext(view.resources, options.protected ?? false)
    return (known = {ctx: knownCtx, tracker: new ReadTracker(knownCtx, view.remaining)})
  }
  for (const rule of rules) {
    for (const resource of ctx.ofType(...rule.types)) {
      const reads = tracker?.begin()
      let failure = reads ? rule.check(reads.wrap(resource), reads.ctx) : rule.check(resource, ctx)
      if (!failure) continue
      let unprovenBy = reads && reads.unknownReads.size > 0 ? [...reads.unknownReads].sort() : null
      if (unprovenBy && rule.failsOn === 'presence') {
        // Proven anyway when the known values alone show it (one open block beside an unknown one).
        const view = knownInput()
        const alone = view.ctx.resources.find((candidate) => candidate.address === resource.address)
        const recheck = view.tracker.begin()
        const proven = alone ? rule.check(recheck.wrap(alone), recheck.ctx) : undefined
        if (proven && recheck.unknownReads.size === 0) [failure, unprovenBy] = [proven, null]
      }
      const exception = (options.exceptions ?? []).find(
        (candidate) => candidate.rule === rule.id && candidate.expires >= today && matchesResource(candidate.resource, resource),
      )
      const accepted = options.acceptedRisks?.find((risk) => risk.rule === rule.id)
      findings.push({
        rule: rule.id,
        checkov: rule.checkov ?? null,
        title: rule.title,
        severity: rule.severity,
        address: resource.address,
        resourceType: resource.type,
        constructPath: resource.constructPath ?? null,
        message: `${resource.constructPath ?? resource.address} ${failure}`,
        fix: rule.fix,
        status: unprovenBy ? 'unproven' : exception || accepted ? 'accepted' : 'failed',
        exception: exception
          ? {reason: exception.reason, expires: exception.expires, source: 'estate'}
          : accepted
            ? {reason: accepted.reason, expires: today, source: '--accept-risk'}
            : null,
        unprovenBy,
      })
    }
  }
  const blockAt = options.blockAt ?? 'high'
  const failed = findings.filter((finding) => finding.status === 'failed')
  const count = (status: Finding['status']) => findings.filter((finding) => finding.status === status).length
  const summary = {critical: 0, high: 0, medium: 0, low: 0, accepted: count('accepted'), unproven: count('unproven')}
  for (const finding of failed) summary[finding.severity]++
  return {
    source: input.source,
    kind: input.kind,
    resources: input.resources.length,
    rules: rules.length,
    findings,
    summary,
    failOn: blockAt,
    passed: !failed.some((finding) => atLeast(finding.severity, blockAt)),
    notEvaluated: input.notEvaluated ?? [],
  }
}

/** What configuration input could not evaluate on one resource: paths into its values, or all of it. */
interface Unknown {
  /** Its instances are unknown (count or for_each needs a plan): anything read from it is. */
  all: boolean
  /** Paths into values (`ingress.1.from_port`, `policy`, `ingress` for an unknown dynamic block). */
  paths: string[]
}

function unknownParts(input: AuditInput): Map<string, Unknown> {
  const unknown = new Map<string, Unknown>()
  const entry = (address: string) => unknown.get(address) ?? unknown.set(address, {all: false, paths: []}).get(address)!
  const withPaths = new Set<string>()
  for (const resource of input.resources) {
    if (!resource.unknownPaths?.length) continue
    entry(resource.address).paths.push(...resource.unknownPaths)
    withPaths.add(resource.address)
  }
  for (const {address, attribute} of input.notEvaluated ?? []) {
    const top = attribute.split('.')[0]
    if (top === 'count' || top === 'for_each') entry(address).all = true
    // Producers that give no paths: the attribute as a whole.
    else if (!withPaths.has(address)) entry(address).paths.push(top)
  }
  return unknown
}

/** Whether reading `path` reads something unknown: the path itself, or inside an unknown attribute or block. */
const readsUnknown = (path: string, unknown: Unknown): boolean => unknown.all || unknown.paths.some((known) => path === known || path.startsWith(`${known}.`))

/**
 * Records what a rule reads, by path, on the resource it judges and on every resource it reaches
 * through the context (including the link attribute of every candidate it looked through), and
 * which of those reads configuration input could not evaluate: a rule that saw such a value unset
 * (an SSH rule reading a from_port that comes from a module's unknown output) has not shown
 * anything, and its failure is unproven rather than a finding on a resource that may be innocent.
 */
class ReadTracker {
  /** What the current check read that needs a plan; begin() starts a check (wrappers are kept across checks). */
  unknownReads = new Set<string>()
  readonly ctx: AuditContext
  private readonly wrapped = new Map<AuditResource, AuditResource>()
  private readonly originals = new Map<AuditResource, AuditResource>()

  constructor(
    inner: AuditContext,
    private readonly unknown: Map<string, Unknown>,
  ) {
    const wrap = (resource: AuditResource) => this.wrap(resource)
    this.ctx = {
      // Wrapped only when a rule asks for all of them.
      get resources() {
        return inner.resources.map(wrap)
      },
      protected: inner.protected,
      ofType: (...types) => inner.ofType(...types).map(wrap),
      referencing: (target, type, attribute) => {
        for (const candidate of inner.ofType(type)) this.note(candidate.address, attribute)
        return inner.referencing(this.originals.get(target) ?? target, type, attribute).map(wrap)
      },
    }
  }

  begin(): this {
    this.unknownReads = new Set()
    return this
  }

  wrap(resource: AuditResource): AuditResource {
    const known = this.wrapped.get(resource)
    if (known) return known
    const wrapper = {...resource, values: this.track(resource.address, resource.values, '')}
    this.wrapped.set(resource, wrapper)
    this.originals.set(wrapper, resource)
    return wrapper
  }

  /** A view of an object or array that notes the path of every property read, nested ones included. */
  private track<T extends object>(address: string, value: T, prefix: string): T {
    const children = new Map<PropertyKey, unknown>()
    return new Proxy(value, {
      get: (target, key, receiver) => {
        const result = Reflect.get(target, key, receiver)
        if (typeof key !== 'string' || typeof result === 'function') return result
        const path = `${prefix}${key}`
        this.note(address, path)
        if (result === null || typeof result !== 'object') return result
        if (!children.has(key)) children.set(key, this.track(address, result, `${path}.`))
        return children.get(key)
      },
    })
  }

  private note(address: string, path: string): void {
    const unknown = this.unknown.get(address)
    if (unknown && readsUnknown(path, unknown)) this.unknownReads.add(`${address} ${unknown.all ? 'count' : path}`)
  }
}

/**
 * The resources with what is unknown taken out: a block holding an unknown removed whole (a block
 * without its from_port would read as every port), a resource whose instances are unknown left out.
 * An unknown attribute outside a block stays unknown (`remaining`): removing it would let a rule
 * read its default (from_port unset is every port). A rule that fails on something present (an open
 * port) and fails here without reading what remains unknown has proven it on known values alone.
 */
function knownOnly(resources: AuditResource[], unknown: Map<string, Unknown>): {resources: AuditResource[]; remaining: Map<string, Unknown>} {
  const result: AuditResource[] = []
  const remaining = new Map<string, Unknown>()
  for (const resource of resources) {
    const parts = unknown.get(resource.address)
    if (!parts) {
      result.push(resource)
      continue
    }
    if (parts.all) continue
    const values = structuredClone(resource.values)
    const kept: string[] = []
    // Every element is found before any is removed: removing one shifts the indexes after it.
    const drop = new Map<unknown[], Set<unknown>>()
    for (const path of parts.paths) {
      const block = blockOf(values, path.split('.'))
      if (block) drop.set(block.list, (drop.get(block.list) ?? new Set()).add(block.element))
      else kept.push(path)
    }
    for (const [list, elements] of drop) list.splice(0, list.length, ...list.filter((element) => !elements.has(element)))
    if (kept.length > 0) remaining.set(resource.address, {all: false, paths: kept})
    result.push({...resource, values})
  }
  return {resources: result, remaining}
}

/** The outermost block element a path runs through (`ingress.1.from_port`: ingress[1]), and its list; undefined when it runs through none. */
function blockOf(values: Record<string, any>, segments: string[]): {list: unknown[]; element: unknown} | undefined {
  let container: any = values
  for (let i = 0; i < segments.length - 1; i++) {
    const next = container?.[segments[i]]
    if (Array.isArray(next) && /^\d+$/.test(segments[i + 1])) return {list: next, element: next[Number(segments[i + 1])]}
    container = next
  }
  return undefined
}

/** An exception names a resource by address, construct path, or a glob of either ("*" for any). */
function matchesResource(pattern: string, resource: AuditResource): boolean {
  const regex = new RegExp(`^${pattern.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`)
  return regex.test(resource.address) || (resource.constructPath !== undefined && regex.test(resource.constructPath))
}
