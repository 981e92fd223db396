import {OrganizationsClient} from '@aws-sdk/client-organizations'
import {STSClient} from '@aws-sdk/client-sts'
import {Listr} from 'listr2'

import {awsClientConfig} from '../aws/clients.js'
import {crashPoint} from '../estate/atomic-file.js'
import {findTarget} from '../estate/load.js'
import {type Estate, OPTIONAL_LAYERS, type OptionalLayer, SIZINGS, type Sizing} from '../estate/model.js'
import {cidrProblem, poolUsage} from '../estate/pool.js'
import {setClientFields, updateEstateFile} from '../estate/writer.js'
import {InfraError} from '../errors.js'
import {type ProvisionOptions, type ProvisionReport, provision} from '../provision/provision.js'
import {type BaselineRecord, recordBaseline} from './baseline.js'
import {type OnboardingJournal, journalPath, newJournal, readJournal, writeJournal} from './journal.js'
import {
  type CallerCheck,
  type OrganizationalUnit,
  assumeAccessRole,
  checkCaller,
  findAccountByEmail,
  findCreateRequestInProgress,
  listOrganizationalUnits,
  placeAccount,
  requestAccount,
  resolveOrganizationalUnit,
  tagAccount,
  waitForAccount,
} from './organization.js'

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
  /** How to provision the baseline, as `infra provision` would; absent with --no-provision. */
  provision?: Omit<ProvisionOptions, 'estate' | 'env' | 'mode' | 'renderer' | 'workDir'>
}

interface Context {
  estate: Estate
  journal: OnboardingJournal
  organizations: OrganizationsClient
  caller?: CallerCheck
  unit?: OrganizationalUnit
  accountId?: string
  provision?: ProvisionReport
  baseline?: BaselineRecord
}

/**
 * Vends a client account end to end. Each step checks what already exists before acting, and
 * the journal keeps the CreateAccount request id from before the first poll, so a run stopped
 * anywhere (a failure, Ctrl-C, a kill) is finished by running the same command again, and a run
 * after success changes nothing.
 */
