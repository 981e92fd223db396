import {OrganizationsClient} from '@aws-sdk/client-organizations'
import {STSClient} from '@aws-sdk/client-sts'
import {Listr} from 'listr2'

import {type AwsClientConfig, awsClientConfig} from '../aws/clients.js'
import {findTarget} from '../estate/load.js'
import {type Estate, OPTIONAL_LAYERS, type OptionalLayer, SIZINGS, type Sizing} from '../estate/model.js'
import {cidrProblem, poolUsage} from '../estate/pool.js'
import {setClientFields, updateEstateFile} from '../estate/writer.js'
import {EXIT, InfraError} from '../errors.js'
import {interruptible, stopIfInterrupted} from '../process/interrupts.js'
import {type ProvisionOptions, type ProvisionReport, provision} from '../provision/provision.js'
import {type ClientAccount, findClientAccount} from './account-step.js'
import {type BaselineRecord, recordBaseline} from './baseline.js'
import {type OnboardingJournal, journalPath, newJournal, readJournal, writeJournal} from './journal.js'
import {
  type AccountFacts,
  type CallerCheck,
  type OrganizationalUnit,
  assumeAccessRole,
  checkCaller,
  describeAccountFacts,
  listOrganizationalUnits,
  placeAccount,
  resolveOrganizationalUnit,
  tagAccount,
} from './organization.js'
import {estateHolders} from './ownership.js'
import {reserveClient} from './reserve.js'

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

