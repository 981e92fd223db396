import {existsSync, readFileSync, readdirSync, statSync} from 'node:fs'
import path from 'node:path'

import {EXIT, InfraError} from '../errors.js'
import type {AuditInput, AuditResource, NotEvaluatedAttribute} from './resources.js'
import {
  type LazyObject,
  NotEvaluated,
  Reference,
  type Scope,
  collectTemplates,
  evaluateString,
  isLazy,
  iterate,
  parseHclFile,
  parseTemplates,
  traverse,
} from './terraform-expression.js'

/**
 * Terraform configuration (HCL .tf, JSON .tf.json, or a folder of them) read as `terraform plan`
 * reads it before asking the provider anything: variables from defaults, terraform.tfvars,
 * *.auto.tfvars, --var-file and --var; locals; count and for_each expanded into instances
 * (addr[0], addr["key"]); dynamic blocks expanded; local modules (and those `terraform init`
 * downloaded, through .terraform/modules/modules.json) walked into module.NAME.addresses. A value
 * only apply knows (an id, an ARN) stays the "${address.attr}" reference synthesized JSON has; a
 * value this reader cannot know (a data source, a function it does not evaluate, a variable with no
 * value) is listed as not evaluated, by resource and attribute.
 */

export interface VariableInput {
  /** NAME=VALUE pairs, as terraform's -var takes them. */
  vars?: string[]
  /** .tfvars or .tfvars.json files, as -var-file. */
  varFiles?: string[]
}

interface Block {
  [key: string]: unknown
}

interface ModuleSource {
  dir: string
  variables: Map<string, Block>
  locals: Map<string, unknown>
  resources: {type: string; name: string; body: Block}[]
  /** Data sources: only aws_iam_policy_document is evaluated (it is computed locally, never read from AWS). */
  data: {type: string; name: string; body: Block}[]
  calls: Map<string, Block>
  outputs: Map<string, Block>
  children: Map<string, ModuleSource | string>
}

/** Meta-arguments: how many instances and in what order, never what a rule reads. */
const META = new Set(['count', 'for_each', 'depends_on', 'lifecycle', 'provider', 'provisioner', 'connection', '//'])
/** Attributes no rule reads (tags, the bucket owner's account, the machine image): unknown there is not worth an unproven audit. */
const UNREAD = new Set(['tags', 'tags_all', 'expected_bucket_owner', 'ami', 'image_id'])

const body = (value: unknown): Block => (Array.isArray(value) ? (value[0] as Block) : (value as Block)) ?? {}
const blocks = (value: unknown): Block[] => (Array.isArray(value) ? (value as Block[]) : value ? [value as Block] : [])

/** Whether a path holds Terraform configuration this reader takes (a folder, .tf, .tf.json). */
export function isConfigurationPath(file: string): boolean {
  try {
    return statSync(file).isDirectory() || file.endsWith('.tf') || file.endsWith('.tf.json')
  } catch {
    return false
  }
}

async function parseFile(file: string): Promise<Record<string, unknown>> {
  const text = readFileSync(file, 'utf8')
  try {
    if (file.endsWith('.json')) return JSON.parse(text) as Record<string, unknown>
    return await parseHclFile(path.basename(file), text)
  } catch (error) {
    throw new InfraError(
      `${file} is not valid ${file.endsWith('.json') ? 'JSON' : 'HCL'} (${(error as Error).message.split('\n')[0].replace(/^parse config: /, '')})`,
      'fix the syntax (`terraform validate` names the line), or pass a `terraform show -json` plan',
      'AUDIT_INPUT_UNREADABLE',
      EXIT.usage,
    )
  }
}

/** The .tf and .tf.json files of one folder, merged as terraform merges a module's files. */
async function readModule(dir: string, files?: string[]): Promise<ModuleSource> {
  const names = files ?? readdirSync(dir).filter((name) => name.endsWith('.tf') || name.endsWith('.tf.json')).sort().map((name) => path.join(dir, name))
  const module = emptyModule(dir)
  for (const file of names) addDocument(module, await parseFile(file))
  return module
}

