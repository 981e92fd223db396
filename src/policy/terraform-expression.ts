import {readFileSync} from 'node:fs'
import path from 'node:path'

import {getExpressionAst, parse} from '@cdktf/hcl2json'

/**
 * Terraform expressions, evaluated the way terraform evaluates them at plan time for the subset an
 * audit needs: literals, templates, references to var/local/each/count/resources/modules,
 * conditionals, operators, for expressions, splats and a list of pure functions. Anything else
 * (data sources, functions not listed, values only the provider knows) is NotEvaluated, which the
 * loader reports by resource and attribute instead of guessing.
 *
 * Parsing is HashiCorp's own HCL parser (hcl2json compiled to WASM, @cdktf/hcl2json), so the syntax
 * is terraform's; only evaluation is ours.
 */

/** A value terraform knows only after apply (an id, an ARN): kept as its "${address.attr}" token, as synthesized JSON writes it. */
export class Reference {
  constructor(readonly token: string) {}
  toString(): string {
    return `\${${this.token}}`
  }
}

/** Thrown when an expression cannot be known without a plan; the reason names what. */
export class NotEvaluated extends Error {
  constructor(readonly reason: string) {
    super(reason)
  }
}

/** An error terraform would raise while evaluating (a missing key, bad JSON): try() and can() catch these, never a NotEvaluated. */
export class EvaluationError extends NotEvaluated {}

export interface Node {
  type: string
  meta?: Record<string, any>
  children?: Node[]
  range?: {start: {byte: number}; end: {byte: number}}
}

/** What a name in an expression resolves to; the loader supplies it for each module and instance. */
export interface Scope {
  /** A traversal's root (var, local, each, count, aws_s3_bucket, module, data, path, ...) and the rest of it. */
  resolve(root: string, rest: (string | number)[]): unknown
  /** Local names of for expressions and dynamic blocks. */
  locals?: Map<string, unknown>
  /** The module's folder, for file(). */
  dir: string
}

const astCache = new Map<string, Node | null>()

/** One HCL file as Terraform JSON syntax (hcl2json): the one place HCL text is parsed into blocks. */
export async function parseHclFile(name: string, text: string): Promise<Record<string, unknown>> {
  return parse(name, text)
}

/** Parses every template string once, ahead of the (synchronous) evaluation. */
export async function parseTemplates(strings: Iterable<string>): Promise<void> {
  const pending = [...new Set(strings)].filter((text) => !astCache.has(text))
  // Handed to the parser together: one await per template costs a turn of the event loop each.
  const asts = await Promise.all(pending.map((text) => getExpressionAst('expression.tf', heredoc(text)).then((ast) => withoutHeredocNewline(ast as Node | null), () => null)))
  for (const [index, text] of pending.entries()) astCache.set(text, asts[index])
}

/**
 * The string as a heredoc: its text parts are taken as they are (a quoted string would need its
 * quotes escaped, and escapes mean nothing inside ${...}), its interpolations parsed as HCL.
 */
function heredoc(text: string): string {
  let marker = 'INFRA_EOT'
  while (text.includes(marker)) marker += '_'
  return `<<${marker}\n${text}\n${marker}\n`
}

/** A heredoc's value ends with the newline before its marker; the string did not. */
function withoutHeredocNewline(ast: Node | null): Node | null {
  const parts = ast?.children
  const last = parts?.at(-1)
  if (!ast || !parts || last?.type !== 'literalValue' || !String(last.meta?.value).endsWith('\n')) return ast
  const value = String(last.meta!.value).slice(0, -1)
  return {...ast, children: value ? [...parts.slice(0, -1), {...last, meta: {...last.meta, value}}] : parts.slice(0, -1)}
}

/** Whether a string from Terraform JSON is a template terraform would evaluate. */
export const isTemplate = (text: string): boolean => text.includes('${') || text.includes('%{')

/** Evaluates a string as terraform's JSON syntax does: a template; "${x}" alone is x's value. */
export function evaluateString(text: string, scope: Scope): unknown {
  if (!isTemplate(text)) return text
  const ast = astCache.get(text)
  if (ast === undefined) throw new Error(`template not parsed ahead: ${text}`)
  if (ast === null) throw new NotEvaluated(`cannot parse ${text}`)
  return evaluate(ast, scope)
}

/** Walks Terraform JSON values collecting every template string, so they can be parsed first. */
export function collectTemplates(value: unknown, into: Set<string>): Set<string> {
  if (typeof value === 'string') {
    if (isTemplate(value)) into.add(value)
  } else if (Array.isArray(value)) {
    for (const item of value) collectTemplates(item, into)
  } else if (value && typeof value === 'object') {
    for (const item of Object.values(value)) collectTemplates(item, into)
  }
  return into
}

