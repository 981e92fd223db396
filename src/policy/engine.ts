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
  /** failed: must be fixed; accepted: a declared, unexpired exception covers it. */
  status: 'failed' | 'accepted'
  exception: {reason: string; expires: string; source: string} | null
}

export interface AuditReport {
  source: string
  kind: AuditInput['kind']
  resources: number
  rules: number
  findings: Finding[]
  summary: Record<Severity, number> & {accepted: number}
  /** The lowest severity that fails the audit (--fail-on); failed findings below it are reported, not failing. */
  failOn: Severity
  /** True when no failed finding is at or above failOn. */
  passed: boolean
  /** Attributes of configuration input that cannot be known without a plan: rules saw them unset. */
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
  for (const rule of rules) {
    for (const resource of ctx.ofType(...rule.types)) {
      const failure = rule.check(resource, ctx)
      if (!failure) continue
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
        status: exception || accepted ? 'accepted' : 'failed',
        exception: exception
          ? {reason: exception.reason, expires: exception.expires, source: 'estate'}
          : accepted
            ? {reason: accepted.reason, expires: today, source: '--accept-risk'}
            : null,
      })
    }
  }
  const blockAt = options.blockAt ?? 'high'
  const failed = findings.filter((finding) => finding.status === 'failed')
  const summary = {critical: 0, high: 0, medium: 0, low: 0, accepted: findings.length - failed.length}
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

/** An exception names a resource by address, construct path, or a glob of either ("*" for any). */
function matchesResource(pattern: string, resource: AuditResource): boolean {
  const regex = new RegExp(`^${pattern.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`)
  return regex.test(resource.address) || (resource.constructPath !== undefined && regex.test(resource.constructPath))
}
