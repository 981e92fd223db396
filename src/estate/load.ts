import {existsSync, readFileSync} from 'node:fs'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {parse as parseYaml} from 'yaml'

import {InfraError} from '../errors.js'
import {cidrsOverlap, parseCidr} from './cidr.js'
import {parseDelivery} from './delivery.js'
import {
  EGRESS_MODES,
  type EnvironmentSpec,
  type Estate,
  OPTIONAL_LAYERS,
  type OptionalLayer,
  type RiskException,
  SIZINGS,
  type Sizing,
  allTargets,
} from './model.js'

export const DEFAULT_ESTATE_FILE = fileURLToPath(new URL('../../config/estate.yaml', import.meta.url))
const LOCAL_ESTATE_FILES = ['infra.estate.yaml', 'infra.estate.yml', 'infra.estate.json']

/** Where the estate comes from: the flag, INFRA_ESTATE, the working folder, then the shipped default. */
export function resolveEstatePath(flag?: string, cwd = process.cwd(), env = process.env): string {
  const chosen = flag ?? env.INFRA_ESTATE
  if (chosen) {
    const absolute = path.resolve(cwd, chosen)
    if (!existsSync(absolute)) {
      throw new InfraError(
        `estate file ${absolute} does not exist`,
        `pass an existing file with --estate or INFRA_ESTATE, or copy ${DEFAULT_ESTATE_FILE}`,
        'ESTATE_NOT_FOUND',
      )
    }
    return absolute
  }
  const local = LOCAL_ESTATE_FILES.map((name) => path.join(cwd, name)).find((file) => existsSync(file))
  return local ?? DEFAULT_ESTATE_FILE
}

export interface LoadEstateOptions {
  file?: string
  cwd?: string
  env?: NodeJS.ProcessEnv
}

export function loadEstate(options: LoadEstateOptions = {}): Estate {
  const env = options.env ?? process.env
  const file = resolveEstatePath(options.file, options.cwd, env)
  const text = readFileSync(file, 'utf8')
  let raw: unknown
  try {
    raw = file.endsWith('.json') ? JSON.parse(text) : parseYaml(text)
  } catch (error) {
    const detail = (error as Error).message.split('\n')[0]
    throw new InfraError(`estate file ${file} is not valid ${file.endsWith('.json') ? 'JSON' : 'YAML'}`, detail, 'ESTATE_INVALID')
  }
  const estate = parseEstate(raw, file)
  // An emulator endpoint in the environment wins, so every command can be pointed at moto.
  const endpoint = env.AWS_ENDPOINT_URL ?? estate.endpoint
  // A pipeline's OIDC role already is the target account's: nothing to assume.
  const assumeRoles = !/^(false|0|no)$/i.test(env.INFRA_ASSUME_ROLE ?? '')
  return {...estate, assumeRoles, ...(endpoint ? {endpoint} : {})}
}

/** One problem with the estate file: the field's path and what to do about it. */
export interface EstateIssue {
  field: string
  problem: string
}

export class EstateValidationError extends InfraError {
  constructor(
    readonly file: string,
    readonly issues: EstateIssue[],
  ) {
    const [first] = issues
    const more = issues.length > 1 ? ` (and ${issues.length - 1} more problem${issues.length > 2 ? 's' : ''})` : ''
    super(`estate file ${file} is invalid: ${first.field} ${first.problem}${more}`, undefined, 'ESTATE_INVALID')
  }
}

const ACCOUNT_ID = /^\d{12}$/
const REGION = /^[a-z]{2}(-gov)?-[a-z]+-\d$/
const TARGET_NAME = /^[a-z][a-z0-9-]{1,30}$/
const ROLE_NAME = /^[\w+=,.@/-]{1,64}$/
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/

type Raw = Record<string, unknown>