const source = (node: Node): string => String(node.meta?.value ?? node.type)

export function evaluate(node: Node, scope: Scope): unknown {
  const children = node.children ?? []
  switch (node.type) {
    case 'literalValue':
      return literal(node)
    case 'templateWrap':
      return evaluate(children[0], scope)
    case 'template': {
      if (children.length === 1 && children[0].type !== 'literalValue') return evaluate(children[0], scope)
      return children.map((part) => text(evaluate(part, scope), source(part))).join('')
    }
    case 'tuple':
      return children.map((child) => evaluate(child, scope))
    case 'object':
      return objectValue(node, scope)
    case 'scopeTraversal':
      return traversal(node.meta!.traversal, scope)
    case 'relativeTraversal':
      return traverse(evaluate(children[0], scope), segments(node.meta!.traversal), source(node))
    case 'index': {
      const key = evaluate(children[1], scope)
      if (key instanceof Reference) throw new NotEvaluated(`${source(node)} indexes with a value known only after apply`)
      return traverse(evaluate(children[0], scope), [key as string | number], source(node))
    }
    case 'splat':
      return splat(node, scope)
    case 'conditional': {
      const condition = evaluate(children[0], scope)
      return bool(condition, source(children[0])) ? evaluate(children[1], scope) : evaluate(children[2], scope)
    }
    case 'unaryOp':
      return unary(node.meta!.operator, evaluate(children[0], scope), source(node))
    case 'binaryOp':
      return binary(node, scope)
    case 'for':
      return forExpression(node, scope)
    case 'function':
      return call(node, scope)
    case '':
      // A parenthesized expression or an object key wrapper.
      if (children.length === 1) return evaluate(children[0], scope)
      break
  }
  throw new NotEvaluated(`${source(node)} (${node.type || 'expression'}) is not evaluated without a plan`)
}

function literal(node: Node): unknown {
  const {type, value} = node.meta as {type: string; value: string}
  if (type === 'number') return Number(value)
  if (type === 'bool') return value === 'true'
  if (type === 'string') return value
  return null
}

function objectValue(node: Node, scope: Scope): Record<string, unknown> {
  const children = node.children ?? []
  const whole = String(node.meta?.value ?? '')
  const result: Record<string, unknown> = {}
  for (let index = 0; index + 1 < children.length; index += 2) {
    const keyNode = children[index]
    let key: unknown
    if ((keyNode.children ?? []).length > 0) key = evaluate(keyNode.children![0], scope)
    else key = keyName(keyNode, whole, node)
    if (typeof key !== 'string' && typeof key !== 'number') throw new NotEvaluated(`an object key in ${whole} is not known`)
    result[String(key)] = evaluate(children[index + 1], scope)
  }
  return result
}

/** A bare identifier key: the parser gives only its range, so it is read from the object's own text. */
function keyName(keyNode: Node, whole: string, object: Node): string {
  const items = Object.keys(object.meta?.items ?? {})
  const objectStart = object.range?.start.byte ?? 0
  const start = (keyNode.range?.start.byte ?? 0) - objectStart
  const end = (keyNode.range?.end.byte ?? 0) - objectStart
  const sliced = whole.slice(start, end)
  if (items.includes(sliced)) return sliced
  // Fall back to the item whose text is the same length at that place.
  const found = items.find((item) => whole.indexOf(item, start) === start)
  if (found) return found
  throw new NotEvaluated(`an object key in ${whole} could not be read`)
}

const segments = (parts: {type: string; segment: string}[]): (string | number)[] =>
  parts.map((part) => (part.type === 'indexTraversal' ? (JSON.parse(part.segment) as string | number) : part.segment))

function traversal(parts: {type: string; segment: string}[], scope: Scope): unknown {
  const [root, ...rest] = segments(parts)
  if (scope.locals?.has(String(root))) return traverse(scope.locals.get(String(root)), rest, String(root))
  return scope.resolve(String(root), rest)
}

/** A lazily evaluated object (a resource instance, a module's outputs): attributes on demand. */
export interface LazyObject {
  get(attribute: string): unknown
  /** The "${...}" token of the whole object, when it is used as a value. */
  token: string
}
export const isLazy = (value: unknown): value is LazyObject =>
  typeof value === 'object' && value !== null && typeof (value as LazyObject).get === 'function' && typeof (value as LazyObject).token === 'string'

