import {existsSync, readFileSync, statSync} from 'node:fs'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {parse as parseYaml} from 'yaml'

import {EXIT, InfraError, fromSystemError} from '../errors.js'
import {cidrsOverlap, parseCidr} from './cidr.js'
import {parseDelivery} from './delivery.js'
import {
  EGRESS_MODES,
  type EnvironmentSpec,
  type Estate,
  type LogSettings,
  OPENSEARCH_DEFAULTS,
  OPTIONAL_LAYERS,
  type OptionalLayer,
  type CidrPool,
  type PendingClient,
  type RiskException,
  type ServiceSettings,
  SIZINGS,
  type Sizing,
  AWS_REGIONS,
  allTargets,
  openSearchDomainName,
  openSearchZoneCount,
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
        EXIT.usage,
      )
    }
    if (statSync(absolute).isDirectory()) throw new InfraError(`${absolute} is a folder, not a file`, 'pass the estate file inside it, e.g. --estate infra.estate.yaml', 'ESTATE_IS_FOLDER', EXIT.usage)
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
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (error) {
    // A folder or an unreadable file: Node's error does not always name the path.
    const err = error as NodeJS.ErrnoException
    if (err.code && !err.path) err.path = file
    throw fromSystemError(err) ?? error
  }
  let raw: unknown
  try {
    raw = file.endsWith('.json') ? JSON.parse(text) : parseYaml(text)
  } catch (error) {
    // The parser's first line, without the trailing colon that introduces its code excerpt.
    const detail = (error as Error).message.split('\n')[0].replace(/:\s*$/, '')
    const line = (error as {linePos?: {line: number}[]}).linePos?.[0]?.line
    throw new InfraError(
      `estate file ${file} is not valid ${file.endsWith('.json') ? 'JSON' : 'YAML'}: ${detail}`,
      line ? `correct line ${line} (indentation, quotes, a missing colon or space after it), then run again` : 'correct the syntax, then run again',
      'ESTATE_INVALID',
    )
  }
  const estate = parseEstate(raw, file)
  // An emulator endpoint in the environment wins, so every command can be pointed at moto.
  const endpoint = env.AWS_ENDPOINT_URL ?? estate.endpoint
  // A pipeline's OIDC role already is the target account's: nothing to assume.
  const assumeRoles = !/^(false|0|no)$/i.test(env.INFRA_ASSUME_ROLE ?? '')
  return {...estate, assumeRoles, ...(endpoint ? {endpoint} : {})}
}

/** One problem with the estate file: the field's path, what is wrong, and what to write instead. */
export interface EstateIssue {
  path: string
  problem: string
  fix: string
}

/** Every problem of an estate file at once, each with its fix; in --json as details. */
export class EstateValidationError extends InfraError {
  constructor(
    readonly file: string,
    readonly issues: EstateIssue[],
  ) {
    const [first] = issues
    super(
      issues.length === 1
        ? `estate file ${file} is invalid: ${first.path} ${first.problem}`
        : `estate file ${file} has ${issues.length} problems: ${issues.map((issue) => `${issue.path} ${issue.problem}`).join('; ')}`,
      issues.length === 1 ? first.fix : 'fix each problem as listed (in --json: details), then run again',
      'ESTATE_INVALID',
      EXIT.failure,
      issues,
    )
  }

  /** One line for one problem; a line per problem, each with its fix, for several. */
  override describe(): string {
    if (this.issues.length === 1) return this.oneLine()
    return [`estate file ${this.file} has ${this.issues.length} problems:`, ...this.issues.map((issue) => `  ${issue.path} ${issue.problem}; fix: ${issue.fix}`)].join('\n')
  }
}

const ACCOUNT_ID = /^\d{12}$/
const TARGET_NAME = /^[a-z][a-z0-9-]{1,30}$/
const ROLE_NAME = /^[\w+=,.@/-]{1,64}$/
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/

type Raw = Record<string, unknown>