/** Where `terraform init` put each module, by its key ("a", "a.b"). */
function installedModules(root: string): Map<string, string> {
  const file = path.join(root, '.terraform', 'modules', 'modules.json')
  if (!existsSync(file)) return new Map()
  const manifest = JSON.parse(readFileSync(file, 'utf8')) as {Modules?: {Key: string; Dir: string}[]}
  return new Map((manifest.Modules ?? []).map((entry) => [entry.Key, path.resolve(root, entry.Dir)]))
}

async function readChildren(module: ModuleSource, root: string, installed: Map<string, string>, key = ''): Promise<void> {
  for (const [name, call] of module.calls) {
    const childKey = key ? `${key}.${name}` : name
    const source = typeof call.source === 'string' ? call.source : ''
    const dir = source.startsWith('./') || source.startsWith('../') ? path.resolve(module.dir, source) : installed.get(childKey)
    if (!dir || !existsSync(dir)) {
      module.children.set(name, `module source ${source || '(none)'} is not on this machine: run \`terraform init\` in ${root}, or audit the plan`)
      continue
    }
    const child = await readModule(dir)
    module.children.set(name, child)
    await readChildren(child, root, installed, childKey)
  }
}

function moduleTemplates(module: ModuleSource | string, into: Set<string>): Set<string> {
  if (typeof module === 'string') return into
  for (const map of [module.variables, module.locals, module.calls, module.outputs]) collectTemplates([...map.values()], into)
  collectTemplates([...module.resources, ...module.data].map((resource) => resource.body), into)
  for (const child of module.children.values()) moduleTemplates(child, into)
  return into
}

/** Root variable values: terraform.tfvars, *.auto.tfvars, then --var-file, then --var, later ones winning. */
async function rootVariables(root: string, module: ModuleSource, input: VariableInput): Promise<Map<string, unknown>> {
  const auto = existsSync(root) && statSync(root).isDirectory()
    ? readdirSync(root).filter((name) => /^terraform\.tfvars(\.json)?$/.test(name) || /\.auto\.tfvars(\.json)?$/.test(name)).sort((a, b) => Number(b.startsWith('terraform.')) - Number(a.startsWith('terraform.')) || a.localeCompare(b)).map((name) => path.join(root, name))
    : []
  const values = new Map<string, unknown>()
  for (const file of [...auto, ...(input.varFiles ?? [])]) {
    if (!existsSync(file)) throw new InfraError(`--var-file ${file} does not exist`, 'pass the path of a .tfvars or .tfvars.json file', 'AUDIT_INPUT_UNREADABLE', EXIT.usage)
    const doc = await parseFile(file)
    await parseTemplates(collectTemplates(doc, new Set()))
    for (const [name, raw] of Object.entries(doc)) values.set(name, evaluateRaw(raw, EMPTY_SCOPE))
  }
  for (const pair of input.vars ?? []) {
    const at = pair.indexOf('=')
    if (at <= 0) throw new InfraError(`--var ${pair} is not NAME=VALUE`, 'write it as --var NAME=VALUE, as terraform -var takes it', 'USAGE', EXIT.usage)
    const name = pair.slice(0, at)
    const raw = pair.slice(at + 1)
    // As terraform: a variable of a complex type takes an HCL expression, a primitive one the text as it is.
    const type = String(module.variables.get(name)?.type ?? '')
    if (/list|map|object|set|tuple/.test(type)) {
      const template = `\${${raw}}`
      await parseTemplates([template])
      values.set(name, evaluateString(template, EMPTY_SCOPE))
    } else {
      values.set(name, raw)
    }
  }
  return values
}

const EMPTY_SCOPE: Scope = {
  dir: '.',
  resolve: (root) => {
    throw new NotEvaluated(`${root} cannot be used in a variable value`)
  },
}

