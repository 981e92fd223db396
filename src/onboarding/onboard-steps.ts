import type {OrganizationsClient} from '@aws-sdk/client-organizations'
import {STSClient} from '@aws-sdk/client-sts'

import type {AwsClientConfig} from '../aws/clients.js'
import {findTarget} from '../estate/load.js'
import type {Estate} from '../estate/model.js'
import {setClientFields, updateEstateFile} from '../estate/writer.js'
import {InfraError} from '../errors.js'
import {type ProvisionOptions, type ProvisionReport, provision} from '../provision/provision.js'
import {type ClientAccount, findClientAccount} from './account-step.js'
import {type BaselineRecord, recordBaseline} from './baseline.js'
import {type OnboardingJournal, writeJournal} from './journal.js'
import {type OnboardPlan, type OnboardRequest, type OnboardingStep, STEP_TITLES} from './onboard-plan.js'
import {type CallerCheck, type OrganizationalUnit, assumeAccessRole, checkCaller, listOrganizationalUnits, placeAccount, resolveOrganizationalUnit, tagAccount} from './organization.js'
import {reserveClient} from './reserve.js'

/**
 * The steps of onboarding a client, each the size of one idea: it reads what the run knows, checks
 * what already exists before acting (so a rerun finishes or changes nothing), and records its
 * outcome in the report and the journal. src/onboarding/onboard.ts runs them in order.
 */

export interface StepResult {
  step: OnboardingStep
  outcome: 'done' | 'unchanged' | 'skipped'
  detail: string
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
export interface Run {
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

export type Task = {title: string; output: string}

/** Records a step's outcome in the report and the journal; the task's new title. */
function finish(run: Run, step: OnboardingStep, outcome: StepResult['outcome'], detail: string): string {
  run.results.push({step, outcome, detail})
  if (outcome === 'done') run.journal.steps[step] = {at: new Date().toISOString(), outcome: detail}
  writeJournal(run.options.workDir, run.journal)
  return `${STEP_TITLES[step]}: ${detail}`
}

/** Journals a failure (an interruption included) for the next run to report, then rethrows it. */
export function noteFailure(run: Run, step: OnboardingStep, error: unknown): never {
  const err = error as Error
  run.journal.lastFailure = {step, code: (error as InfraError).code ?? err.name, message: err.message, at: new Date().toISOString()}
  writeJournal(run.options.workDir, run.journal)
  throw error
}

/** The steps up to the estate entry, by name. */
export const ACCOUNT_STEPS: Record<Exclude<OnboardingStep, 'provision'>, (run: Run, task: Task) => Promise<void>> = {
  caller: checkCallerStep,
  reserve: reserveStep,
  account: accountStep,
  'organizational-unit': organizationalUnitStep,
  tags: tagsStep,
  'access-role': accessRoleStep,
  record: recordStep,
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
export async function provisionBaseline(run: Run): Promise<void> {
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