/** Validates a parsed estate document and resolves defaults; throws naming every bad field. */
export function parseEstate(raw: unknown, source: string): Estate {
  const issues: EstateIssue[] = []
  const problem: Problem = (path, text, fix) => issues.push({path, problem: text, fix})
  const doc = isObject(raw) ? raw : (problem('(top level)', 'is not a mapping', `start from ${DEFAULT_ESTATE_FILE}: organization, environments, clients`), {})
  const org = isObject(doc.organization) ? doc.organization : (problem('organization', 'is missing', 'add organization: {name: acme, managementAccountId: "999999999999"}'), {})
  const defaults = isObject(doc.defaults) ? doc.defaults : {}

  const orgName = stringField(org, 'organization.name', problem, {pattern: TARGET_NAME, hint: 'a name of lowercase letters, digits and dashes, e.g. "acme"'})
  const managementAccountId = stringField(org, 'organization.managementAccountId', problem, {
    pattern: ACCOUNT_ID,
    hint: 'exactly 12 digits in quotes, e.g. "999999999999"',
    key: 'managementAccountId',
  })
  const defaultRegion = optionalString(defaults, 'region') ?? 'eu-west-1'
  const defaultRoleName = optionalString(defaults, 'roleName') ?? 'OrganizationAccountAccessRole'
  checkRegion(defaultRegion, 'defaults.region', problem)
  if (!ROLE_NAME.test(defaultRoleName)) problem('defaults.roleName', `"${defaultRoleName}" is not an IAM role name`, 'use up to 64 letters, digits and +=,.@_-, e.g. OrganizationAccountAccessRole')

  const pendingClients: PendingClient[] = []
  const readTargets = (section: 'environments' | 'clients', kind: EnvironmentSpec['kind']): EnvironmentSpec[] => {
    const entries = doc[section]
    if (entries === undefined || entries === null) {
      if (section === 'environments') problem('environments', 'is missing', 'add at least one environment, e.g. dev: {accountId: "111111111111", vpcCidr: 10.1.0.0/16}')
      return []
    }
    if (!isObject(entries)) {
      problem(section, 'is not a mapping of name to settings', `write ${section}: then one "name: {accountId, vpcCidr}" per line`)
      return []
    }
    return Object.entries(entries).flatMap(([name, value]) => {
      if (kind === 'client' && isObject(value) && value.status !== undefined) {
        const pending = parsePendingClient(name, value, `${section}.${name}`, defaultRegion, problem)
        if (pending) pendingClients.push(pending)
        return []
      }
      return [parseTarget(name, value, `${section}.${name}`, kind, {orgName, defaultRegion, defaultRoleName}, problem)]
    })
  }
  const environments = readTargets('environments', 'environment')
  const clients = readTargets('clients', 'client')
  const clientCidrPool = parseCidrPool(doc.clientCidrPool, problem)
  if (section(doc, 'environments') && environments.length === 0) problem('environments', 'is empty', 'add at least one environment, e.g. dev: {accountId: "111111111111", vpcCidr: 10.1.0.0/16}')

  const endpoint = optionalString(doc, 'endpoint')
  if (endpoint !== undefined && !/^https?:\/\/[^\s]+$/.test(endpoint)) problem('endpoint', `"${endpoint}" is not an http(s) URL`, 'write the emulator\'s URL, e.g. https://127.0.0.1:5000, or remove endpoint for real AWS')

  const exceptions = parseExceptions(doc.exceptions, problem)
  const delivery = parseDelivery(doc.delivery, environments, problem)
  const estate: Estate = {
    source,
    organization: {name: orgName, managementAccountId},
    endpoint,
    environments,
    clients,
    exceptions,
    pendingClients,
    defaults: {region: defaultRegion, roleName: defaultRoleName},
    ...(clientCidrPool ? {clientCidrPool} : {}),
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
  problem: Problem,
): EnvironmentSpec {
  if (!TARGET_NAME.test(name)) problem(field, 'has a name infra cannot use', 'rename it: 2-31 lowercase letters, digits or dashes, starting with a letter')
  const spec = isObject(value) ? value : (problem(field, 'is not a mapping', `write ${name}: {accountId: "111111111111", vpcCidr: 10.1.0.0/16}`), {} as Raw)
  const known = new Set(['accountId', 'region', 'availabilityZones', 'vpcCidr', 'roleArn', 'roleName', 'stateBucket', 'sizing', 'egress', 'protected', 'omitLayers', 'email', 'logs', 'service'])
  // status is only for clients being onboarded (`status: pending`); a finished client has none.
  if (kind === 'client') known.add('status')
  for (const key of Object.keys(spec)) {
    if (!known.has(key)) {
      const meant = closestWord(key, [...known])
      problem(`${field}.${key}`, 'is not a known setting', meant ? `did you mean ${meant}? Known: ${[...known].join(', ')}` : `remove it; known: ${[...known].join(', ')}`)
    }
  }
  const accountId = stringField(spec, `${field}.accountId`, problem, {
    pattern: ACCOUNT_ID,
    hint: 'exactly 12 digits in quotes, e.g. "111111111111"',
    key: 'accountId',
  })
  const region = optionalString(spec, 'region') ?? defaults.defaultRegion
  if (spec.region !== undefined) checkRegion(region, `${field}.region`, problem)
  const vpcCidr = stringField(spec, `${field}.vpcCidr`, problem, {key: 'vpcCidr', hint: 'a private IPv4 range, e.g. "10.1.0.0/16"'})
  checkVpcCidr(vpcCidr, `${field}.vpcCidr`, problem)

  const azs = spec.availabilityZones
  let availabilityZones = ['a', 'b', 'c'].map((letter) => `${region}${letter}`)
  if (azs !== undefined) {
    if (!Array.isArray(azs) || azs.length < 2 || azs.length > 3 || azs.some((az) => typeof az !== 'string' || !az.startsWith(region))) {
      problem(`${field}.availabilityZones`, `is not a list of 2 or 3 zones of ${region}`, `write ["${region}a", "${region}b", "${region}c"], or remove it for those three`)
    } else availabilityZones = azs as string[]
  }

  const roleName = optionalString(spec, 'roleName') ?? defaults.defaultRoleName
  const explicitRoleArn = optionalString(spec, 'roleArn')
  const roleArn = explicitRoleArn ?? `arn:aws:iam::${accountId}:role/${roleName}`
  const accountIdValid = ACCOUNT_ID.test(accountId)
  if (explicitRoleArn && !/^arn:aws[\w-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/.test(roleArn)) {
    problem(`${field}.roleArn`, `"${roleArn}" is not an IAM role ARN`, `write arn:aws:iam::${accountIdValid ? accountId : '111111111111'}:role/NAME, or use roleName`)
  } else if (explicitRoleArn && accountIdValid && !roleArn.includes(`::${accountId}:`)) {
    problem(`${field}.roleArn`, `"${roleArn}" is not in the environment's account ${accountId}`, `use a role of account ${accountId}, or correct accountId`)
  }

  const explicitBucket = optionalString(spec, 'stateBucket')
  const stateBucket = explicitBucket ?? `${defaults.orgName}-${name}-tfstate-${accountId}`
  if ((explicitBucket || accountIdValid) && !BUCKET_NAME.test(stateBucket) || stateBucket.includes('..')) {
    problem(`${field}.stateBucket`, `"${stateBucket}" is not a valid S3 bucket name`, 'use 3-63 lowercase letters, digits, dots and dashes, starting and ending with a letter or digit')
  }

  const sizing = (optionalString(spec, 'sizing') ?? 'small') as Sizing
  if (!SIZINGS.includes(sizing)) problem(`${field}.sizing`, `"${sizing}" is not a sizing`, `use one of: ${SIZINGS.join(', ')}`)
  const egress = (optionalString(spec, 'egress') ?? 'nat') as EnvironmentSpec['egress']
  if (!EGRESS_MODES.includes(egress)) problem(`${field}.egress`, `"${egress}" is not an egress mode`, `use one of: ${EGRESS_MODES.join(', ')} ("none" builds no NAT and no internet gateway)`)
  const isProtected = spec.protected ?? sizing === 'ha'
  if (typeof isProtected !== 'boolean') problem(`${field}.protected`, 'is not true or false', 'write protected: true or protected: false, without quotes')
  const omit = spec.omitLayers ?? []
  const omitLayers: OptionalLayer[] = []
  if (!Array.isArray(omit)) problem(`${field}.omitLayers`, 'is not a list', `write a list of layers from: ${OPTIONAL_LAYERS.join(', ')}`)
  else {
    for (const layer of omit) {
      if (OPTIONAL_LAYERS.includes(layer)) omitLayers.push(layer)
      else problem(`${field}.omitLayers`, `"${String(layer)}" is not an optional layer`, `use layers from: ${OPTIONAL_LAYERS.join(', ')} (the network is always built)`)
    }
  }
  const logs = parseLogSettings(spec.logs, `${field}.logs`, {sizing, omitLayers, zones: availabilityZones.length, domainName: openSearchDomainName(defaults.orgName, name)}, problem)
  const email = optionalString(spec, 'email')
  if (email !== undefined && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(email)) problem(`${field}.email`, `"${email}" is not an email address`, 'write the account root user\'s address, e.g. aws-dev@example.com')

  const service = parseServiceSettings(spec.service, `${field}.service`, problem)

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
    logs,
    ...(service ? {service} : {}),
  }
}

/** `logs: {opensearch: {enabled, instanceType, instanceCount, volumeGb}}`; every field optional, off by default. */
function parseLogSettings(
  value: unknown,
  field: string,
  target: {sizing: Sizing; omitLayers: OptionalLayer[]; zones: number; domainName: string},
  problem: Problem,
): LogSettings {
  const defaults = OPENSEARCH_DEFAULTS[SIZINGS.includes(target.sizing) ? target.sizing : 'small']
  const off: LogSettings = {opensearch: {enabled: false, ...defaults}}
  if (value === undefined || value === null) return off
  if (!isObject(value)) {
    problem(field, 'is not a mapping', 'write logs: {opensearch: {enabled: true}}, or remove it')
    return off
  }
  for (const key of Object.keys(value)) if (key !== 'opensearch') problem(`${field}.${key}`, 'is not a known setting', 'remove it; known: opensearch')
  const raw = value.opensearch ?? {}
  if (!isObject(raw)) {
    problem(`${field}.opensearch`, 'is not a mapping', 'write opensearch: {enabled: true, instanceType: m6g.large.search, instanceCount: 1, volumeGb: 20}')
    return off
  }
  const known = ['enabled', 'instanceType', 'instanceCount', 'volumeGb']
  for (const key of Object.keys(raw)) if (!known.includes(key)) problem(`${field}.opensearch.${key}`, 'is not a known setting', `remove it; known: ${known.join(', ')}`)
  const enabled = raw.enabled ?? false
  if (typeof enabled !== 'boolean') problem(`${field}.opensearch.enabled`, 'is not true or false', 'write enabled: true or enabled: false, without quotes')
  const instanceType = raw.instanceType ?? defaults.instanceType
  if (typeof instanceType !== 'string' || !/^[a-z][a-z0-9]*\.[a-z0-9]+\.search$/.test(instanceType)) {
    problem(`${field}.opensearch.instanceType`, `"${String(instanceType)}" is not an OpenSearch instance type`, `write a type ending in .search, e.g. ${defaults.instanceType}`)
  }
  const whole = (key: 'instanceCount' | 'volumeGb', min: number, max: number, hint: string): number => {
    const number = raw[key] ?? defaults[key]
    if (typeof number !== 'number' || !Number.isInteger(number) || number < min || number > max) {
      problem(`${field}.opensearch.${key}`, `${JSON.stringify(number)} is not a whole number from ${min} to ${max}`, hint)
      return defaults[key]
    }
    return number
  }
  const instanceCount = whole('instanceCount', 1, 30, 'write the number of data nodes, e.g. 1 (small) or 3 (one per zone)')
  const volumeGb = whole('volumeGb', 10, 3072, 'write the gp3 volume per node in GiB, e.g. 20')
  if (enabled === true) {
    if (openSearchZoneCount(instanceCount, target.zones) === undefined) {
      problem(`${field}.opensearch.instanceCount`, `${instanceCount} nodes cannot be spread evenly over ${target.zones} zones`, `use 1, an even number${target.zones >= 3 ? ', or a multiple of 3' : ''}`)
    }
    if (target.omitLayers.includes('eks')) {
      problem(`${field}.opensearch.enabled`, 'is true but the eks layer is left out: nothing would ship logs to the domain', 'remove eks from omitLayers, or set enabled: false')
    }
    if (!/^[a-z][a-z0-9-]{2,27}$/.test(target.domainName)) {
      problem(`${field}.opensearch.enabled`, `the domain name "${target.domainName}" is longer than OpenSearch's 28 characters`, 'shorten the organization or target name, or leave OpenSearch off here')
    }
  }
  return {opensearch: {enabled: enabled === true, instanceType: String(instanceType), instanceCount, volumeGb}}
}

/** `service: {tracing: {otlpEndpoint: URL}, retentionDays: N}`: where the service on the cluster sends its traces, how long it keeps finished jobs. */
function parseServiceSettings(value: unknown, field: string, problem: Problem): ServiceSettings | undefined {
  if (value === undefined || value === null) return undefined
  if (!isObject(value)) return problem(field, 'is not a mapping', 'write service: {tracing: {otlpEndpoint: http://otel-collector.observability:4318}}'), undefined
  for (const key of Object.keys(value)) if (!['tracing', 's3Buckets', 'retentionDays'].includes(key)) problem(`${field}.${key}`, 'is not a known setting', 'remove it; known: tracing, s3Buckets, retentionDays')
  const retention = value.retentionDays
  if (retention !== undefined && !(Number.isInteger(retention) && (retention as number) >= 1 && (retention as number) <= 3650)) {
    problem(`${field}.retentionDays`, `${JSON.stringify(retention)} is not a whole number of days from 1 to 3650`, 'write the days finished jobs and results are kept, e.g. retentionDays: 30')
  }
  const retentionDays = typeof retention === 'number' && Number.isInteger(retention) ? {retentionDays: retention} : {}
  const s3Buckets = parseS3Buckets(value.s3Buckets, `${field}.s3Buckets`, problem)
  const tracing = parseTracing(value.tracing, field, problem)
  if (tracing === null || s3Buckets === null) return undefined
  return {...retentionDays, ...(tracing ? {tracing} : {}), ...(s3Buckets ? {s3Buckets} : {})}
}

/** `service.s3Buckets: [name, ...]`: S3 bucket names (the s3 source's allow list). */
function parseS3Buckets(value: unknown, field: string, problem: Problem): string[] | undefined | null {
  if (value === undefined || value === null) return undefined
  if (!Array.isArray(value) || value.some((name) => typeof name !== 'string' || !/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(name))) {
    problem(field, 'is not a list of S3 bucket names', 'write s3Buckets: [acme-exports, acme-reports] (names, not ARNs or s3:// URLs)')
    return null
  }
  return [...new Set(value as string[])]
}

/** `service.tracing`; null when it is wrong (the problem is recorded). */
function parseTracing(tracing: unknown, field: string, problem: Problem): {otlpEndpoint: string} | undefined | null {
  if (tracing === undefined || tracing === null) return undefined
  if (!isObject(tracing)) return problem(`${field}.tracing`, 'is not a mapping', 'write tracing: {otlpEndpoint: http://otel-collector.observability:4318}'), null
  for (const key of Object.keys(tracing)) if (key !== 'otlpEndpoint') problem(`${field}.tracing.${key}`, 'is not a known setting', 'remove it; known: otlpEndpoint')
  const endpoint = optionalString(tracing, 'otlpEndpoint')
  if (endpoint === undefined) return undefined
  let url: URL | undefined
  try {
    url = new URL(endpoint)
  } catch {}
  if (!url || !['http:', 'https:'].includes(url.protocol) || !url.hostname || url.username || url.password) {
    problem(`${field}.tracing.otlpEndpoint`, `"${endpoint}" is not an http(s) URL`, 'write the collector\'s OTLP/HTTP base URL, e.g. http://otel-collector.observability:4318 (no credentials in it)')
    return null
  }
  return {otlpEndpoint: endpoint}
}

function checkVpcCidr(vpcCidr: string, field: string, problem: Problem): void {
  const block = vpcCidr ? parseCidr(vpcCidr) : undefined
  if (vpcCidr && !block) problem(field, `"${vpcCidr}" is not a valid IPv4 CIDR with no host bits set`, 'write a network address and prefix, e.g. 10.1.0.0/16')
  else if (block && (block.prefix < 16 || block.prefix > 20)) {
    problem(field, `"${vpcCidr}" is a /${block.prefix}`, 'use a /16 to /20 (AWS allows /16 at most; below /20 the subnets are too small)')
  } else if (block && !isPrivateRange(block)) {
    problem(field, `"${vpcCidr}" is not in a private range`, 'choose a range inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16')
  }
}

/** `status: pending`: a client whose account is still being vended. Only what onboarding wrote so far. */
function parsePendingClient(name: string, spec: Raw, field: string, defaultRegion: string, problem: Problem): PendingClient | undefined {
  if (spec.status !== 'pending') {
    problem(`${field}.status`, `"${String(spec.status)}" is not a client status`, 'only "pending" (an onboarding not yet finished) is; otherwise leave status out')
    return undefined
  }
  if (!TARGET_NAME.test(name)) problem(field, 'has a name infra cannot use', 'rename it: 2-31 lowercase letters, digits or dashes, starting with a letter')
  const known = new Set(['status', 'accountId', 'region', 'vpcCidr', 'email', 'sizing'])
  for (const key of Object.keys(spec)) {
    if (!known.has(key)) problem(`${field}.${key}`, 'is not a setting of a pending client', `known: ${[...known].join(', ')}; finish the onboarding with \`infra onboard-client --name ${name}\``)
  }
  const vpcCidr = stringField(spec, `${field}.vpcCidr`, problem, {key: 'vpcCidr', hint: 'e.g. "10.64.0.0/16"'})
  checkVpcCidr(vpcCidr, `${field}.vpcCidr`, problem)
  const region = optionalString(spec, 'region') ?? defaultRegion
  checkRegion(region, `${field}.region`, problem)
  const sizing = (optionalString(spec, 'sizing') ?? 'small') as Sizing
  if (!SIZINGS.includes(sizing)) problem(`${field}.sizing`, `"${sizing}" is not a sizing`, `use one of ${SIZINGS.join(', ')}`)
  const accountId = optionalString(spec, 'accountId')
  if (accountId !== undefined && (typeof spec.accountId !== 'string' || !ACCOUNT_ID.test(accountId))) {
    problem(`${field}.accountId`, `"${accountId}" is not an account id`, 'write exactly 12 digits in quotes, e.g. "444444444444"')
  }
  const email = optionalString(spec, 'email')
  return {name, kind: 'client', status: 'pending', vpcCidr, region, sizing, ...(email ? {email} : {}), ...(accountId ? {accountId} : {})}
}

/** `clientCidrPool: 10.64.0.0/10` (blocks of /16), or `{cidr, blockPrefix}`. */
function parseCidrPool(raw: unknown, problem: Problem): CidrPool | undefined {
  if (raw === undefined || raw === null) return undefined
  const spec = typeof raw === 'string' ? {cidr: raw} : isObject(raw) ? raw : undefined
  if (!spec) {
    problem('clientCidrPool', 'is not a CIDR', 'write a private range such as 10.64.0.0/10, or {cidr, blockPrefix}')
    return undefined
  }
  const cidr = optionalString(spec, 'cidr') ?? ''
  const blockPrefix = spec.blockPrefix === undefined ? 16 : spec.blockPrefix
  const block = parseCidr(cidr)
  if (!block) {
    problem('clientCidrPool.cidr', `"${cidr}" is not a valid IPv4 CIDR with no host bits set`, 'write a network address and prefix, e.g. 10.64.0.0/10')
    return undefined
  }
  if (!isPrivateRange(block)) problem('clientCidrPool.cidr', `"${cidr}" is not in a private range`, 'choose a range inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16')
  if (typeof blockPrefix !== 'number' || !Number.isInteger(blockPrefix) || blockPrefix < 16 || blockPrefix > 20) {
    problem('clientCidrPool.blockPrefix', `${String(blockPrefix)} is not a VPC size infra builds`, 'use 16 to 20 (the prefix of each client\'s VPC)')
    return undefined
  }
  if (blockPrefix < block.prefix) problem('clientCidrPool.blockPrefix', `/${blockPrefix} blocks do not fit in ${cidr}`, `use a block prefix of at least ${block.prefix}, or a larger pool`)
  return {cidr, blockPrefix}
}

function parseExceptions(raw: unknown, problem: Problem): RiskException[] {
  if (raw === undefined || raw === null) return []
  if (!Array.isArray(raw)) {
    problem('exceptions', 'is not a list', 'write one "- {rule, resource, reason, expires}" per exception')
    return []
  }
  return raw.flatMap((entry, index) => {
    const field = `exceptions[${index}]`
    if (!isObject(entry)) {
      problem(field, 'is not a mapping', 'write {rule, resource, reason, expires}')
      return []
    }
    const rule = optionalString(entry, 'rule') ?? ''
    const resource = optionalString(entry, 'resource') ?? ''
    const reason = optionalString(entry, 'reason') ?? ''
    const expires = entry.expires instanceof Date ? entry.expires.toISOString().slice(0, 10) : (optionalString(entry, 'expires') ?? '')
    if (!/^INFRA_[A-Z0-9_]+$/.test(rule)) problem(`${field}.rule`, `"${rule}" is not a rule id`, 'use an id from `infra audit rules`, e.g. INFRA_S3_VERSIONED')
    if (!resource) problem(`${field}.resource`, 'is missing', 'name the resource by address or construct path, globs allowed, e.g. "dev-estate/bastion/*"')
    if (reason.trim().length < 10) problem(`${field}.reason`, reason.trim() ? 'is too short' : 'is missing', 'say why the risk is accepted, in 10 characters or more')
    if (!/^\d{4}-\d{2}-\d{2}$/.test(expires) || Number.isNaN(Date.parse(expires))) problem(`${field}.expires`, expires ? `"${expires}" is not a date` : 'is missing', 'write the day it ends as YYYY-MM-DD: every exception ends')
    const environment = optionalString(entry, 'environment')
    return [{rule, resource, reason, expires, ...(environment ? {environment} : {})}]
  })
}

function checkEstateWide(estate: Estate, problem: Problem): void {
  // Pending clients hold their name, CIDR and (once known) account like any other target.
  const targets: {name: string; kind: string; accountId: string; vpcCidr: string}[] = [
    ...allTargets(estate),
    ...(estate.pendingClients ?? []).map((client) => ({...client, accountId: client.accountId ?? ''})),
  ]
  const seenNames = new Map<string, string>()
  const seenAccounts = new Map<string, string>()
  for (const target of targets) {
    const field = `${target.kind === 'client' ? 'clients' : 'environments'}.${target.name}`
    const previous = seenNames.get(target.name)
    if (previous) problem(field, `has the same name as ${previous}`, 'rename one: names are unique across environments and clients')
    seenNames.set(target.name, field)
    const owner = seenAccounts.get(target.accountId)
    if (target.accountId && owner) problem(`${field}.accountId`, `${target.accountId} is already used by ${owner}`, 'give each environment and client its own account')
    if (target.accountId) seenAccounts.set(target.accountId, field)
    if (target.accountId === estate.organization.managementAccountId) {
      problem(`${field}.accountId`, 'is the management account', 'use a member account: workloads never live in the management account')
    }
  }
  for (let i = 0; i < targets.length; i++) {
    for (let j = i + 1; j < targets.length; j++) {
      const a = parseCidr(targets[i].vpcCidr)
      const b = parseCidr(targets[j].vpcCidr)
      if (a && b && cidrsOverlap(a, b)) {
        problem(
          `${targets[j].kind === 'client' ? 'clients' : 'environments'}.${targets[j].name}.vpcCidr`,
          `${targets[j].vpcCidr} overlaps ${targets[i].name}'s ${targets[i].vpcCidr}`,
          'give each account its own range, e.g. the next free 10.x.0.0/16',
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
  problem: Problem,
  rule: {key?: string; pattern?: RegExp; hint: string},
): string {
  const key = rule.key ?? field.split('.').at(-1)!
  const value = record[key]
  if (value === undefined || value === null || value === '') {
    problem(field, 'is missing', `write ${rule.hint}`)
    return ''
  }
  if (typeof value === 'number') {
    // YAML turns 012345678901 into a number and drops leading zeros: insist on quotes.
    problem(field, `is the number ${value}, not a quoted string`, `write ${rule.hint}`)
    return String(value)
  }
  if (typeof value !== 'string') {
    problem(field, 'is not a string', `write ${rule.hint}`)
    return ''
  }
  if (rule.pattern && !rule.pattern.test(value)) problem(field, `"${value}" is not valid`, `write ${rule.hint}`)
  return value
}

type Problem = (path: string, problem: string, fix: string) => void

/** A region infra knows (AWS_REGIONS); a typo gets the nearest name. */
function checkRegion(region: string, path: string, problem: Problem): void {
  if (AWS_REGIONS.includes(region)) return
  const meant = closestWord(region, AWS_REGIONS)
  problem(path, `"${region}" is not an AWS region`, meant ? `did you mean "${meant}"? (\`aws ec2 describe-regions\` lists the regions)` : 'use a region name such as "eu-west-1" (`aws ec2 describe-regions` lists them)')
}

/** The candidate nearest to a typo, when it is near enough (an edit distance of 2 or less). */
function closestWord(word: string, candidates: readonly string[]): string | undefined {
  let best: {candidate: string; distance: number} | undefined
  for (const candidate of candidates) {
    const distance = editDistance(word, candidate)
    if (!best || distance < best.distance) best = {candidate, distance}
  }
  return best && best.distance <= 2 ? best.candidate : undefined
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({length: b.length + 1}, (_, index) => index)
  for (let i = 1; i <= a.length; i++) {
    const current = [i]
    for (let j = 1; j <= b.length; j++) current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1))
    previous = current
  }
  return previous[b.length]
}

/** The environment or client named, or an error listing the ones that exist. */
export function findTarget(estate: Estate, name: string): EnvironmentSpec {
  const target = allTargets(estate).find((candidate) => candidate.name === name)
  const pending = estate.pendingClients?.find((candidate) => candidate.name === name)
  if (!target && pending) {
    throw new InfraError(
      `client "${name}" is still being onboarded (status: pending in ${estate.source})`,
      `finish it with \`infra onboard-client --name ${name}\`, or remove it with \`infra offboard-client --name ${name}\``,
      'CLIENT_PENDING',
    )
  }
  if (!target) {
    const known = allTargets(estate).map((candidate) => candidate.name)
    throw new InfraError(
      `unknown environment "${name}" in ${estate.source}`,
      `use one of: ${known.join(', ')}`,
      'UNKNOWN_ENV',
      // A flag value that names nothing is the command line's fault, as a bad choice is.
      EXIT.usage,
    )
  }
  return target
}
