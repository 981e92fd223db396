import {createHash} from 'node:crypto'

/**
 * What a plan would change, as data: each resource's address, its actions, and for each top-level
 * attribute that changes a digest of the value before and after (or "unknown" when terraform only
 * knows it after the apply). Digests, not values: the plan artifact of a pull request is readable
 * by anyone who can read the repository, and values may be sensitive.
 *
 * Read from `terraform show -json PLAN` (https://developer.hashicorp.com/terraform/internals/json-format
 * "Change Representation": `resource_changes[].change.{actions,before,after,after_unknown}`).
 */
export interface PlannedChange {
  address: string
  actions: string[]
  /** attribute name -> {before, after} digests; only the attributes whose value changes. */
  attributes: Record<string, {before: string; after: string}>
}

interface JsonResourceChange {
  address: string
  change: {actions: string[]; before?: unknown; after?: unknown; after_unknown?: unknown; importing?: {id?: string}}
}

export const UNKNOWN_VALUE = 'unknown'

export function planChanges(planJson: unknown): PlannedChange[] {
  const changes = (planJson as {resource_changes?: JsonResourceChange[]}).resource_changes ?? []
  return changes
    .filter((change) => !isNoOp(change))
    .map((change) => ({address: change.address, actions: [...change.change.actions], attributes: changedAttributes(change.change)}))
    .sort((a, b) => a.address.localeCompare(b.address))
}

/** A no-op or a data source read changes nothing; an import without changes still does (it adopts). */
function isNoOp(change: JsonResourceChange): boolean {
  const [only, ...rest] = change.change.actions
  if (rest.length > 0) return false
  if (only === 'read') return true
  return only === 'no-op' && change.change.importing === undefined
}

function changedAttributes(change: JsonResourceChange['change']): PlannedChange['attributes'] {
  const before = asObject(change.before)
  const after = asObject(change.after)
  const unknown = asObject(change.after_unknown)
  const names = new Set([...Object.keys(before), ...Object.keys(after), ...Object.keys(unknown).filter((name) => hasUnknown(unknown[name]))])
  const attributes: PlannedChange['attributes'] = {}
  for (const name of [...names].sort()) {
    const beforeDigest = digest(before[name])
    const afterDigest = hasUnknown(unknown[name]) ? `${UNKNOWN_VALUE}:${digest(after[name])}` : digest(after[name])
    if (beforeDigest !== afterDigest) attributes[name] = {before: beforeDigest, after: afterDigest}
  }
  return attributes
}

const asObject = (value: unknown): Record<string, unknown> => (value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {})

/** after_unknown mirrors the value's shape with `true` where the value is unknown until apply. */
function hasUnknown(value: unknown): boolean {
  if (value === true) return true
  if (Array.isArray(value)) return value.some(hasUnknown)
  if (value && typeof value === 'object') return Object.values(value).some(hasUnknown)
  return false
}

function digest(value: unknown): string {
  return createHash('sha256').update(canonical(value ?? null)).digest('hex').slice(0, 32)
}

/** JSON with sorted keys, so two plans that hold the same value give the same digest. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`
  if (value && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonical((value as Record<string, unknown>)[key])}`)
      .join(',')}}`
  }
  return JSON.stringify(value)
}

/**
 * Every way the changes planned now differ from the reviewed ones, one line each; empty when
 * they are the same changes (same addresses, same actions, same attributes changing to the same values).
 */
export function differences(reviewed: PlannedChange[], current: PlannedChange[]): string[] {
  const found: string[] = []
  const byAddress = new Map(reviewed.map((change) => [change.address, change]))
  const currentAddresses = new Set(current.map((change) => change.address))
  for (const change of current) {
    const before = byAddress.get(change.address)
    if (!before) {
      found.push(`${change.address}: ${change.actions.join('+')} was not in the reviewed plan`)
      continue
    }
    if (before.actions.join('+') !== change.actions.join('+')) {
      found.push(`${change.address}: reviewed ${before.actions.join('+')}, now ${change.actions.join('+')}`)
      continue
    }
    const names = new Set([...Object.keys(before.attributes), ...Object.keys(change.attributes)])
    const changed = [...names].filter((name) => JSON.stringify(before.attributes[name]) !== JSON.stringify(change.attributes[name]))
    if (changed.length > 0) found.push(`${change.address}: ${changed.join(', ')} ${changed.length === 1 ? 'changes' : 'change'} differently than reviewed`)
  }
  for (const change of reviewed) {
    if (!currentAddresses.has(change.address)) found.push(`${change.address}: the reviewed ${change.actions.join('+')} is no longer planned`)
  }
  return found
}