export function traverse(value: unknown, rest: (string | number)[], what: string): unknown {
  let current = value
  for (const [position, key] of rest.entries()) {
    if (current instanceof Reference) return new Reference(`${current.token}${rest.slice(position).map(step).join('')}`)
    if (isLazy(current)) {
      current = current.get(String(key))
      continue
    }
    if (current === null || current === undefined) throw new EvaluationError(`${what} reads ${key} of null`)
    if (Array.isArray(current)) {
      if (typeof key !== 'number' && !/^\d+$/.test(String(key))) throw new EvaluationError(`${what} reads ${key} of a list`)
      current = current[Number(key)]
    } else if (typeof current === 'object') {
      if (!(String(key) in current)) throw new EvaluationError(`${what} has no ${key}`)
      current = (current as Record<string, unknown>)[String(key)]
    } else {
      throw new EvaluationError(`${what} reads ${key} of a ${typeof current}`)
    }
  }
  return current
}

const step = (key: string | number) => (typeof key === 'number' ? `[${key}]` : /^[A-Za-z_][\w-]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`)

function splat(node: Node, scope: Scope): unknown {
  const [sourceNode, each] = node.children ?? []
  let collection = evaluate(sourceNode, scope)
  if (collection instanceof Reference) return new Reference(`${collection.token}[*]`)
  if (collection === null || collection === undefined) return []
  if (isLazy(collection) || !Array.isArray(collection)) collection = [collection]
  const rest = each?.type === 'relativeTraversal' ? segments(each.meta!.traversal) : []
  return (collection as unknown[]).map((item) => traverse(item, rest, source(node)))
}

function forExpression(node: Node, scope: Scope): unknown {
  const meta = node.meta as {keyVar: string; valVar: string; keyExpression: string; conditionalExpression: string; groupedValue: boolean; value: string}
  const children = node.children ?? []
  const collection = evaluate(children[0], scope)
  const isObject = meta.value.trim().startsWith('{')
  // children: collection, [key], value, [condition]
  let index = 1
  const keyNode = isObject ? children[index++] : undefined
  const valueNode = children[index++]
  const conditionNode = meta.conditionalExpression ? children[index] : undefined
  const entries = iterate(collection, meta.value)
  const results: unknown[] = []
  const grouped: Record<string, unknown[]> = {}
  const object: Record<string, unknown> = {}
  for (const [key, value] of entries) {
    const locals = new Map(scope.locals ?? [])
    if (meta.keyVar) locals.set(meta.keyVar, key)
    locals.set(meta.valVar, value)
    const inner: Scope = {...scope, locals}
    if (conditionNode && !bool(evaluate(conditionNode, inner), meta.conditionalExpression)) continue
    const result = evaluate(valueNode, inner)
    if (isObject) {
      const name = String(text(evaluate(keyNode!, inner), meta.keyExpression))
      if (meta.groupedValue) (grouped[name] ??= []).push(result)
      else object[name] = result
    } else {
      results.push(result)
    }
  }
  return isObject ? (meta.groupedValue ? grouped : object) : results
}

/** [key, value] pairs of a list, set or map, as for_each, for and dynamic blocks see them. */
export function iterate(collection: unknown, what: string): [string | number, unknown][] {
  if (collection instanceof Reference || isLazy(collection)) throw new NotEvaluated(`${what} iterates over a value known only after apply`)
  if (Array.isArray(collection)) return collection.map((value, index) => [index, value])
  if (collection && typeof collection === 'object') return Object.entries(collection)
  throw new NotEvaluated(`${what} iterates over ${JSON.stringify(collection)}`)
}

function bool(value: unknown, what: string): boolean {
  if (value instanceof Reference) throw new NotEvaluated(`${what} is known only after apply`)
  if (typeof value === 'boolean') return value
  if (value === 'true' || value === 'false') return value === 'true'
  throw new EvaluationError(`${what} is not a bool`)
}

/** A value inside a string: a reference keeps its token, as in synthesized JSON. */
function text(value: unknown, what: string): string {
  if (value instanceof Reference) return value.toString()
  if (isLazy(value)) return `\${${value.token}}`
  if (typeof value === 'string') return value
  if (typeof value === 'number' || typeof value === 'boolean') return String(value)
  if (value === null) throw new EvaluationError(`${what} is null inside a string`)
  throw new EvaluationError(`${what} is not a string`)
}

const known = (value: unknown, what: string): unknown => {
  if (value instanceof Reference || isLazy(value)) throw new NotEvaluated(`${what} is known only after apply`)
  return value
}

function unary(operator: string, value: unknown, what: string): unknown {
  if (operator === 'logicalNot') return !bool(value, what)
  if (operator === 'negate') return -Number(known(value, what))
  throw new NotEvaluated(`${what}: operator ${operator}`)
}

function binary(node: Node, scope: Scope): unknown {
  const operator = node.meta!.operator as string
  const what = source(node)
  const [left, right] = (node.children ?? []).map((child) => evaluate(child, scope))
  const l = known(left, what)
  const r = known(right, what)
  switch (operator) {
    case 'equal':
      return JSON.stringify(l) === JSON.stringify(r)
    case 'notEqual':
      return JSON.stringify(l) !== JSON.stringify(r)
    case 'logicalAnd':
      return bool(l, what) && bool(r, what)
    case 'logicalOr':
      return bool(l, what) || bool(r, what)
    case 'greaterThan':
      return Number(l) > Number(r)
    case 'greaterThanOrEqual':
      return Number(l) >= Number(r)
    case 'lessThan':
      return Number(l) < Number(r)
    case 'lessThanOrEqual':
      return Number(l) <= Number(r)
    case 'add':
      return Number(l) + Number(r)
    case 'subtract':
      return Number(l) - Number(r)
    case 'multiply':
      return Number(l) * Number(r)
    case 'divide':
      return Number(l) / Number(r)
    case 'modulo':
      return Number(l) % Number(r)
  }
  throw new NotEvaluated(`${what}: operator ${operator}`)
}

/** A value as jsonencode writes it: references keep their "${...}" token. */
function plain(value: unknown, what: string): unknown {
  if (value instanceof Reference) return value.toString()
  if (isLazy(value)) return `\${${value.token}}`
  if (Array.isArray(value)) return value.map((item) => plain(item, what))
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, plain(item, what)]))
  return value
}

const asList = (value: unknown, what: string): unknown[] => {
  const v = known(value, what)
  if (Array.isArray(v)) return v
  throw new EvaluationError(`${what} is not a list`)
}
const asObject = (value: unknown, what: string): Record<string, unknown> => {
  const v = known(value, what)
  if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>
  throw new EvaluationError(`${what} is not a map`)
}

/** format()'s verbs that matter for names and policies: %s %d %v %q %%. */
function format(spec: string, args: unknown[], what: string): string {
  let index = 0
  return spec.replace(/%(%|[-+# 0]*\d*(?:\.\d+)?[sdvqtf])/g, (match, verb: string) => {
    if (verb === '%') return '%'
    const value = args[index++]
    const kind = verb.at(-1)
    if (kind === 'q') return JSON.stringify(text(value, what))
    if (kind === 'd') return String(Math.trunc(Number(known(value, what))))
    if (kind === 'f') return String(Number(known(value, what)))
    if (kind === 'v' && typeof value === 'object' && value !== null && !(value instanceof Reference)) return JSON.stringify(plain(value, what))
    return text(value, what)
  })
}

/** Functions whose result is a string made from their arguments. */
const STRING_FUNCTIONS = new Set(['replace', 'format', 'lower', 'upper', 'title', 'trimspace', 'substr', 'join'])

type Fn = (args: unknown[], what: string, scope: Scope) => unknown
const FUNCTIONS: Record<string, Fn> = {
  jsonencode: ([value], what) => JSON.stringify(plain(value, what)),
  jsondecode: ([value], what) => {
    const text = known(value, what)
    if (typeof text !== 'string') throw new EvaluationError(`${what}: jsondecode needs a string`)
    return JSON.parse(text)
  },
  merge: (args, what) => Object.assign({}, ...args.filter((arg) => arg !== null).map((arg) => asObject(arg, what))),
  concat: (args, what) => args.flatMap((arg) => asList(arg, what)),
  tostring: ([value], what) => (value === null ? null : value instanceof Reference ? value : text(value, what)),
  tonumber: ([value], what) => (value === null ? null : Number(known(value, what))),
  tobool: ([value], what) => (value === null ? null : bool(value, what)),
  tolist: ([value], what) => asList(value, what),
  toset: ([value], what) => [...new Map(asList(value, what).map((item) => [JSON.stringify(plain(item, what)), item])).values()],
  tomap: ([value], what) => asObject(value, what),
  format: ([spec, ...args], what) => format(String(known(spec, what)), args, what),
  lower: ([value], what) => String(known(value, what)).toLowerCase(),
  title: ([value], what) => String(known(value, what)).replace(/\b\p{L}/gu, (letter) => letter.toUpperCase()),
  upper: ([value], what) => String(known(value, what)).toUpperCase(),
  trimspace: ([value], what) => String(known(value, what)).trim(),
  join: ([separator, ...lists], what) => lists.flatMap((l) => asList(l, what)).map((item) => text(item, what)).join(String(known(separator, what))),
  split: ([separator, value], what) => String(known(value, what)).split(String(known(separator, what))),
  replace: ([value, search, replacement], what) => {
    const s = String(known(search, what))
    const pattern = s.length > 1 && s.startsWith('/') && s.endsWith('/') ? new RegExp(s.slice(1, -1), 'g') : s
    return String(known(value, what)).replaceAll(pattern as any, String(known(replacement, what)))
  },
  length: ([value], what) => {
    const v = known(value, what)
    return typeof v === 'string' ? [...v].length : Array.isArray(v) ? v.length : Object.keys(asObject(v, what)).length
  },
  keys: ([value], what) => Object.keys(asObject(value, what)).sort(),
  values: ([value], what) => {
    const map = asObject(value, what)
    return Object.keys(map).sort().map((key) => map[key])
  },
  lookup: ([map, key, fallback], what) => {
    const m = asObject(map, what)
    const k = String(known(key, what))
    if (k in m) return m[k]
    if (fallback === undefined) throw new EvaluationError(`${what}: no ${k}`)
    return fallback
  },
  element: ([list, index], what) => {
    const l = asList(list, what)
    return l[Number(known(index, what)) % l.length]
  },
  contains: ([list, value], what) => asList(list, what).some((item) => JSON.stringify(item) === JSON.stringify(known(value, what))),
  coalesce: (args) => args.find((arg) => arg !== null && arg !== ''),
  compact: ([list], what) => asList(list, what).filter((item) => item !== null && item !== ''),
  flatten: ([list], what) => (asList(list, what) as unknown[]).flat(Infinity),
  distinct: ([list], what) => [...new Map(asList(list, what).map((item) => [JSON.stringify(plain(item, what)), item])).values()],
  zipmap: ([keys, values], what) => Object.fromEntries(asList(keys, what).map((key, index) => [String(key), asList(values, what)[index]])),
  range: (args, what) => {
    const [start, end, stepBy] = args.length === 1 ? [0, Number(known(args[0], what)), 1] : [Number(known(args[0], what)), Number(known(args[1], what)), Number(known(args[2] ?? 1, what))]
    const out: number[] = []
    for (let n = start; stepBy > 0 ? n < end : n > end; n += stepBy) out.push(n)
    return out
  },
  substr: ([value, offset, length], what) => String(known(value, what)).substr(Number(known(offset, what)), Number(known(length, what)) < 0 ? undefined : Number(known(length, what))),
  startswith: ([value, prefix], what) => String(known(value, what)).startsWith(String(known(prefix, what))),
  endswith: ([value, suffix], what) => String(known(value, what)).endsWith(String(known(suffix, what))),
  one: ([list], what) => {
    const l = asList(list, what)
    return l.length === 0 ? null : l[0]
  },
  min: (args, what) => Math.min(...args.map((arg) => Number(known(arg, what)))),
  max: (args, what) => Math.max(...args.map((arg) => Number(known(arg, what)))),
  // file() reads relative to the working folder; configurations write file("${path.module}/x").
  file: ([name], what) => readFileSync(path.resolve(String(known(name, what))), 'utf8'),
}

function call(node: Node, scope: Scope): unknown {
  const name = String(node.meta!.name).replace(/^core::/, '')
  const what = source(node)
  const argNodes = node.children ?? []
  // try() and can() turn a failure into the next value, as terraform does for errors it knows at plan time.
  if (name === 'try' || name === 'can') {
    for (const argNode of argNodes) {
      try {
        const value = evaluate(argNode, scope)
        return name === 'can' ? true : value
      } catch (error) {
        if (!(error instanceof EvaluationError)) throw error
        if (name === 'can') return false
      }
    }
    throw new EvaluationError(`${what}: no argument succeeded`)
  }
  const fn = FUNCTIONS[name]
  if (!fn) throw new NotEvaluated(`${what}: function ${name}() is not evaluated without a plan`)
  let args = argNodes.map((argNode) => evaluate(argNode, scope))
  if (node.meta!.expandedFinalArgument && args.length > 0) args = [...args.slice(0, -1), ...asList(args.at(-1), what)]
  // A string function of a value known only after apply is itself known only after apply: it keeps
  // its place as a "${...}" token, as synthesized JSON writes it, rather than hiding the document around it.
  if (STRING_FUNCTIONS.has(name) && args.some((arg) => arg instanceof Reference)) return new Reference(what)
  try {
    return fn(args, what, scope)
  } catch (error) {
    if (error instanceof NotEvaluated) throw error
    throw new EvaluationError(`${what}: ${(error as Error).message}`)
  }
}
