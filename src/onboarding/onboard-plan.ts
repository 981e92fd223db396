import type {Estate, OptionalLayer, Sizing} from '../estate/model.js'
import {OPTIONAL_LAYERS, SIZINGS} from '../estate/model.js'
import {cidrProblem, poolUsage} from '../estate/pool.js'
import {InfraError} from '../errors.js'
import {type OnboardingJournal, journalPath, readJournal} from './journal.js'

/** Everything onboarding needs to know about the new client. */
export interface OnboardRequest {
  name: string
  email: string
  /** OU id, path ("Root/Clients") or unique name. */
  organizationalUnit: string
  region: string
  vpcCidr: string
  sizing: Sizing
  tags: Record<string, string>
  /** Optional layers the client goes without (estate omitLayers), e.g. for an emulator. */
  omitLayers?: OptionalLayer[]
  /**
   * The CIDR is the pool's next free block, not one the operator chose: when another onboarding
   * takes it first, the reservation (under the estate lock) takes the next one instead.
   */
  cidrFromPool?: boolean
}

export const CLIENT_NAME = /^[a-z][a-z0-9-]{1,30}$/
export const EMAIL = /^[\x21-\x3f\x41-\x7e]+@[\x21-\x3f\x41-\x7e]+\.[\x21-\x3f\x41-\x7e]+$/

/** Steps in order; each is safe to run again. */
export const ONBOARDING_STEPS = ['caller', 'reserve', 'account', 'organizational-unit', 'tags', 'access-role', 'record', 'provision'] as const
export type OnboardingStep = (typeof ONBOARDING_STEPS)[number]

export const STEP_TITLES: Record<OnboardingStep, string> = {
  caller: 'Check the caller is the management account',
  reserve: 'Reserve the client and its CIDR in the estate',
  account: 'Find or create the account',
  'organizational-unit': 'Move the account into its organizational unit',
  tags: 'Tag the account',
  'access-role': 'Assume the access role in the account',
  record: 'Record the client in the estate',
  provision: 'Provision the baseline',
}

export interface OnboardPlan {
  request: OnboardRequest
  estateFile: string
  roleName: string
  journal: string
  /** What an earlier run left: request id, account id, the step that failed. */
  resume: Pick<OnboardingJournal, 'createAccountRequestId' | 'accountId' | 'lastFailure'> | null
  /** Where the client stands in the estate now. */
  estateEntry: 'new' | 'pending' | 'recorded'
  tags: Record<string, string>
  steps: {step: OnboardingStep; title: string}[]
  pool: {cidr: string; remainingAfter: number} | null
}

/** Values of an existing entry or journal, so a rerun needs only the client's name. */
export function knownValues(estate: Estate, name: string, workDir: string): Partial<OnboardRequest> {
  const pending = estate.pendingClients?.find((client) => client.name === name)
  const client = estate.clients.find((candidate) => candidate.name === name)
  const journal = readJournal(workDir, name)
  const entry = client ?? pending
  const ou = journal?.organizationalUnit ? {organizationalUnit: journal.organizationalUnit} : {}
  if (!entry) return journal ? {email: journal.email, ...ou} : {}
  const omitLayers = client && client.omitLayers.length > 0 ? {omitLayers: client.omitLayers} : {}
  return {vpcCidr: entry.vpcCidr, region: entry.region, sizing: entry.sizing, email: entry.email ?? journal?.email, ...ou, ...omitLayers}
}

/**
 * Checks the request against the estate and says what will happen, touching nothing: the plan
 * shown before confirmation and by --dry-run.
 */
export function planOnboarding(estate: Estate, request: OnboardRequest, workDir: string, withProvision: boolean): OnboardPlan {
  const {name} = request
  checkRequestValues(estate, request)
  const client = estate.clients.find((candidate) => candidate.name === name)
  const pending = estate.pendingClients?.find((candidate) => candidate.name === name)
  const existing = client ?? pending
  const journal = readJournal(workDir, name)
  // A reservation that never got an account (e.g. its e-mail was refused) may change its e-mail.
  const noAccountYet = !client && !pending?.accountId && !journal?.accountId && !journal?.createAccountRequestId
  if (existing) checkResumesEntry(existing, request, noAccountYet)
  checkCidrAndOptions(estate, request)
  const usage = poolUsage(estate)
  const inPool = usage && !existing && cidrProblem({...estate, environments: [], clients: [], pendingClients: []}, request.vpcCidr) === undefined
  return {
    request,
    estateFile: estate.source,
    roleName: roleNameOf(estate, name),
    journal: journalPath(workDir, name),
    resume: journal ? {createAccountRequestId: journal.createAccountRequestId, accountId: journal.accountId, lastFailure: journal.lastFailure} : null,
    estateEntry: client ? 'recorded' : pending ? 'pending' : 'new',
    tags: accountTags(request),
    steps: ONBOARDING_STEPS.filter((step) => withProvision || step !== 'provision').map((step) => ({step, title: STEP_TITLES[step]})),
    pool: usage ? {cidr: usage.pool, remainingAfter: usage.remaining - (inPool ? 1 : 0)} : null,
  }
}

