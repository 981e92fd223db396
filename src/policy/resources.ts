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
}

export type AuditInputKind = 'synthesized' | 'plan'

export interface AuditInput {
  kind: AuditInputKind
  source: string
  resources: AuditResource[]
}

/**
 * Reads a synthesized cdk.tf.json / any Terraform JSON configuration, or a `terraform show -json`
 * plan. For a plan, `configuration` (the synthesized resources it was planned from) supplies what
 * stays unknown until apply, such as a policy that embeds an ARN; the plan's known values win.
 */
export function resourcesFromJson(document: unknown, source: string, configuration?: AuditResource[]): AuditInput {
  const doc = document as Record<string, any>
  if (doc && typeof doc === 'object' && ('planned_values' in doc || 'resource_changes' in doc)) {
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

/** Planned values (known after apply are absent), with the configuration's references kept. */
function fromPlan(doc: Record<string, any>, configuration: AuditResource[] = []): AuditResource[] {
  const resources: AuditResource[] = []
  const references = configurationReferences(doc.configuration?.root_module)
  const configured = new Map(configuration.map((resource) => [resource.address, resource]))
  const walk = (module: Record<string, any> | undefined) => {
    if (!module) return
    for (const resource of module.resources ?? []) {
      if (resource.mode !== 'managed') continue
      const base = configured.get(configAddress(resource.address))
      const values: Record<string, any> = {...(base?.values ?? {})}
      for (const [attribute, value] of Object.entries<any>(resource.values ?? {})) {
        if (value !== null && value !== undefined) values[attribute] = value
      }
      // Where a value is unknown until apply, keep the reference so cross-resource rules still link.
      for (const [attribute, target] of Object.entries(references.get(configAddress(resource.address)) ?? {})) {
        if (values[attribute] === undefined || values[attribute] === null) values[attribute] = target
      }
      resources.push({address: resource.address, type: resource.type, name: resource.name, values, constructPath: base?.constructPath})
    }
    for (const child of module.child_modules ?? []) walk(child)
  }
  walk(doc.planned_values?.root_module)
  // A destroy plan has no planned values: nothing there can break the promise.
  return resources
}

function configAddress(address: string): string {
  return address.replace(/\[[^\]]*\]/g, '')
}

/** attribute -> "${type.name.attr}" for each resource whose configuration refers to another. */
function configurationReferences(module: Record<string, any> | undefined, prefix = ''): Map<string, Record<string, string>> {
  const map = new Map<string, Record<string, string>>()
  if (!module) return map
  for (const resource of module.resources ?? []) {
    const attributes: Record<string, string> = {}
    for (const [attribute, expression] of Object.entries<any>(resource.expressions ?? {})) {
      const reference = (expression?.references as string[] | undefined)?.find((ref) => /^[a-z0-9_]+\.[^.]+\.[a-z_]+$/.test(ref))
      if (reference) attributes[attribute] = `\${${reference}}`
    }
    map.set(`${prefix}${resource.address}`, attributes)
  }
  for (const [name, call] of Object.entries<any>(module.module_calls ?? {})) {
    for (const [address, attributes] of configurationReferences(call.module, `${prefix}module.${name}.`)) map.set(address, attributes)
  }
  return map
}