export async function onboardClient(options: OnboardOptions): Promise<OnboardReport> {
  const {plan, workDir} = options
  const {request} = plan
  const estateFile = plan.estateFile
  const config = await awsClientConfig({estate: options.estate, profile: options.profile, region: 'us-east-1', purpose: 'onboard'})
  const organizations = new OrganizationsClient(config)
  const sts = new STSClient(config)
  const journal = readJournal(workDir, request.name) ?? newJournal(request.name, request.email)
  const results: StepResult[] = []
  const ctx: Context = {estate: options.estate, journal, organizations}
  const finish = (step: OnboardingStep, outcome: StepResult['outcome'], detail: string) => {
    results.push({step, outcome, detail})
    if (outcome === 'done') journal.steps[step] = {at: new Date().toISOString(), outcome: detail}
    writeJournal(workDir, journal)
    return `${STEP_TITLES[step]}: ${detail}`
  }
  const recordedEntry = () => ctx.estate.clients.find((client) => client.name === request.name)
  const pendingEntry = () => ctx.estate.pendingClients?.find((client) => client.name === request.name)

  const steps: Record<OnboardingStep, (task: {title: string; output: string}) => Promise<void>> = {
    async caller(task) {
      ctx.caller = await checkCaller(organizations, sts, options.estate.organization.managementAccountId)
      const units = await listOrganizationalUnits(organizations)
      ctx.unit = resolveOrganizationalUnit(units, request.organizationalUnit)
      journal.organizationalUnit = ctx.unit.id
      task.title = finish('caller', 'unchanged', `${ctx.caller.arn} (${ctx.caller.role === 'management' ? 'management account' : 'delegated administrator'})`)
    },
    async reserve(task) {
      const pendingNow = pendingEntry()
      if (pendingNow && pendingNow.email !== request.email && !pendingNow.accountId) {
        ctx.estate = await updateEstateFile(estateFile, (doc) => setClientFields(doc, request.name, {email: request.email}))
        journal.email = request.email
        task.title = finish('reserve', 'done', `${request.name} pending with ${request.vpcCidr}, e-mail now ${request.email}`)
        return
      }
      if (recordedEntry() || pendingNow) {
        task.title = finish('reserve', 'unchanged', `${request.vpcCidr} already held by ${request.name}`)
        return
      }
      // Pending before the account exists: the CIDR is taken at once, the file stays valid.
      ctx.estate = await updateEstateFile(estateFile, (doc) =>
        setClientFields(doc, request.name, {status: 'pending', email: request.email, region: request.region, vpcCidr: request.vpcCidr, sizing: request.sizing}),
      )
      task.title = finish('reserve', 'done', `${request.name} pending with ${request.vpcCidr} in ${estateFile}`)
    },
    async account(task) {
      const known = journal.accountId ?? recordedEntry()?.accountId ?? pendingEntry()?.accountId
      if (known) {
        ctx.accountId = known
        task.title = finish('account', 'unchanged', `account ${known} exists`)
        return
      }
      let requestId = journal.createAccountRequestId
      let outcome = 'resumed'
      if (!requestId) {
        const existing = await findAccountByEmail(organizations, request.email, options.pageSize)
        if (existing) {
          if (existing.Status !== 'ACTIVE') {
            throw new InfraError(
              `${request.email} belongs to account ${existing.Id} (${existing.Name}), which is ${existing.Status}: its e-mail stays taken`,
              'reopen that account through AWS Support, or onboard the client with another e-mail',
              'ACCOUNT_NOT_ACTIVE',
              1,
              {accountId: existing.Id, status: existing.Status},
            )
          }
          journal.accountId = existing.Id!
          ctx.accountId = existing.Id!
          writeJournal(workDir, journal)
          await notePendingAccount(existing.Id!)
          task.title = finish('account', 'done', `found existing account ${existing.Id} with ${request.email}`)
          return
        }
        // A run that crashed between sending CreateAccount and journaling its id left it running.
        requestId = await findCreateRequestInProgress(organizations, request.name)
        if (!requestId) {
          requestId = await requestAccount(organizations, {name: request.name, email: request.email, roleName: plan.roleName})
          outcome = 'requested'
        }
        journal.createAccountRequestId = requestId
        writeJournal(workDir, journal)
        crashPoint('after-create-account')
      }
      task.output = `waiting for request ${requestId}`
      const accountId = await waitForAccount(organizations, requestId, request.name, {
        intervalMs: options.pollIntervalMs ?? 5_000,
        timeoutMs: options.pollTimeoutMs ?? 30 * 60_000,
        onProgress: (status, elapsed) => (task.output = `request ${requestId}: ${status.State} after ${Math.round(elapsed / 1000)} s`),
      }).catch((error: unknown) => {
        // A request that failed is finished: the next run starts afresh (after the fix) instead of re-reading it.
        if (error instanceof InfraError && error.code.startsWith('CREATE_ACCOUNT_') && error.code !== 'CREATE_ACCOUNT_TIMEOUT') {
          delete journal.createAccountRequestId
          writeJournal(workDir, journal)
        }
        throw error
      })
      journal.accountId = accountId
      ctx.accountId = accountId
      writeJournal(workDir, journal)
      await notePendingAccount(accountId)
      task.title = finish('account', 'done', outcome === 'requested' ? `created account ${accountId} (request ${requestId})` : `account ${accountId} from the journaled request ${requestId}`)
    },
    async 'organizational-unit'(task) {
      const moved = await placeAccount(organizations, ctx.accountId!, ctx.unit!.id)
      task.title = finish('organizational-unit', moved ? 'done' : 'unchanged', moved ? `moved into ${ctx.unit!.path} (${ctx.unit!.id})` : `already in ${ctx.unit!.path}`)
    },
    async tags(task) {
      const changed = await tagAccount(organizations, ctx.accountId!, plan.tags)
      task.title = finish('tags', changed.length > 0 ? 'done' : 'unchanged', changed.length > 0 ? `set ${changed.join(', ')}` : 'already tagged')
    },
    async 'access-role'(task) {
      const roleArn = `arn:aws:iam::${ctx.accountId}:role/${plan.roleName}`
      const assumed = await assumeAccessRole(config, roleArn, {
        timeoutMs: options.roleWaitMs ?? 10 * 60_000,
        intervalMs: Math.min(options.pollIntervalMs ?? 5_000, 5_000),
        onRetry: (attempt) => (task.output = `AccessDenied, the role is still propagating (attempt ${attempt})`),
      })
      if (assumed.accountId !== ctx.accountId) {
        throw new InfraError(`assuming ${roleArn} landed in account ${assumed.accountId}, not ${ctx.accountId}`, 'check the role name and the account', 'ASSUME_ROLE_WRONG_ACCOUNT')
      }
      task.title = finish('access-role', 'unchanged', `${assumed.arn}${assumed.attempts > 1 ? ` after ${assumed.attempts} attempts` : ''}`)
    },
    async record(task) {
      const recorded = recordedEntry()
      const omitLayers = request.omitLayers && request.omitLayers.length > 0 ? request.omitLayers : undefined
      const wanted = {status: undefined, accountId: ctx.accountId!, email: request.email, region: request.region, vpcCidr: request.vpcCidr, sizing: request.sizing, omitLayers}
      const sameLayers = (recorded?.omitLayers ?? []).join(',') === (omitLayers ?? []).join(',')
      if (recorded && sameLayers && recorded.accountId === wanted.accountId && recorded.email === wanted.email && recorded.region === wanted.region && recorded.sizing === wanted.sizing) {
        task.title = finish('record', 'unchanged', `${request.name} is in ${estateFile} with account ${recorded.accountId}`)
        return
      }
      ctx.estate = await updateEstateFile(estateFile, (doc) => setClientFields(doc, request.name, wanted))
      task.title = finish('record', 'done', `${request.name} recorded in ${estateFile} with account ${ctx.accountId}`)
    },
    provision: async () => {
      // Run after the task list: provisioning draws its own task list per stack.
    },
  }

  const notePendingAccount = async (accountId: string) => {
    if (!pendingEntry() || pendingEntry()!.accountId === accountId) return
    ctx.estate = await updateEstateFile(estateFile, (doc) => setClientFields(doc, request.name, {accountId}))
  }

  const run = async (step: OnboardingStep, task: {title: string; output: string}) => {
    try {
      await steps[step](task)
    } catch (error) {
      const err = error as Error
      journal.lastFailure = {step, code: (error as InfraError).code ?? err.name, message: err.message, at: new Date().toISOString()}
      writeJournal(workDir, journal)
      throw error
    }
  }
  await new Listr(
    plan.steps.filter(({step}) => step !== 'provision').map(({step, title}) => ({title, task: (_: unknown, task: {title: string; output: string}) => run(step, task)})),
    {renderer: options.renderer, exitOnError: true, rendererOptions: {collapseSubtasks: false}},
  ).run()

  if (options.provision) {
    try {
      const target = findTarget(ctx.estate, request.name)
      ctx.provision = await provision({...options.provision, estate: ctx.estate, env: target, mode: 'apply', renderer: options.renderer, workDir})
      const applied = ctx.provision.stacks.filter((stack) => stack.applied).length
      const declined = ctx.provision.stacks.some((stack) => stack.skipped === 'declined')
      if (!declined) ctx.baseline = recordBaseline(workDir, ctx.provision)
      finish('provision', applied > 0 ? 'done' : declined ? 'skipped' : 'unchanged', applied > 0 ? `applied ${applied} stack(s)` : declined ? 'declined' : 'no changes')
    } catch (error) {
      const err = error as Error
      journal.lastFailure = {step: 'provision', code: (error as InfraError).code ?? err.name, message: err.message, at: new Date().toISOString()}
      writeJournal(workDir, journal)
      throw error
    }
  } else {
    results.push({step: 'provision', outcome: 'skipped', detail: '--no-provision'})
  }
  delete journal.lastFailure
  writeJournal(workDir, journal)
  return {
    client: request.name,
    accountId: ctx.accountId!,
    email: request.email,
    vpcCidr: request.vpcCidr,
    region: request.region,
    organizationalUnit: ctx.unit!,
    caller: {accountId: ctx.caller!.accountId, arn: ctx.caller!.arn, role: ctx.caller!.role},
    steps: results,
    changed: results.some((result) => result.outcome === 'done'),
    provision: ctx.provision ?? null,
    baseline: ctx.baseline ?? null,
    journal: journalPath(workDir, request.name),
    estateFile,
  }
}

/** The organization's OUs, for the prompt. */
export async function organizationalUnits(estate: Estate, profile?: string): Promise<OrganizationalUnit[]> {
  const config = await awsClientConfig({estate, profile, region: 'us-east-1', purpose: 'onboard'})
  return listOrganizationalUnits(new OrganizationsClient(config))
}
