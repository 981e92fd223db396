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
  const unknown = unknownAttributes(input.notEvaluated ?? [])
  for (const rule of rules) {
    for (const resource of ctx.ofType(...rule.types)) {
      const reads = unknown.size > 0 ? new ReadTracker(ctx, unknown) : undefined
      const failure = reads ? rule.check(reads.wrap(resource), reads.ctx) : rule.check(resource, ctx)
      if (!failure) continue
      const unprovenBy = reads && reads.unknownReads.size > 0 ? [...reads.unknownReads].sort() : null
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

/** Per resource address, the top-level attributes configuration input could not evaluate; '*' when its instances are unknown. */
function unknownAttributes(notEvaluated: NotEvaluatedAttribute[]): Map<string, Set<string>> {
  const unknown = new Map<string, Set<string>>()
  for (const entry of notEvaluated) {
    const attribute = entry.attribute.split('.')[0]
    const set = unknown.get(entry.address) ?? new Set<string>()
    set.add(attribute === 'count' || attribute === 'for_each' ? '*' : attribute)
    unknown.set(entry.address, set)
  }
  return unknown
}

/**
 * Records which attributes a rule reads, on the resource it judges and on every resource it
 * reaches through the context, and which of those configuration input could not evaluate: a rule
 * that saw such an attribute unset (an SSH rule reading a from_port that comes from a module's
 * unknown output) has not shown anything, and its failure is reported as unproven, not as a
 * finding on a resource that may be innocent. Links are read too: a settings resource whose
 * `bucket` is unknown may be the one the rule looked for.
 */
class ReadTracker {
  readonly unknownReads = new Set<string>()
  readonly ctx: AuditContext
  private readonly wrapped = new Map<AuditResource, AuditResource>()

  constructor(
    private readonly inner: AuditContext,
    private readonly unknown: Map<string, Set<string>>,
  ) {
    const wrap = (resource: AuditResource) => this.wrap(resource)
    this.ctx = {
      // Wrapped only when a rule asks for all of them.
      get resources() {
        return inner.resources.map(wrap)
      },
      protected: inner.protected,
      ofType: (...types) => inner.ofType(...types).map((resource) => this.wrap(resource)),
      referencing: (target, type, attribute) => {
        for (const candidate of inner.ofType(type)) this.note(candidate.address, attribute)
        return inner.referencing(this.original(target), type, attribute).map((resource) => this.wrap(resource))
      },
    }
  }

  wrap(resource: AuditResource): AuditResource {
    const known = this.wrapped.get(resource)
    if (known) return known
    const values = new Proxy(resource.values, {
      get: (target, key, receiver) => {
        if (typeof key === 'string') this.note(resource.address, key)
        return Reflect.get(target, key, receiver)
      },
    })
    const wrapper = {...resource, values}
    this.wrapped.set(resource, wrapper)
    this.originals.set(wrapper, resource)
    return wrapper
  }

  private readonly originals = new Map<AuditResource, AuditResource>()

  private original(resource: AuditResource): AuditResource {
    return this.originals.get(resource) ?? resource
  }

  private note(address: string, attribute: string): void {
    const unknown = this.unknown.get(address)
    if (!unknown) return
    if (unknown.has(attribute)) this.unknownReads.add(`${address} ${attribute}`)
    else if (unknown.has('*')) this.unknownReads.add(`${address} count`)
  }
}

/** An exception names a resource by address, construct path, or a glob of either ("*" for any). */
function matchesResource(pattern: string, resource: AuditResource): boolean {
  const regex = new RegExp(`^${pattern.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`)
  return regex.test(resource.address) || (resource.constructPath !== undefined && regex.test(resource.constructPath))
}
