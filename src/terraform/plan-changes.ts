/**
 * What a saved plan changes in each resource, read from `terraform show -json` as terraform's own
 * plan rendering reads it (internal/command/jsonformat in hashicorp/terraform):
 * - change.before / change.after: the values; after_unknown marks what is "(known after apply)";
 * - before_sensitive / after_sensitive: the same shape as the values, `true` where a value (or a
 *   whole subtree) is sensitive: it is never printed, only "(sensitive value)";
 * - change.replace_paths: the attribute paths that force a replacement ("# forces replacement");
 * - action_reason: why terraform replaces or deletes (replace_because_cannot_update, ...).
 * Format reference: https://developer.hashicorp.com/terraform/internals/json-format#change-representation
 */

/** One attribute that changes, its values rendered for a person (sensitive ones masked). */
export interface AttributeChange {
  /** The attribute's path: `tags.Name`, `ingress[0].cidr_blocks`. */
  path: string
  /** Absent when the attribute is new. */
  before?: string
  /** Absent when the attribute is removed. */
  after?: string
  /** This attribute's change is why the resource is replaced. */
  forcesReplacement?: true
}

export const SENSITIVE = '(sensitive value)'
export const KNOWN_AFTER_APPLY = '(known after apply)'

/** Longest rendered value; a policy document is cut with its length said. */
const MAX_VALUE = 120

/** Why terraform replaces or destroys a resource, in words (terraform's plan says the same). */
const REASONS: Record<string, string> = {
  replace_because_tainted: 'tainted: an earlier apply failed partway through creating it',
  replace_because_cannot_update: 'an attribute that cannot be changed in place changes',
  replace_by_request: 'replacement was requested (-replace)',
  replace_by_triggers: 'its replace_triggered_by references changed',
  delete_because_no_resource_config: 'no longer in the configuration',
  delete_because_no_module: 'its module is no longer in the configuration',
  delete_because_wrong_repetition: 'the resource no longer uses count or for_each as it did',
  delete_because_count_index: 'its count index is out of range',
  delete_because_each_key: 'its for_each key is no longer in the map',
  delete_because_no_move_target: 'moved to an address that does not exist',
}

export interface RawChange {
  actions: string[]
  before?: unknown
  after?: unknown
  after_unknown?: unknown
  before_sensitive?: unknown
  after_sensitive?: unknown
  replace_paths?: (string | number)[][]
}

/** Why this change happens, when terraform says (replacements and deletions). */
export function changeReason(actionReason: string | undefined): string | undefined {
  if (!actionReason) return undefined
  return REASONS[actionReason] ?? actionReason.replaceAll('_', ' ')
}

/** The attributes an update or replacement changes, sensitive values masked, unknown ones said so. */
export function attributeChanges(change: RawChange): AttributeChange[] {
  const found: AttributeChange[] = []
  const forcing = (change.replace_paths ?? []).map((segments) => segments.map(String))
  walk(change.before, change.after, [], {
    unknown: change.after_unknown,
    beforeSensitive: change.before_sensitive,
    afterSensitive: change.after_sensitive,
    emit(segments, before, after, unknown, beforeMasked, afterMasked) {
      const entry: AttributeChange = {path: formatPath(segments)}
      if (before !== undefined && before !== null) entry.before = beforeMasked ? SENSITIVE : renderValue(before)
      if (unknown) entry.after = KNOWN_AFTER_APPLY
      else if (after !== undefined && after !== null) entry.after = afterMasked ? SENSITIVE : renderValue(after)
      if (entry.before === undefined && entry.after === undefined) return
      if (forcing.some((prefix) => prefix.every((segment, index) => segments[index] === segment))) entry.forcesReplacement = true
      found.push(entry)
    },
  })
  return found
}

interface WalkContext {
  unknown: unknown
  beforeSensitive: unknown
  afterSensitive: unknown
  emit(segments: string[], before: unknown, after: unknown, unknown: boolean, beforeMasked: boolean, afterMasked: boolean): void
}

function walk(before: unknown, after: unknown, segments: string[], context: WalkContext): void {
  const unknown = flagAt(context.unknown, segments)
  const beforeMasked = flagAt(context.beforeSensitive, segments)
  const afterMasked = flagAt(context.afterSensitive, segments)
  if (unknown) {
    // Unknown as a whole: what it was is shown beside "(known after apply)", as terraform does.
    context.emit(segments, before, undefined, true, beforeMasked, afterMasked)
    return
  }
  // A sensitive value is masked whole: not even the keys of a sensitive map are shown.
  if (beforeMasked || afterMasked) {
    if (!equal(before, after) || beforeMasked !== afterMasked) context.emit(segments, before, after, false, beforeMasked, afterMasked)
    return
  }
  const bothObjects = isObject(before) && isObject(after)
  const sameLengthLists = Array.isArray(before) && Array.isArray(after) && before.length === after.length
  // Descend while some part below may be unknown or differ, so the path named is the one that changes.
  if (bothObjects || sameLengthLists || (isContainer(after) && hasFlag(subtree(context.unknown, segments)) && (before === null || before === undefined || isContainer(before)))) {
    const keys = new Set([...keysOf(before), ...keysOf(after), ...keysOf(subtree(context.unknown, segments))])
    for (const key of keys) walk(child(before, key), child(after, key), [...segments, key], context)
    return
  }
  if (equal(before, after) && beforeMasked === afterMasked) return
  context.emit(segments, before, after, false, beforeMasked, afterMasked)
}

/** Whether the sensitivity or unknown tree marks this path (or a parent of it) true. */
function flagAt(tree: unknown, segments: string[]): boolean {
  let node = tree
  for (const segment of segments) {
    if (node === true) return true
    if (!isContainer(node)) return false
    node = (node as Record<string, unknown>)[segment]
  }
  return node === true
}

function subtree(tree: unknown, segments: string[]): unknown {
  let node = tree
  for (const segment of segments) {
    if (!isContainer(node)) return undefined
    node = (node as Record<string, unknown>)[segment]
  }
  return node
}

function hasFlag(tree: unknown): boolean {
  if (tree === true) return true
  if (!isContainer(tree)) return false
  return Object.values(tree as Record<string, unknown>).some(hasFlag)
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function isContainer(value: unknown): boolean {
  return typeof value === 'object' && value !== null
}

function keysOf(value: unknown): string[] {
  return isContainer(value) ? Object.keys(value as object) : []
}

function child(value: unknown, key: string): unknown {
  return isContainer(value) ? (value as Record<string, unknown>)[key] : undefined
}

function equal(a: unknown, b: unknown): boolean {
  return JSON.stringify(a ?? null) === JSON.stringify(b ?? null)
}

/** `tags.Name`, `ingress[0].from_port`: list indexes in brackets, as terraform prints them. */
export function formatPath(segments: string[]): string {
  let text = ''
  for (const segment of segments) text += /^\d+$/.test(segment) ? `[${segment}]` : text ? `.${segment}` : segment
  return text
}

/** A value as a person reads it in a plan: strings quoted, lists and maps as JSON, long ones cut. */
export function renderValue(value: unknown): string {
  const text = JSON.stringify(value)
  return text.length > MAX_VALUE ? `${text.slice(0, MAX_VALUE)}... (${text.length} characters)` : text
}