/** Validates a parsed estate document and resolves defaults; throws naming every bad field. */
export function parseEstate(raw: unknown, source: string): Estate {
  const issues: EstateIssue[] = []
  const problem = (field: string, text: string) => issues.push({field, problem: text})
  const doc = isObject(raw) ? raw : (problem('(top level)', 'must be a mapping with organization and environments'), {})
  const org = isObject(doc.organization) ? doc.organization : (problem('organization', 'is required: give name and managementAccountId'), {})
  const defaults = isObject(doc.defaults) ? doc.defaults : {}

  const orgName = stringField(org, 'organization.name', problem, {pattern: TARGET_NAME, hint: 'lowercase letters, digits and dashes, e.g. "acme"'})
  const managementAccountId = stringField(org, 'organization.managementAccountId', problem, {
    pattern: ACCOUNT_ID,
    hint: 'exactly 12 digits in quotes, e.g. "999999999999"',
    key: 'managementAccountId',
  })
  const defaultRegion = optionalString(defaults, 'region') ?? 'eu-west-1'
  const defaultRoleName = optionalString(defaults, 'roleName') ?? 'OrganizationAccountAccessRole'
  if (!REGION.test(defaultRegion)) problem('defaults.region', `"${defaultRegion}" is not an AWS region name, e.g. "eu-west-1"`)
  if (!ROLE_NAME.test(defaultRoleName)) problem('defaults.roleName', `"${defaultRoleName}" is not an IAM role name`)

  const readTargets = (section: 'environments' | 'clients', kind: EnvironmentSpec['kind']): EnvironmentSpec[] => {
    const entries = doc[section]
    if (entries === undefined || entries === null) {
      if (section === 'environments') problem('environments', 'is required: add at least one environment')
      return []
    }
    if (!isObject(entries)) {
      problem(section, 'must be a mapping of name to settings')
      return []
    }
    return Object.entries(entries).map(([name, value]) =>
      parseTarget(name, value, `${section}.${name}`, kind, {orgName, defaultRegion, defaultRoleName}, problem),
    )
  }
  const environments = readTargets('environments', 'environment')
  const clients = readTargets('clients', 'client')
  if (section(doc, 'environments') && environments.length === 0) problem('environments', 'is empty: add at least one environment')

  const endpoint = optionalString(doc, 'endpoint')
  if (endpoint !== undefined && !/^https?:\/\/[^\s]+$/.test(endpoint)) problem('endpoint', `"${endpoint}" must be an http(s) URL`)

  const exceptions = parseExceptions(doc.exceptions, problem)
  const delivery = parseDelivery(doc.delivery, environments, problem)
  const estate: Estate = {
    source,
    organization: {name: orgName, managementAccountId},
    endpoint,
    environments,
    clients,
    exceptions,
    ...(delivery ? {delivery} : {}),
    assumeRoles: true,
  }
  checkEstateWide(estate, problem)
  if (issues.length > 0) throw new EstateValidationError(source, issues)
  return estate
}

interface TargetDefaults {
  orgName: string
  defaultRegion: string
  defaultRoleName: string
}