/** The request's own values: a client name no environment has, a root e-mail AWS takes, a sizing, a region. */
function checkRequestValues(estate: Estate, request: OnboardRequest): void {
  const {name} = request
  if (!CLIENT_NAME.test(name)) throw new InfraError(`client name "${name}" is not valid`, 'use 2-31 lowercase letters, digits or dashes, starting with a letter', 'INVALID_CLIENT_NAME')
  if (estate.environments.some((env) => env.name === name)) {
    throw new InfraError(`"${name}" is an environment of the estate, not a client`, 'choose another client name', 'NAME_TAKEN')
  }
  if (!EMAIL.test(request.email) || request.email.length < 6 || request.email.length > 64) {
    throw new InfraError(`--email "${request.email}" is not a valid root e-mail`, 'give 6 to 64 ASCII characters with one @, e.g. aws+client@example.com', 'INVALID_EMAIL')
  }
  if (!SIZINGS.includes(request.sizing)) throw new InfraError(`--sizing "${request.sizing}" is not one of ${SIZINGS.join(', ')}`, `pass --sizing ${SIZINGS.join(' or ')}`, 'INVALID_SIZING')
  if (!/^[a-z]{2}(-gov)?-[a-z]+-\d$/.test(request.region)) throw new InfraError(`--region "${request.region}" is not an AWS region`, 'e.g. --region eu-west-1', 'INVALID_REGION')
}

/** A rerun for a client the estate already holds must be that client: its e-mail (once it has an account) and its CIDR. */
function checkResumesEntry(existing: {email?: string; vpcCidr: string}, request: OnboardRequest, noAccountYet: boolean): void {
  const {name} = request
  if (existing.email && existing.email.toLowerCase() !== request.email.toLowerCase() && !noAccountYet) {
    throw new InfraError(`client ${name} is already onboarded with e-mail ${existing.email}, not ${request.email}`, 'pass the same --email to resume, or choose another client name', 'CLIENT_EXISTS')
  }
  if (existing.vpcCidr !== request.vpcCidr) {
    throw new InfraError(`client ${name} already holds ${existing.vpcCidr} in the estate, not ${request.vpcCidr}`, `drop --cidr (or pass --cidr ${existing.vpcCidr}) to resume`, 'CIDR_MISMATCH')
  }
}

/** The CIDR is free for this client, every omitted layer is an optional one, no tag key is AWS's. */
function checkCidrAndOptions(estate: Estate, request: OnboardRequest): void {
  const problem = cidrProblem(estate, request.vpcCidr, request.name)
  if (problem) throw new InfraError(`--cidr ${problem}`, 'drop --cidr to take the next free block of the pool (see `infra env list`)', 'CIDR_UNAVAILABLE')
  const unknownLayer = request.omitLayers?.find((layer) => !OPTIONAL_LAYERS.includes(layer))
  if (unknownLayer) throw new InfraError(`--omit-layer ${unknownLayer} is not an optional layer`, `use one of ${OPTIONAL_LAYERS.join(', ')}`, 'INVALID_LAYER')
  for (const key of Object.keys(request.tags)) {
    if (key.startsWith('aws:')) throw new InfraError(`tag key "${key}" is reserved by AWS`, 'choose tag keys that do not start with aws:', 'INVALID_TAG')
  }
}

function roleNameOf(estate: Estate, name: string): string {
  const client = estate.clients.find((candidate) => candidate.name === name)
  return client ? client.roleArn.split(':role/')[1] : (estate.defaults?.roleName ?? 'OrganizationAccountAccessRole')
}

/** The tags infra always sets (to find its accounts again), then the operator's. */
function accountTags(request: OnboardRequest): Record<string, string> {
  return {'infra:client': request.name, 'infra:managed-by': 'infra', ...request.tags}
}
