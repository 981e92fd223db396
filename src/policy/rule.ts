import type {AuditResource} from './resources.js'

export const SEVERITIES = ['critical', 'high', 'medium', 'low'] as const
export type Severity = (typeof SEVERITIES)[number]

export function atLeast(severity: Severity, threshold: Severity): boolean {
  return SEVERITIES.indexOf(severity) <= SEVERITIES.indexOf(threshold)
}

/** What rules may ask about the whole input: other resources and how they refer to each other. */
export interface AuditContext {
  resources: AuditResource[]
  ofType(...types: string[]): AuditResource[]
  /** Resources of `type` whose `attribute` refers to target (by reference or by its known id/name). */
  referencing(target: AuditResource, type: string, attribute: string): AuditResource[]
  /** Whether the input belongs to a protected (production) environment. */
  protected: boolean
}

export interface Rule {
  /** Our id, stable across releases: INFRA_<AREA>_<WHAT>. */
  id: string
  /** The equivalent checkov check, where one exists. */
  checkov?: string
  /** Where the rule deliberately fails more than the checkov check it names, and why (`audit rules` says it). */
  stricter?: string
  /**
   * presence: the rule fails on something there (an open port, a wildcard, a public flag), so a
   * failure the known values alone show is proven even when other parts of the input are unknown.
   * Left out for rules that fail on something missing, which an unknown value may supply.
   */
  failsOn?: 'presence'
  /** The AWS documentation its resource types, exemptions and key tests follow (title and URL; test/policy/rules.test.ts asks one of every rule). */
  source: string
  title: string
  severity: Severity
  types: string[]
  fix: string
  /** The failure, in a few words, or undefined when the resource passes. */
  check(resource: AuditResource, ctx: AuditContext): string | undefined
}

export const truthy = (value: unknown): boolean => value === true || value === 'true'
/** A nested block: an object in configuration JSON, a one-element list in plan JSON. */
export const one = (value: unknown): any => (Array.isArray(value) ? value[0] : value)
export const list = <T = any>(value: unknown): T[] => (Array.isArray(value) ? value : value === undefined || value === null ? [] : [value as T])

/** Whether a value (a reference string or a known id/name) points at the target resource. */
export function refersTo(value: unknown, target: AuditResource): boolean {
  if (typeof value !== 'string') return list(value).some((item) => typeof item === 'string' && refersTo(item, target))
  // type.name alone names a root-module resource; inside a module only the full address does.
  const rootAddress = target.address.replace(/\[[^\]]*\]/g, '') === `${target.type}.${target.name}`
  if ((rootAddress && value.includes(`\${${target.type}.${target.name}.`)) || value.includes(`\${${target.address}.`)) return true
  const known = [target.values.id, target.values.bucket, target.values.name, target.values.arn].filter((v) => typeof v === 'string' && !v.includes('${'))
  return known.includes(value)
}

export function parsePolicy(value: unknown): {Statement?: any} | undefined {
  if (typeof value !== 'string') return typeof value === 'object' && value !== null ? (value as any) : undefined
  try {
    return JSON.parse(value)
  } catch {
    return undefined
  }
}