function parseTarget(
  name: string,
  value: unknown,
  field: string,
  kind: EnvironmentSpec['kind'],
  defaults: TargetDefaults,
  problem: (field: string, text: string) => void,
): EnvironmentSpec {
  if (!TARGET_NAME.test(name)) problem(field, 'name must be 2-31 lowercase letters, digits or dashes, starting with a letter')
  const spec = isObject(value) ? value : (problem(field, 'must be a mapping with accountId and vpcCidr'), {} as Raw)
  const known = new Set(['accountId', 'region', 'availabilityZones', 'vpcCidr', 'roleArn', 'roleName', 'stateBucket', 'sizing', 'egress', 'protected', 'omitLayers', 'email'])
  for (const key of Object.keys(spec)) {
    if (!known.has(key)) problem(`${field}.${key}`, `is not a known setting (known: ${[...known].join(', ')})`)
  }
  const accountId = stringField(spec, `${field}.accountId`, problem, {
    pattern: ACCOUNT_ID,
    hint: 'exactly 12 digits in quotes, e.g. "111111111111"',
    key: 'accountId',
  })
  const region = optionalString(spec, 'region') ?? defaults.defaultRegion
  if (!REGION.test(region)) problem(`${field}.region`, `"${region}" is not an AWS region name, e.g. "eu-west-1"`)
  const vpcCidr = stringField(spec, `${field}.vpcCidr`, problem, {key: 'vpcCidr', hint: 'e.g. "10.1.0.0/16"'})
  const block = vpcCidr ? parseCidr(vpcCidr) : undefined
  if (vpcCidr && !block) problem(`${field}.vpcCidr`, `"${vpcCidr}" is not a valid IPv4 CIDR with no host bits set, e.g. "10.1.0.0/16"`)
  else if (block && (block.prefix < 16 || block.prefix > 20)) {
    problem(`${field}.vpcCidr`, `"${vpcCidr}" must be a /16 to /20 (AWS allows /16 at most; below /20 the subnets are too small)`)
  } else if (block && !isPrivateRange(block)) {
    problem(`${field}.vpcCidr`, `"${vpcCidr}" is not in a private range (10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16)`)
  }

  const azs = spec.availabilityZones
  let availabilityZones = ['a', 'b', 'c'].map((letter) => `${region}${letter}`)
  if (azs !== undefined) {
    if (!Array.isArray(azs) || azs.length < 2 || azs.length > 3 || azs.some((az) => typeof az !== 'string' || !az.startsWith(region))) {
      problem(`${field}.availabilityZones`, `must list 2 or 3 zones of ${region}, e.g. ["${region}a", "${region}b", "${region}c"]`)
    } else availabilityZones = azs as string[]
  }

  const roleName = optionalString(spec, 'roleName') ?? defaults.defaultRoleName
  const explicitRoleArn = optionalString(spec, 'roleArn')
  const roleArn = explicitRoleArn ?? `arn:aws:iam::${accountId}:role/${roleName}`
  const accountIdValid = ACCOUNT_ID.test(accountId)
  if (explicitRoleArn && !/^arn:aws[\w-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/.test(roleArn)) problem(`${field}.roleArn`, `"${roleArn}" is not an IAM role ARN`)
  else if (explicitRoleArn && accountIdValid && !roleArn.includes(`::${accountId}:`)) {
    problem(`${field}.roleArn`, `"${roleArn}" is not in the environment's account ${accountId}`)
  }

  const explicitBucket = optionalString(spec, 'stateBucket')
  const stateBucket = explicitBucket ?? `${defaults.orgName}-${name}-tfstate-${accountId}`
  if ((explicitBucket || accountIdValid) && !BUCKET_NAME.test(stateBucket) || stateBucket.includes('..')) {
    problem(`${field}.stateBucket`, `"${stateBucket}" is not a valid S3 bucket name (3-63 lowercase letters, digits, dots, dashes)`)
  }

  const sizing = (optionalString(spec, 'sizing') ?? 'small') as Sizing
  if (!SIZINGS.includes(sizing)) problem(`${field}.sizing`, `"${sizing}" is not one of ${SIZINGS.join(', ')}`)
  const egress = (optionalString(spec, 'egress') ?? 'nat') as EnvironmentSpec['egress']
  if (!EGRESS_MODES.includes(egress)) problem(`${field}.egress`, `"${egress}" is not one of ${EGRESS_MODES.join(', ')} ("none" builds no NAT and no internet gateway)`)
  const isProtected = spec.protected ?? sizing === 'ha'
  if (typeof isProtected !== 'boolean') problem(`${field}.protected`, 'must be true or false')
  const omit = spec.omitLayers ?? []
  const omitLayers: OptionalLayer[] = []
  if (!Array.isArray(omit)) problem(`${field}.omitLayers`, `must be a list of layers: ${OPTIONAL_LAYERS.join(', ')}`)
  else {
    for (const layer of omit) {
      if (OPTIONAL_LAYERS.includes(layer)) omitLayers.push(layer)
      else problem(`${field}.omitLayers`, `"${String(layer)}" is not an optional layer (one of ${OPTIONAL_LAYERS.join(', ')})`)
    }
  }
  const email = optionalString(spec, 'email')
  if (email !== undefined && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(email)) problem(`${field}.email`, `"${email}" is not an email address`)

  return {
    name,
    kind,
    accountId,
    region,
    availabilityZones,
    vpcCidr,
    roleArn,
    stateBucket,
    sizing,
    egress,
    protected: isProtected === true,
    omitLayers,
    email,
  }
}

function parseExceptions(raw: unknown, problem: (field: string, text: string) => void): RiskException[] {
  if (raw === undefined || raw === null) return []
  if (!Array.isArray(raw)) {
    problem('exceptions', 'must be a list of {rule, resource, reason, expires}')
    return []
  }
  return raw.flatMap((entry, index) => {
    const field = `exceptions[${index}]`
    if (!isObject(entry)) {
      problem(field, 'must be a mapping with rule, resource, reason and expires')
      return []
    }
    const rule = optionalString(entry, 'rule') ?? ''
    const resource = optionalString(entry, 'resource') ?? ''
    const reason = optionalString(entry, 'reason') ?? ''
    const expires = entry.expires instanceof Date ? entry.expires.toISOString().slice(0, 10) : (optionalString(entry, 'expires') ?? '')
    if (!/^INFRA_[A-Z0-9_]+$/.test(rule)) problem(`${field}.rule`, `"${rule}" is not a rule id (see \`infra audit stacks --help\`), e.g. INFRA_S3_VERSIONED`)
    if (!resource) problem(`${field}.resource`, 'is required: an address or construct path, globs allowed')
    if (reason.trim().length < 10) problem(`${field}.reason`, 'is required: say why the risk is accepted (10 characters or more)')
    if (!/^\d{4}-\d{2}-\d{2}$/.test(expires) || Number.isNaN(Date.parse(expires))) problem(`${field}.expires`, `"${expires}" must be a date, YYYY-MM-DD: every exception ends`)
    const environment = optionalString(entry, 'environment')
    return [{rule, resource, reason, expires, ...(environment ? {environment} : {})}]
  })
}

function checkEstateWide(estate: Estate, problem: (field: string, text: string) => void): void {
  const targets = allTargets(estate)
  const seenNames = new Map<string, string>()
  const seenAccounts = new Map<string, string>()
  for (const target of targets) {
    const field = `${target.kind === 'client' ? 'clients' : 'environments'}.${target.name}`
    const previous = seenNames.get(target.name)
    if (previous) problem(field, `has the same name as ${previous}: names must be unique across environments and clients`)
    seenNames.set(target.name, field)
    const owner = seenAccounts.get(target.accountId)
    if (target.accountId && owner) problem(`${field}.accountId`, `${target.accountId} is already used by ${owner}: each environment needs its own account`)
    if (target.accountId) seenAccounts.set(target.accountId, field)
    if (target.accountId === estate.organization.managementAccountId) {
      problem(`${field}.accountId`, 'is the management account: workloads must live in their own accounts')
    }
  }
  for (let i = 0; i < targets.length; i++) {
    for (let j = i + 1; j < targets.length; j++) {
      const a = parseCidr(targets[i].vpcCidr)
      const b = parseCidr(targets[j].vpcCidr)
      if (a && b && cidrsOverlap(a, b)) {
        problem(
          `${targets[j].kind === 'client' ? 'clients' : 'environments'}.${targets[j].name}.vpcCidr`,
          `${targets[j].vpcCidr} overlaps ${targets[i].name}'s ${targets[i].vpcCidr}: give each account its own range`,
        )
      }
    }
  }
}

function isPrivateRange(block: {base: number; prefix: number}): boolean {
  return ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'].some((range) => {
    const parent = parseCidr(range)!
    return block.prefix >= parent.prefix && cidrsOverlap(block, parent)
  })
}