function evaluateRaw(raw: unknown, scope: Scope): unknown {
  if (typeof raw === 'string') return evaluateString(raw, scope)
  if (Array.isArray(raw)) return raw.map((item) => evaluateRaw(item, scope))
  if (raw && typeof raw === 'object') return Object.fromEntries(Object.entries(raw).map(([key, value]) => [key, evaluateRaw(value, scope)]))
  return raw
}

/** An evaluated value as rules read it: references become their "${...}" token. */
function finalize(value: unknown): unknown {
  if (value instanceof Reference) return value.toString()
  if (isLazy(value)) return `\${${value.token}}`
  if (Array.isArray(value)) return value.map(finalize)
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, finalize(item)]))
  return value
}

interface Instance {
  address: string
  each?: {key: string | number; value: unknown}
  countIndex?: number
  /** Why each/count is not known (for_each itself not evaluated). */
  unknownRepetition?: string
}

/** One instance of a module: its variables, locals and resources, evaluated on demand and once. */
class ModuleInstance {
  private readonly localValues = new Map<string, unknown>()
  private readonly evaluating = new Set<string>()
  private readonly childInstances = new Map<string, unknown>()

  constructor(
    readonly source: ModuleSource,
    readonly prefix: string,
    private readonly inputs: Map<string, () => unknown>,
    private readonly record: (entry: NotEvaluatedAttribute) => void,
  ) {}

  scope(instance?: Instance): Scope {
    return {dir: this.source.dir, resolve: (root, rest) => this.resolve(root, rest, instance)}
  }

  private resolve(root: string, rest: (string | number)[], instance?: Instance): unknown {
    const [first, ...more] = rest
    switch (root) {
      case 'var':
        return traverse(this.variable(String(first)), more, `var.${first}`)
      case 'local':
        return traverse(this.local(String(first)), more, `local.${first}`)
      case 'each':
        if (!instance?.each) throw new NotEvaluated(instance?.unknownRepetition ?? 'each is used outside for_each')
        return traverse(instance.each, rest, 'each')
      case 'count':
        if (instance?.countIndex === undefined) throw new NotEvaluated(instance?.unknownRepetition ?? 'count.index is used outside count')
        return traverse({index: instance.countIndex}, rest, 'count')
      case 'path': {
        const dirs: Record<string, string> = {module: path.relative(process.cwd(), this.source.dir) || '.', root: '.', cwd: process.cwd()}
        return traverse(dirs, rest, 'path')
      }
      case 'terraform':
        return traverse({workspace: 'default'}, rest, 'terraform')
      case 'module':
        return traverse(this.child(String(first)), more, `module.${first}`)
      case 'data': {
        const [name, ...attributes] = more
        const source = this.source.data.find((candidate) => candidate.type === first && candidate.name === name)
        if (first === 'aws_iam_policy_document' && source) {
          const address = `${this.prefix}data.${first}.${name}`
          const rendered = this.instances(address, source.body).map((instance) => {
            const json = this.policyDocument(source.body, instance)
            return {json, minified_json: json}
          })
          const value = 'count' in source.body ? rendered : 'for_each' in source.body ? Object.fromEntries(this.instances(address, source.body).map((instance, index) => [String(instance.each?.key), rendered[index]])) : rendered[0]
          return traverse(value, attributes, `data.${first}.${name}`)
        }
        throw new NotEvaluated(`data.${first}.${name} is read from AWS at plan time`)
      }
      case 'self':
        throw new NotEvaluated('self is known only in provisioners')
    }
    const resource = this.source.resources.find((candidate) => candidate.type === root && candidate.name === first)
    if (!resource) throw new NotEvaluated(`${root}.${first} is not declared in ${this.prefix || 'the root module'}`)
    return traverse(this.resourceValue(resource), more, `${root}.${first}`)
  }