const STEP_TITLES: Record<OnboardingStep, string> = {
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
  if (!CLIENT_NAME.test(name)) throw new InfraError(`client name "${name}" is not valid`, 'use 2-31 lowercase letters, digits or dashes, starting with a letter', 'INVALID_CLIENT_NAME')
  if (estate.environments.some((env) => env.name === name)) {
    throw new InfraError(`"${name}" is an environment of the estate, not a client`, 'choose another client name', 'NAME_TAKEN')
  }
  if (!EMAIL.test(request.email) || request.email.length < 6 || request.email.length > 64) {
    throw new InfraError(`--email "${request.email}" is not a valid root e-mail`, 'give 6 to 64 ASCII characters with one @, e.g. aws+client@example.com', 'INVALID_EMAIL')
  }
  if (!SIZINGS.includes(request.sizing)) throw new InfraError(`--sizing "${request.sizing}" is not one of ${SIZINGS.join(', ')}`, `pass --sizing ${SIZINGS.join(' or ')}`, 'INVALID_SIZING')
  if (!/^[a-z]{2}(-gov)?-[a-z]+-\d$/.test(request.region)) throw new InfraError(`--region "${request.region}" is not an AWS region`, 'e.g. --region eu-west-1', 'INVALID_REGION')
  const client = estate.clients.find((candidate) => candidate.name === name)
  const pending = estate.pendingClients?.find((candidate) => candidate.name === name)
  const existing = client ?? pending
  const journal = readJournal(workDir, name)
  // A reservation that never got an account (e.g. its e-mail was refused) may change its e-mail.
  const noAccountYet = !client && !pending?.accountId && !journal?.accountId && !journal?.createAccountRequestId
  if (existing) {
    if (existing.email && existing.email.toLowerCase() !== request.email.toLowerCase() && !noAccountYet) {
      throw new InfraError(`client ${name} is already onboarded with e-mail ${existing.email}, not ${request.email}`, 'pass the same --email to resume, or choose another client name', 'CLIENT_EXISTS')
    }
    if (existing.vpcCidr !== request.vpcCidr) {
      throw new InfraError(`client ${name} already holds ${existing.vpcCidr} in the estate, not ${request.vpcCidr}`, `drop --cidr (or pass --cidr ${existing.vpcCidr}) to resume`, 'CIDR_MISMATCH')
    }
  }
  const problem = cidrProblem(estate, request.vpcCidr, name)
  if (problem) throw new InfraError(`--cidr ${problem}`, 'drop --cidr to take the next free block of the pool (see `infra env list`)', 'CIDR_UNAVAILABLE')
  const unknownLayer = request.omitLayers?.find((layer) => !OPTIONAL_LAYERS.includes(layer))
  if (unknownLayer) throw new InfraError(`--omit-layer ${unknownLayer} is not an optional layer`, `use one of ${OPTIONAL_LAYERS.join(', ')}`, 'INVALID_LAYER')
  for (const key of Object.keys(request.tags)) {
    if (key.startsWith('aws:')) throw new InfraError(`tag key "${key}" is reserved by AWS`, 'choose tag keys that do not start with aws:', 'INVALID_TAG')
  }
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

function roleNameOf(estate: Estate, name: string): string {
  const client = estate.clients.find((candidate) => candidate.name === name)
  return client ? client.roleArn.split(':role/')[1] : (estate.defaults?.roleName ?? 'OrganizationAccountAccessRole')
}

/** The tags infra always sets (to find its accounts again), then the operator's. */
function accountTags(request: OnboardRequest): Record<string, string> {
  return {'infra:client': request.name, 'infra:managed-by': 'infra', ...request.tags}
}

export interface StepResult {
  step: OnboardingStep
  outcome: 'done' | 'unchanged' | 'skipped'
  detail: string
}

export interface OnboardReport {
  client: string
  accountId: string
  email: string
  vpcCidr: string
  region: string
  organizationalUnit: OrganizationalUnit
  caller: Pick<CallerCheck, 'accountId' | 'arn' | 'role'>
  steps: StepResult[]
  /** False when a rerun found everything already done. */
  changed: boolean
  provision: ProvisionReport | null
  baseline: BaselineRecord | null
  journal: string
  estateFile: string
}

export interface OnboardOptions {
  estate: Estate
  plan: OnboardPlan
  workDir: string
  profile?: string
  renderer: 'default' | 'simple' | 'silent'
  /** How often to poll DescribeCreateAccountStatus, and for how long. */
  pollIntervalMs?: number
  pollTimeoutMs?: number
  /** How long to keep retrying AccessDenied on the new account's role. */
  roleWaitMs?: number
  /** ListAccounts page size (20 is AWS's maximum). */
  pageSize?: number
  /** --adopt-account ID, its name already typed (or given with --confirm-account). */
  adoptAccountId?: string
  /** How to provision the baseline, as `infra provision` would; absent with --no-provision. */
  provision?: Omit<ProvisionOptions, 'estate' | 'env' | 'mode' | 'renderer' | 'workDir'>
}

/** What one run knows as it goes; each step reads and adds to it. */
interface Run {
  options: OnboardOptions
  request: OnboardRequest
  config: AwsClientConfig
  organizations: OrganizationsClient
  estate: Estate
  journal: OnboardingJournal
  results: StepResult[]
  signal?: AbortSignal
  caller?: CallerCheck
  units?: OrganizationalUnit[]
  unit?: OrganizationalUnit
  accountId?: string
  provision?: ProvisionReport
  baseline?: BaselineRecord
}

type Task = {title: string; output: string}

/**
 * Vends a client account end to end. Each step checks what already exists before acting, and
 * the journal keeps the CreateAccount request id from before the first poll, so a run stopped
 * anywhere (a failure, Ctrl-C, SIGTERM, a kill) is finished by running the same command again,
 * and a run after success changes nothing.
 */
export async function onboardClient(options: OnboardOptions): Promise<OnboardReport> {
  const run = await startRun(options)
  await interruptible(async (signal) => {
    run.signal = signal
    await runAccountSteps(run)
  })
  await provisionBaseline(run)
  delete run.journal.lastFailure
  writeJournal(options.workDir, run.journal)
  return reportOf(run)
}

async function startRun(options: OnboardOptions): Promise<Run> {
  const {request} = options.plan
  const config = await awsClientConfig({estate: options.estate, profile: options.profile, region: 'us-east-1', purpose: 'onboard'})
  const journal = readJournal(options.workDir, request.name) ?? newJournal(request.name, request.email)
  return {options, request, config, organizations: new OrganizationsClient(config), estate: options.estate, journal, results: []}
}

/** Records a step's outcome in the report and the journal; the task's new title. */
function finish(run: Run, step: OnboardingStep, outcome: StepResult['outcome'], detail: string): string {
  run.results.push({step, outcome, detail})
  if (outcome === 'done') run.journal.steps[step] = {at: new Date().toISOString(), outcome: detail}
  writeJournal(run.options.workDir, run.journal)
  return `${STEP_TITLES[step]}: ${detail}`
}

/** Journals a failure (an interruption included) for the next run to report, then rethrows it. */
function noteFailure(run: Run, step: OnboardingStep, error: unknown): never {
  const err = error as Error
  run.journal.lastFailure = {step, code: (error as InfraError).code ?? err.name, message: err.message, at: new Date().toISOString()}
  writeJournal(run.options.workDir, run.journal)
  throw error
}

const ACCOUNT_STEPS: Record<Exclude<OnboardingStep, 'provision'>, (run: Run, task: Task) => Promise<void>> = {
  caller: checkCallerStep,
  reserve: reserveStep,
  account: accountStep,
  'organizational-unit': organizationalUnitStep,
  tags: tagsStep,
  'access-role': accessRoleStep,
  record: recordStep,
}

/** Every step up to the estate entry, in order, stopping cleanly (exit 130) between steps on a signal. */
async function runAccountSteps(run: Run): Promise<void> {
  const steps = run.options.plan.steps.filter(({step}) => step !== 'provision') as {step: keyof typeof ACCOUNT_STEPS; title: string}[]
  await new Listr(
    steps.map(({step, title}) => ({
      title,
      task: async (_: unknown, task: Task) => {
        try {
          stopIfInterrupted(run.signal, `before: ${STEP_TITLES[step]}`, `run the same command again (\`infra onboard-client --name ${run.request.name} --yes\`): it continues from the journal`)
          await ACCOUNT_STEPS[step](run, task)
        } catch (error) {
          noteFailure(run, step, error)
        }
      },
    })),
    // listr2's own SIGINT handler exits 127; interruptible() handles the signals instead.
    {renderer: run.options.renderer, exitOnError: true, registerSignalListeners: false, rendererOptions: {collapseSubtasks: false}},
  ).run()
}

async function checkCallerStep(run: Run, task: Task): Promise<void> {
  run.caller = await checkCaller(run.organizations, new STSClient(run.config), run.estate.organization.managementAccountId)
  run.units = await listOrganizationalUnits(run.organizations)
  run.unit = resolveOrganizationalUnit(run.units, run.request.organizationalUnit)
  run.journal.organizationalUnit = run.unit.id
  task.title = finish(run, 'caller', 'unchanged', `${run.caller.arn} (management account)`)
}

async function reserveStep(run: Run, task: Task): Promise<void> {
  const reservation = await reserveClient(run.options.plan.estateFile, run.request, run.estate)
  run.estate = reservation.estate
  run.journal.email = run.request.email
  task.title = finish(run, 'reserve', reservation.outcome, reservation.detail)
}

async function accountStep(run: Run, task: Task): Promise<void> {
  const found = await findClientAccount({
    organizations: run.organizations,
    organizationId: run.caller!.organizationId,
    estate: run.estate,
    journal: run.journal,
    saveJournal: () => writeJournal(run.options.workDir, run.journal),
    units: run.units!,
    client: run.request.name,
    email: run.request.email,
    roleName: run.options.plan.roleName,
    adoptAccountId: run.options.adoptAccountId,
    pageSize: run.options.pageSize,
    poll: {intervalMs: run.options.pollIntervalMs ?? 5_000, timeoutMs: run.options.pollTimeoutMs ?? 30 * 60_000, onProgress: (text) => (task.output = text)},
    signal: run.signal,
  })
  const id = found.account.id
  const changed = run.journal.accountId !== id
  run.accountId = id
  run.journal.accountId = id
  run.journal.accountProof = found.proof
  writeJournal(run.options.workDir, run.journal)
  const pending = run.estate.pendingClients?.find((client) => client.name === run.request.name)
  if (pending && pending.accountId !== id) run.estate = await updateEstateFile(run.options.plan.estateFile, (doc) => setClientFields(doc, run.request.name, {accountId: id}))
  task.title = finish(run, 'account', changed ? 'done' : 'unchanged', accountDetail(found))
}

function accountDetail(found: ClientAccount): string {
  const {id} = found.account
  const why = {created: 'created by this onboarding', named: `named "${found.account.name}"`, tagged: 'tagged infra:client', adopted: 'adopted with --adopt-account'}[found.proof]
  if (found.source === 'request') return found.requested ? `created account ${id} (request ${found.requestId})` : `account ${id} from the journaled request ${found.requestId}`
  if (found.source === 'email') return `found existing account ${id} with ${found.account.email} (${why})`
  if (found.source === 'adopted') return `adopted account ${id} ("${found.account.name}")`
  return `account ${id} exists (${why})`
}

async function organizationalUnitStep(run: Run, task: Task): Promise<void> {
  const unit = run.unit!
  const moved = await placeAccount(run.organizations, run.accountId!, unit.id)
  task.title = finish(run, 'organizational-unit', moved ? 'done' : 'unchanged', moved ? `moved into ${unit.path} (${unit.id})` : `already in ${unit.path}`)
}

async function tagsStep(run: Run, task: Task): Promise<void> {
  const changed = await tagAccount(run.organizations, run.accountId!, run.options.plan.tags)
  task.title = finish(run, 'tags', changed.length > 0 ? 'done' : 'unchanged', changed.length > 0 ? `set ${changed.join(', ')}` : 'already tagged')
}

async function accessRoleStep(run: Run, task: Task): Promise<void> {
  const roleArn = `arn:aws:iam::${run.accountId}:role/${run.options.plan.roleName}`
  const assumed = await assumeAccessRole(run.config, roleArn, {
    timeoutMs: run.options.roleWaitMs ?? 10 * 60_000,
    intervalMs: Math.min(run.options.pollIntervalMs ?? 5_000, 5_000),
    signal: run.signal,
    onRetry: (attempt) => (task.output = `AccessDenied, the role is still propagating (attempt ${attempt})`),
  })
  if (assumed.accountId !== run.accountId) {
    throw new InfraError(`assuming ${roleArn} landed in account ${assumed.accountId}, not ${run.accountId}`, 'check the role name and the account', 'ASSUME_ROLE_WRONG_ACCOUNT')
  }
  task.title = finish(run, 'access-role', 'unchanged', `${assumed.arn}${assumed.attempts > 1 ? ` after ${assumed.attempts} attempts` : ''}`)
}

async function recordStep(run: Run, task: Task): Promise<void> {
  const {request} = run
  const estateFile = run.options.plan.estateFile
  const recorded = run.estate.clients.find((client) => client.name === request.name)
  const omitLayers = request.omitLayers && request.omitLayers.length > 0 ? request.omitLayers : undefined
  const wanted = {status: undefined, accountId: run.accountId!, email: request.email, region: request.region, vpcCidr: request.vpcCidr, sizing: request.sizing, omitLayers}
  const sameLayers = (recorded?.omitLayers ?? []).join(',') === (omitLayers ?? []).join(',')
  if (recorded && sameLayers && recorded.accountId === wanted.accountId && recorded.email === wanted.email && recorded.region === wanted.region && recorded.sizing === wanted.sizing) {
    task.title = finish(run, 'record', 'unchanged', `${request.name} is in ${estateFile} with account ${recorded.accountId}`)
    return
  }
  run.estate = await updateEstateFile(estateFile, (doc) => setClientFields(doc, request.name, wanted))
  task.title = finish(run, 'record', 'done', `${request.name} recorded in ${estateFile} with account ${run.accountId}`)
}

/** The baseline, as `infra provision` applies it (terraform's runner handles signals itself). */
async function provisionBaseline(run: Run): Promise<void> {
  const {options} = run
  if (!options.provision) {
    run.results.push({step: 'provision', outcome: 'skipped', detail: '--no-provision'})
    return
  }
  try {
    const target = findTarget(run.estate, run.request.name)
    run.provision = await provision({...options.provision, estate: run.estate, env: target, mode: 'apply', renderer: options.renderer, workDir: options.workDir})
    const applied = run.provision.stacks.filter((stack) => stack.applied).length
    const declined = run.provision.stacks.some((stack) => stack.skipped === 'declined')
    if (!declined) run.baseline = recordBaseline(options.workDir, run.provision)
    finish(run, 'provision', applied > 0 ? 'done' : declined ? 'skipped' : 'unchanged', applied > 0 ? `applied ${applied} stack(s)` : declined ? 'declined' : 'no changes')
  } catch (error) {
    noteFailure(run, 'provision', error)
  }
}

function reportOf(run: Run): OnboardReport {
  return {
    client: run.request.name,
    accountId: run.accountId!,
    email: run.request.email,
    vpcCidr: run.request.vpcCidr,
    region: run.request.region,
    organizationalUnit: run.unit!,
    caller: {accountId: run.caller!.accountId, arn: run.caller!.arn, role: run.caller!.role},
    steps: run.results,
    changed: run.results.some((result) => result.outcome === 'done'),
    provision: run.provision ?? null,
    baseline: run.baseline ?? null,
    journal: journalPath(run.options.workDir, run.request.name),
    estateFile: run.options.plan.estateFile,
  }
}

/**
 * The account --adopt-account names, read before its name is typed: it must be in this
 * organization and be no estate account (prod, the management account, another client).
 */
export async function describeAdoption(estate: Estate, accountId: string, client: string, profile?: string): Promise<AccountFacts> {
  if (!/^\d{12}$/.test(accountId)) throw new InfraError(`--adopt-account "${accountId}" is not an account id`, 'pass the 12-digit id of the account to adopt', 'INVALID_ACCOUNT_ID', EXIT.usage)
  const organizations = new OrganizationsClient(await awsClientConfig({estate, profile, region: 'us-east-1', purpose: 'onboard'}))
  const account = await describeAccountFacts(organizations, accountId, await listOrganizationalUnits(organizations))
  if (!account) {
    throw new InfraError(`account ${accountId} is not in the organization`, 'pass the id of a member account of this organization (see `aws organizations list-accounts`)', 'ACCOUNT_NOT_IN_ORGANIZATION', EXIT.usage)
  }
  const holders = estateHolders(estate, accountId, client)
  if (holders.length > 0) {
    throw new InfraError(
      `account ${accountId} ("${account.name}", in ${account.parent.path}) is ${holders.join(' and ')} of the estate: an estate account is never adopted`,
      `give ${client} an account of its own (drop --adopt-account)`,
      'ACCOUNT_IN_ESTATE',
    )
  }
  return account
}

/** The organization's OUs, for the prompt. */
export async function organizationalUnits(estate: Estate, profile?: string): Promise<OrganizationalUnit[]> {
  const config = await awsClientConfig({estate, profile, region: 'us-east-1', purpose: 'onboard'})
  return listOrganizationalUnits(new OrganizationsClient(config))
}