function isObject(value: unknown): value is Raw {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function section(doc: Raw, key: string): boolean {
  return isObject(doc[key])
}

function optionalString(record: Raw, key: string): string | undefined {
  const value = record[key]
  if (value === undefined || value === null) return undefined
  return typeof value === 'number' ? String(value) : typeof value === 'string' ? value : JSON.stringify(value)
}

function stringField(
  record: Raw,
  field: string,
  problem: (field: string, text: string) => void,
  rule: {key?: string; pattern?: RegExp; hint?: string},
): string {
  const key = rule.key ?? field.split('.').at(-1)!
  const value = record[key]
  if (value === undefined || value === null || value === '') {
    problem(field, `is required${rule.hint ? ` (${rule.hint})` : ''}`)
    return ''
  }
  if (typeof value === 'number') {
    // YAML turns 012345678901 into a number and drops leading zeros: insist on quotes.
    problem(field, `must be a quoted string, not the number ${value}${rule.hint ? ` (${rule.hint})` : ''}`)
    return String(value)
  }
  if (typeof value !== 'string') {
    problem(field, `must be a string${rule.hint ? ` (${rule.hint})` : ''}`)
    return ''
  }
  if (rule.pattern && !rule.pattern.test(value)) problem(field, `"${value}" is not valid${rule.hint ? `: ${rule.hint}` : ''}`)
  return value
}

/** The environment or client named, or an error listing the ones that exist. */
export function findTarget(estate: Estate, name: string): EnvironmentSpec {
  const target = allTargets(estate).find((candidate) => candidate.name === name)
  if (!target) {
    const known = allTargets(estate).map((candidate) => candidate.name)
    throw new InfraError(
      `unknown environment "${name}" in ${estate.source}`,
      `use one of: ${known.join(', ')}`,
      'UNKNOWN_ENV',
    )
  }
  return target
}