  /** aws_iam_policy_document, rendered as the provider renders it (it calls no AWS API). */
  private policyDocument(documentBody: Block, instance: Instance): string {
    const {address} = instance
    if (instance.unknownRepetition) throw new NotEvaluated(instance.unknownRepetition)
    if (this.evaluating.has(address)) throw new NotEvaluated(`${address} refers to itself`)
    this.evaluating.add(address)
    try {
      const reasons: string[] = []
      const values = evaluateBody(documentBody, this.scope(instance), (attribute, reason) => reasons.push(`${attribute}: ${reason}`))
      if (reasons.length > 0) throw new NotEvaluated(`${address} ${reasons[0]}`)
      return renderPolicyDocument(values)
    } finally {
      this.evaluating.delete(address)
    }
  }

  private variable(name: string): unknown {
    const input = this.inputs.get(name)
    if (input) return input()
    const declared = this.source.variables.get(name)
    if (!declared) throw new NotEvaluated(`var.${name} is not declared`)
    if ('default' in declared) return evaluateRaw(declared.default, this.scope())
    throw new NotEvaluated(`var.${name} has no value: give --var ${name}=VALUE or --var-file`)
  }

  private local(name: string): unknown {
    if (this.localValues.has(name)) return this.localValues.get(name)
    if (!this.source.locals.has(name)) throw new NotEvaluated(`local.${name} is not declared`)
    if (this.evaluating.has(`local.${name}`)) throw new NotEvaluated(`local.${name} refers to itself`)
    this.evaluating.add(`local.${name}`)
    try {
      const value = evaluateRaw(this.source.locals.get(name), this.scope())
      this.localValues.set(name, value)
      return value
    } finally {
      this.evaluating.delete(`local.${name}`)
    }
  }

  /** A resource as other expressions see it: one lazy object, or a list/map of them under count/for_each. */
  private resourceValue(resource: ModuleSource['resources'][number]): unknown {
    const address = `${this.prefix}${resource.type}.${resource.name}`
    const lazy = (instance: Instance): LazyObject => ({
      token: instance.address,
      get: (attribute) => this.attribute(resource.body, attribute, instance),
    })
    const instances = this.instances(address, resource.body)
    if ('count' in resource.body) return instances.map(lazy)
    if ('for_each' in resource.body) return Object.fromEntries(instances.map((instance) => [String(instance.each?.key), lazy(instance)]))
    return lazy(instances[0])
  }

  /** An attribute another expression reads: what configuration sets, else what apply will tell. */
  private attribute(resourceBody: Block, attribute: string, instance: Instance): unknown {
    if (!(attribute in resourceBody) || META.has(attribute)) return new Reference(`${instance.address}.${attribute}`)
    const key = `${instance.address}.${attribute}`
    if (this.evaluating.has(key)) throw new NotEvaluated(`${key} refers to itself`)
    this.evaluating.add(key)
    try {
      return evaluateRaw(resourceBody[attribute], this.scope(instance))
    } finally {
      this.evaluating.delete(key)
    }
  }

  /** count/for_each expanded as terraform expands them; unknown ones give one instance, reported. */
  instances(address: string, resourceBody: Block): Instance[] {
    const scope = this.scope()
    try {
      if ('count' in resourceBody) {
        const count = Number(evaluateRaw(resourceBody.count, scope))
        if (!Number.isInteger(count)) throw new NotEvaluated(`count is ${count}`)
        return Array.from({length: count}, (_, index) => ({address: `${address}[${index}]`, countIndex: index}))
      }
      if ('for_each' in resourceBody) {
        const collection = evaluateRaw(resourceBody.for_each, scope)
        // A set of strings: each.key and each.value are the element.
        const entries: [string | number, unknown][] = Array.isArray(collection) ? collection.map((item) => [String(item), item]) : iterate(collection, 'for_each')
        return entries.map(([key, value]) => ({address: `${address}[${JSON.stringify(String(key))}]`, each: {key: String(key), value}}))
      }
    } catch (error) {
      if (!(error instanceof NotEvaluated)) throw error
      const meta = 'count' in resourceBody ? 'count' : 'for_each'
      this.record({address, attribute: meta, reason: `${error.reason}; instances audited as one`})
      return [{address, unknownRepetition: `${meta} of ${address} is not known (${error.reason})`}]
    }
    return [{address}]
  }

