import {EXIT, InfraError} from '../errors.js'

/** One resource as the rules see it, from synthesized stacks or from a terraform plan. */
export interface AuditResource {
  /** terraform address: aws_vpc.network_vpc_4E8F0223 (module path included for plans). */
  address: string
  type: string
  name: string
  /** Attribute values in terraform's snake_case; references appear as "${type.name.attr}" in synthesized JSON. */
  values: Record<string, any>
  /** The construct path in our stacks (dev-estate/network/vpc), when the input carries it. */
  constructPath?: string
  /** Configuration input: paths into values that need a plan (`ingress.1.from_port`); see engine.ts. */
  unknownPaths?: string[]
}

/** synthesized: our stacks' JSON as it is; configuration: any Terraform configuration, evaluated; plan: terraform show -json. */
export type AuditInputKind = 'synthesized' | 'configuration' | 'plan'

/** An attribute whose value cannot be known without a plan (a data source, a variable with no value). */
export interface NotEvaluatedAttribute {
  address: string
  attribute: string
  reason: string
}

export interface AuditInput {
  kind: AuditInputKind
  source: string
  resources: AuditResource[]
  /** What the audit could not evaluate; the rules saw those attributes as unset. */
  notEvaluated?: NotEvaluatedAttribute[]
}

/** Whether a parsed JSON document is a `terraform show -json` plan rather than configuration. */
export const isPlanDocument = (doc: unknown): boolean => typeof doc === 'object' && doc !== null && ('planned_values' in doc || 'resource_changes' in doc)

/**
 * Reads a synthesized cdk.tf.json / any Terraform JSON configuration, or a `terraform show -json`
 * plan. For a plan, `configuration` (the synthesized resources it was planned from) supplies what
 * stays unknown until apply, such as a policy that embeds an ARN; the plan's known values win.
 */
export function resourcesFromJson(document: unknown, source: string, configuration?: AuditResource[]): AuditInput {
  const doc = document as Record<string, any>
  if (isPlanDocument(doc)) {
    return {kind: 'plan', source, resources: fromPlan(doc, configuration)}
  }
  if (doc && typeof doc === 'object' && ('resource' in doc || 'terraform' in doc || 'provider' in doc)) {
    return {kind: 'synthesized', source, resources: fromConfiguration(doc)}
  }
  throw new InfraError(
    `${source} is neither Terraform JSON configuration nor a plan`,
    'pass a cdk.tf.json / *.tf.json file, or the output of `terraform show -json PLANFILE`',
    'AUDIT_INPUT_UNKNOWN',
    EXIT.usage,
  )
}

function fromConfiguration(doc: Record<string, any>): AuditResource[] {
  const resources: AuditResource[] = []
  for (const [type, byName] of Object.entries<Record<string, any>>(doc.resource ?? {})) {
    for (const [name, config] of Object.entries<Record<string, any>>(byName)) {
      const {'//': meta, ...values} = config
      resources.push({address: `${type}.${name}`, type, name, values, constructPath: meta?.metadata?.path})
    }
  }
  return resources
}

/**
 * Planned values; where one is unknown until apply (absent or null in planned_values), the plan's
 * own configuration section supplies it: the constant as written (a policy document with
 * "${aws_s3_bucket.x.arn}" inside) or else the reference, so cross-resource rules still link.
 * A separately given configuration (--configuration) comes first, then the plan's values win.
 */
function fromPlan(doc: Record<string, any>, configuration: AuditResource[] = []): AuditResource[] {
  const resources: AuditResource[] = []
  const configuredInPlan = configurationValues(doc.configuration?.root_module)
  const configured = new Map(configuration.map((resource) => [resource.address, resource]))
  const walk = (module: Record<string, any> | undefined) => {
    if (!module) return
    for (const resource of module.resources ?? []) {
      if (resource.mode !== 'managed') continue
      const base = configured.get(resource.address) ?? configured.get(configAddress(resource.address))
      const values: Record<string, any> = {...(base?.values ?? {})}
      for (const [attribute, value] of Object.entries<any>(resource.values ?? {})) {
        if (value !== null && value !== undefined) values[attribute] = value
      }
      const key = /\[([^\]]*)\]$/.exec(resource.address)?.[1]
      for (const [attribute, value] of Object.entries(configuredInPlan.get(configAddress(resource.address)) ?? {})) {
        if (values[attribute] === undefined || values[attribute] === null) values[attribute] = key === undefined ? value : withInstanceKey(value, key)
      }
      resources.push({address: resource.address, type: resource.type, name: resource.name, values, constructPath: base?.constructPath})
    }
    for (const child of module.child_modules ?? []) walk(child)
  }
  walk(doc.planned_values?.root_module)
  // A destroy plan has no planned values: nothing there can break the promise.
  return resources
}

/** Stands for the instance key in a reference written with each.key or count.index, until the instance is known. */
const INSTANCE_KEY = '\u0000key\u0000'

function withInstanceKey(value: unknown, key: string): unknown {
  if (typeof value === 'string') return value.replaceAll(INSTANCE_KEY, key)
  if (Array.isArray(value)) return value.map((item) => withInstanceKey(item, key))
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, item]) => [k, withInstanceKey(item, key)]))
  return value
}

function configAddress(address: string): string {
  return address.replace(/\[[^\]]*\]/g, '')
}

/** An expression of `terraform show -json`'s configuration: {constant_value} or {references}. */
const isExpression = (value: unknown): boolean =>
  typeof value === 'object' && value !== null && !Array.isArray(value) && Object.keys(value).every((key) => key === 'constant_value' || key === 'references')

/** What an expression or nested block says before apply: its constant, else "${reference}". */
function expressionValue(expression: any, modulePrefix = ''): unknown {
  if (Array.isArray(expression)) return expression.map((block) => expressionValue(block, modulePrefix))
  if (typeof expression !== 'object' || expression === null) return undefined
  if (isExpression(expression)) {
    if ('constant_value' in expression) return expression.constant_value
    const references = (expression.references as string[] | undefined) ?? []
    const reference = references.find((ref) => /^[a-z0-9_]+\.[^.]+\.[a-z_]+$/.test(ref))
    // References inside a module are relative to it; the audit addresses are absolute.
    if (reference) return `\${${modulePrefix}${reference}}`
    // aws_s3_bucket.x[each.key].id is listed as ["aws_s3_bucket.x", "each.key"]: the instance's own
    // key (from its address) names the instance it points at. The attribute is not listed; the link is what rules need.
    const collection = references.find((ref) => /^[a-z0-9_]+\.[a-z0-9_-]+$/i.test(ref) && !/^(var|local|each|count|module|data|path|terraform|self)\./.test(ref))
    if (collection && references.includes('each.key')) return `\${${modulePrefix}${collection}[${INSTANCE_KEY}].id}`
    if (collection && references.includes('count.index')) return `\${${modulePrefix}${collection}[${INSTANCE_KEY}].id}`
    return undefined
  }
  // A nested block: each of its attributes is an expression or a block in turn.
  return Object.fromEntries(Object.entries(expression).map(([key, value]) => [key, expressionValue(value, modulePrefix)]).filter(([, value]) => value !== undefined))
}

/** address -> the attribute values each resource's configuration states, per module. */
function configurationValues(module: Record<string, any> | undefined, prefix = ''): Map<string, Record<string, unknown>> {
  const map = new Map<string, Record<string, unknown>>()
  if (!module) return map
  for (const resource of module.resources ?? []) {
    const attributes: Record<string, unknown> = {}
    for (const [attribute, expression] of Object.entries<any>(resource.expressions ?? {})) {
      const value = expressionValue(expression, prefix)
      if (value !== undefined) attributes[attribute] = value
    }
    map.set(`${prefix}${resource.address}`, attributes)
  }
  for (const [name, call] of Object.entries<any>(module.module_calls ?? {})) {
    for (const [address, attributes] of configurationValues(call.module, `${prefix}module.${name}.`)) map.set(address, attributes)
  }
  return map
}