  /** module.NAME as expressions see it: its outputs, per instance under count/for_each. */
  private child(name: string): unknown {
    if (!this.childInstances.has(name)) this.childInstances.set(name, this.moduleValue(name))
    return this.childInstances.get(name)
  }

  private moduleValue(name: string): unknown {
    const call = this.source.calls.get(name)
    if (!call) throw new NotEvaluated(`module.${name} is not declared`)
    // A module whose source is not here (the registry's, before `terraform init`): its outputs are unknown.
    const child = this.source.children.get(name)
    if (typeof child !== 'object') throw new NotEvaluated(`module.${name}: ${child ?? 'its source is not on this machine'}`)
    const instances = this.moduleInstances(name)
    const outputs = (child: ModuleInstance): LazyObject => ({token: child.prefix.slice(0, -1), get: (output) => child.output(output)})
    if ('count' in call) return instances.map(outputs)
    if ('for_each' in call) return Object.fromEntries(instances.map((child) => [String(child.prefix.match(/\["([^"]*)"\]\.$/)?.[1]), outputs(child)]))
    return outputs(instances[0])
  }

  private readonly moduleCache = new Map<string, ModuleInstance[]>()

  moduleInstances(name: string): ModuleInstance[] {
    const cached = this.moduleCache.get(name)
    if (cached) return cached
    const call = this.source.calls.get(name)!
    const child = this.source.children.get(name)
    if (typeof child !== 'object') {
      this.moduleCache.set(name, [])
      return []
    }
    const result = this.instances(`${this.prefix}module.${name}`, call).map((instance) => {
      const inputs = new Map<string, () => unknown>()
      for (const [input, raw] of Object.entries(call)) {
        if (['source', 'version', 'providers', ...META].includes(input)) continue
        inputs.set(input, () => evaluateRaw(raw, this.scope(instance)))
      }
      return new ModuleInstance(child, `${instance.address}.`, inputs, this.record)
    })
    this.moduleCache.set(name, result)
    return result
  }

  output(name: string): unknown {
    const declared = this.source.outputs.get(name)
    if (!declared) throw new NotEvaluated(`${this.prefix}output ${name} is not declared`)
    return evaluateRaw(declared.value, this.scope())
  }
}

const items = (value: unknown): unknown[] => (Array.isArray(value) ? value : value === undefined || value === null ? [] : [value])
/** The provider writes a one-element list as a plain string. */
const compact = (value: unknown): unknown => {
  const list = items(value)
  return list.length === 1 ? list[0] : list
}

/**
 * The JSON of an aws_iam_policy_document (provider docs, data source aws_iam_policy_document):
 * source_policy_documents' statements first, then statement blocks, then override documents
 * replacing statements with the same Sid.
 */
function renderPolicyDocument(values: Record<string, unknown>): string {
  const parse = (document: unknown) => items((JSON.parse(String(document)) as {Statement?: unknown}).Statement) as Record<string, unknown>[]
  const statements: Record<string, unknown>[] = items(values.source_policy_documents).flatMap(parse)
  for (const block of items(values.statement) as Record<string, any>[]) {
    const statement: Record<string, unknown> = {}
    if (block.sid) statement.Sid = block.sid
    statement.Effect = block.effect ?? 'Allow'
    const principals = (key: string) => {
      const blocks = items(block[key]) as {type: string; identifiers: unknown}[]
      if (blocks.length === 0) return undefined
      if (blocks.length === 1 && blocks[0].type === '*') return '*'
      return Object.fromEntries(blocks.map((p) => [p.type, compact(p.identifiers)]))
    }
    const fields: [string, unknown][] = [
      ['Action', block.actions], ['NotAction', block.not_actions], ['Resource', block.resources], ['NotResource', block.not_resources],
    ]
    for (const [field, value] of fields) if (items(value).length > 0) statement[field] = compact(value)
    const principal = principals('principals')
    if (principal) statement.Principal = principal
    const notPrincipal = principals('not_principals')
    if (notPrincipal) statement.NotPrincipal = notPrincipal
    const conditions = items(block.condition) as {test: string; variable: string; values: unknown}[]
    if (conditions.length > 0) {
      const condition: Record<string, Record<string, unknown>> = {}
      for (const c of conditions) (condition[c.test] ??= {})[c.variable] = compact(c.values)
      statement.Condition = condition
    }
    statements.push(statement)
  }
  for (const override of items(values.override_policy_documents).flatMap(parse)) {
    const at = override.Sid ? statements.findIndex((statement) => statement.Sid === override.Sid) : -1
    if (at >= 0) statements[at] = override
    else statements.push(override)
  }
  return JSON.stringify({Version: values.version ?? '2012-10-17', Statement: statements})
}

/** A resource body evaluated: nested blocks as lists, dynamic blocks expanded, unknowns reported. */
/**
 * Reports each attribute it cannot evaluate twice over: as people read it (`ingress.from_port`) and
 * as the path into the values (`ingress.1.from_port`, the block's index), which the engine uses to
 * tell a rule that read an unknown from one that read only known blocks beside it.
 */
type ReportUnknown = (attribute: string, reason: string, path: string) => void

function evaluateBody(resourceBody: Block, scope: Scope, report: ReportUnknown, prefix = '', pathPrefix = ''): Record<string, unknown> {
  const values: Record<string, unknown> = {}
  for (const [key, raw] of Object.entries(resourceBody)) {
    if (prefix === '' && META.has(key)) continue
    if (key === 'dynamic') {
      expandDynamic(raw, scope, values, report, prefix, pathPrefix)
      continue
    }
    const isBlock = (item: unknown) => item !== null && typeof item === 'object' && !Array.isArray(item)
    if (isBlock(raw) || (Array.isArray(raw) && raw.length > 0 && raw.every(isBlock))) {
      values[key] = blocks(raw).map((block, index) => evaluateBody(block, scope, report, `${prefix}${key}.`, `${pathPrefix}${key}.${index}.`))
      continue
    }
    try {
      values[key] = finalize(evaluateRaw(raw, scope))
    } catch (error) {
      if (!(error instanceof NotEvaluated)) throw error
      if (!UNREAD.has(key)) report(`${prefix}${key}`, error.reason, `${pathPrefix}${key}`)
    }
  }
  return values
}

function expandDynamic(raw: unknown, scope: Scope, values: Record<string, unknown>, report: ReportUnknown, prefix: string, pathPrefix: string): void {
  for (const [name, specs] of Object.entries(body(raw))) {
    for (const spec of blocks(specs)) {
      const iterator = typeof spec.iterator === 'string' ? spec.iterator.replace(/^\$\{(.*)\}$/, '$1') : name
      let entries: [string | number, unknown][]
      try {
        entries = iterate(evaluateRaw(spec.for_each, scope), `dynamic "${name}" for_each`)
      } catch (error) {
        if (!(error instanceof NotEvaluated)) throw error
        report(`${prefix}${name}`, `dynamic block: ${error.reason}`, `${pathPrefix}${name}`)
        continue
      }
      const content = body(spec.content)
      for (const [key, value] of entries) {
        const locals = new Map(scope.locals ?? [])
        locals.set(iterator, {key, value})
        const generated = evaluateBody(content, {...scope, locals}, report, `${prefix}${name}.`, `${pathPrefix}${name}.${((values[name] as unknown[] | undefined) ?? []).length}.`)
        values[name] = [...((values[name] as unknown[]) ?? []), generated]
      }
    }
  }
}

function auditResources(module: ModuleInstance, resources: AuditResource[], notEvaluated: NotEvaluatedAttribute[]): void {
  for (const [name, child] of module.source.children) {
    if (typeof child === 'string') notEvaluated.push({address: `${module.prefix}module.${name}`, attribute: 'source', reason: child})
  }
  for (const resource of module.source.resources) {
    for (const instance of module.instances(`${module.prefix}${resource.type}.${resource.name}`, resource.body)) {
      const scope = module.scope(instance)
      const unknownPaths: string[] = []
      const values = evaluateBody(resource.body, scope, (attribute, reason, path) => {
        notEvaluated.push({address: instance.address, attribute, reason})
        unknownPaths.push(path)
      })
      const constructPath = (resource.body['//'] as any)?.metadata?.path as string | undefined
      resources.push({address: instance.address, type: resource.type, name: resource.name, values, ...(constructPath ? {constructPath} : {}), ...(unknownPaths.length > 0 ? {unknownPaths} : {})})
    }
  }
  for (const name of module.source.calls.keys()) for (const child of module.moduleInstances(name)) auditResources(child, resources, notEvaluated)
}

/**
 * Reads a folder of .tf/.tf.json files, one .tf file, or a parsed Terraform JSON document (its
 * folder is `dir`) and evaluates it into the resources terraform would plan.
 */
export async function configurationInput(target: string, input: VariableInput = {}, document?: Record<string, unknown>): Promise<AuditInput> {
  const isDir = statSync(target).isDirectory()
  const root = isDir ? target : path.dirname(target)
  // An empty audit would pass: a folder with nothing terraform reads is the line's mistake.
  if (isDir && !document && !readdirSync(target).some((name) => name.endsWith('.tf') || name.endsWith('.tf.json'))) {
    throw new InfraError(`${target} holds no Terraform configuration (no .tf or .tf.json file)`, 'pass the folder of the root module, a .tf file, or a plan from `terraform show -json`', 'AUDIT_INPUT_UNREADABLE', EXIT.usage)
  }
  let module: ModuleSource
  if (document) {
    module = emptyModule(root)
    addDocument(module, document)
  } else {
    module = await readModule(root, isDir ? undefined : [target])
  }
  await readChildren(module, root, installedModules(root))
  await parseTemplates(moduleTemplates(module, new Set()))
  const variables = await rootVariables(root, module, input)
  const record: NotEvaluatedAttribute[] = []
  const rootInstance = new ModuleInstance(module, '', new Map([...variables].map(([name, value]) => [name, () => value])), (entry) => record.push(entry))
  const resources: AuditResource[] = []
  auditResources(rootInstance, resources, record)
  const seen = new Set<string>()
  const notEvaluated = record.filter((entry) => {
    const key = `${entry.address} ${entry.attribute}`
    if (seen.has(key)) return false
    seen.add(key)
    return true
  })
  return {kind: 'configuration', source: target, resources, notEvaluated}
}

const emptyModule = (dir: string): ModuleSource => ({dir, variables: new Map(), locals: new Map(), resources: [], data: [], calls: new Map(), outputs: new Map(), children: new Map()})

/** Adds one file's blocks to its module (HCL through hcl2json and JSON syntax have the same shape). */
function addDocument(module: ModuleSource, document: Record<string, unknown>): void {
  for (const [name, value] of Object.entries(document.variable ?? {})) module.variables.set(name, body(value))
  for (const group of blocks(document.locals)) for (const [name, value] of Object.entries(group)) module.locals.set(name, value)
  for (const [type, byName] of Object.entries<Record<string, unknown>>((document.resource as any) ?? {})) {
    for (const [name, value] of Object.entries(byName)) module.resources.push({type, name, body: body(value)})
  }
  for (const [type, byName] of Object.entries<Record<string, unknown>>((document.data as any) ?? {})) {
    for (const [name, value] of Object.entries(byName)) module.data.push({type, name, body: body(value)})
  }
  for (const [name, value] of Object.entries(document.module ?? {})) module.calls.set(name, body(value))
  for (const [name, value] of Object.entries(document.output ?? {})) module.outputs.set(name, body(value))
}
