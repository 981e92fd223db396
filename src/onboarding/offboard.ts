import {rmSync} from 'node:fs'
import path from 'node:path'

import {DescribeAccountCommand, OrganizationsClient} from '@aws-sdk/client-organizations'
import {HeadBucketCommand, S3Client} from '@aws-sdk/client-s3'
import {STSClient} from '@aws-sdk/client-sts'

import {awsClientConfig, createClient} from '../aws/clients.js'
import type {EnvironmentSpec, Estate, PendingClient} from '../estate/model.js'
import {removeClientEntry, updateEstateFile} from '../estate/writer.js'
import {EXIT, InfraError} from '../errors.js'
import {readInterruptedApplies} from '../provision/adoption.js'
import {type ProvisionOptions, type ProvisionReport, provision} from '../provision/provision.js'
import {baselinePath} from './baseline.js'
import {journalPath} from './journal.js'
import {checkCaller, closeAccount} from './organization.js'

export interface OffboardTarget {
  name: string
  accountId?: string
  /** The account's name in Organizations: what --close-account asks to be typed. */
  accountName?: string
  accountStatus?: string
  email?: string
  recorded: EnvironmentSpec | undefined
  pending: PendingClient | undefined
}

/** The client to offboard and its account as Organizations knows it (read only). */
export async function describeOffboarding(estate: Estate, name: string, profile?: string): Promise<OffboardTarget> {
  const recorded = estate.clients.find((client) => client.name === name)
  const pending = estate.pendingClients?.find((client) => client.name === name)
  if (!recorded && !pending) {
    if (estate.environments.some((env) => env.name === name)) {
      throw new InfraError(`"${name}" is an environment, not a client`, 'offboard-client removes clients only; see `infra env list`', 'NOT_A_CLIENT')
    }
    throw new InfraError(`no client "${name}" in ${estate.source}`, `use one of: ${[...estate.clients, ...(estate.pendingClients ?? [])].map((c) => c.name).join(', ') || '(no clients)'}`, 'UNKNOWN_CLIENT')
  }
  const accountId = recorded?.accountId ?? pending?.accountId
  const target: OffboardTarget = {name, accountId, email: recorded?.email ?? pending?.email, recorded, pending}
  if (accountId) {
    const organizations = new OrganizationsClient(await awsClientConfig({estate, profile, region: 'us-east-1', purpose: 'offboard'}))
    try {
      const account = (await organizations.send(new DescribeAccountCommand({AccountId: accountId}))).Account!
      target.accountName = account.Name
      // Account.State: Organizations retired Account.Status on 2026-09-09 (the SDK model's note on Status).
      target.accountStatus = account.State
    } catch (error) {
      // Gone from the organization (closed and removed, or never in it): the client can still leave the estate.
      if (!['AccountNotFoundException', 'AWSOrganizationsNotInUseException'].includes((error as Error).name)) throw error
      target.accountStatus = 'NOT_IN_ORGANIZATION'
    }
  }
  return target
}

export interface OffboardOptions {
  estate: Estate
  target: OffboardTarget
  workDir: string
  profile?: string
  renderer: 'default' | 'simple' | 'silent'
  /** How to destroy the client's stacks, as `infra provision --destroy` does; absent with --no-destroy. */
  destroy?: Omit<ProvisionOptions, 'estate' | 'env' | 'mode' | 'renderer' | 'workDir'>
  /** Close the account too (the command has had its name typed). */
  closeAccount: boolean
}

export interface OffboardReport {
  client: string
  accountId: string | null
  destroyed: ProvisionReport | null
  /** Why the stacks were not destroyed, when they were not. */
  destroySkipped: string | null
  removedFromEstate: boolean
  accountClosed: boolean
  /** How to close the account by hand when it was kept. */
  closeAccountHint: string | null
  /** Creates interrupted applies left outside the state: the destroy could not remove them; their records are kept. */
  unresolvedInterruptedApplies: {stack: string; address: string; interruptedAt: string | null}[]
}

/** Account states in which CloseAccount has already been accepted (Account.State). */
const CLOSING_STATES = new Set(['PENDING_CLOSURE', 'SUSPENDED', 'CLOSED'])

/**
 * Takes a client out of the estate: destroys its stacks (the state bucket is kept, as with
 * `provision --destroy`), closes its account only when asked to (otherwise it says how), and only
 * then removes its entry, journal and baseline record. A destroy or close that fails leaves the
 * estate as it was, so the same command run again finishes the job.
 */
export async function offboardClient(options: OffboardOptions): Promise<OffboardReport> {
  const {target} = options
  const report: OffboardReport = {
    client: target.name,
    accountId: target.accountId ?? null,
    destroyed: null,
    destroySkipped: null,
    removedFromEstate: false,
    accountClosed: false,
    closeAccountHint: null,
    unresolvedInterruptedApplies: [],
  }
  await keepingEstateOnFailure(target.name, async () => {
    await destroyStacks(options, report)
    await closeClientAccount(options, report)
  })
  await forgetClient(options, report)
  return report
}

/** A failure before the estate changes says the client is still there and what to run again. */
async function keepingEstateOnFailure(client: string, work: () => Promise<void>): Promise<void> {
  try {
    await work()
  } catch (error) {
    if (!(error instanceof InfraError) || error.exitCode === EXIT.declined) throw error
    throw new InfraError(
      `${error.message} (${client} is still in the estate, with its journal and baseline record)`,
      `${error.fix ?? "fix the cause"}; then run the same offboard-client command again`,
      error.code,
      error.exitCode,
      error.details,
    )
  }
}

async function destroyStacks(options: OffboardOptions, report: OffboardReport): Promise<void> {
  const {estate, target, workDir} = options
  if (!target.recorded || !options.destroy) {
    report.destroySkipped = target.recorded ? '--no-destroy' : 'onboarding never finished: nothing was provisioned'
    return
  }
  if (!(await stateBucketExists(estate, target.recorded, options.profile))) {
    report.destroySkipped = `no state bucket ${target.recorded.stateBucket} in ${target.recorded.accountId}: nothing was provisioned`
    return
  }
  report.destroyed = await provision({...options.destroy, estate, env: target.recorded, mode: 'destroy', renderer: options.renderer, workDir})
  if (report.destroyed.stacks.some((stack) => stack.skipped === 'declined')) {
    throw new InfraError(`destroying ${target.name}'s stacks was declined: the client stays in the estate`, 'run again and confirm, or pass --no-destroy to keep its resources', 'NOT_CONFIRMED', EXIT.declined)
  }
  const envDir = path.resolve(workDir, target.name)
  report.unresolvedInterruptedApplies = report.destroyed.stacks.flatMap((stack) =>
    readInterruptedApplies(envDir, stack.name).flatMap((record) => record.inFlight.map((call) => ({stack: stack.name, address: call.address, interruptedAt: record.interruptedAt}))),
  )
}

async function closeClientAccount(options: OffboardOptions, report: OffboardReport): Promise<void> {
  const {estate, target} = options
  if (!target.accountId) return
  if (target.accountStatus === 'NOT_IN_ORGANIZATION') {
    report.closeAccountHint = `account ${target.accountId} is not in the organization: if it is still open, close it from the account itself (root user, Account settings)`
    return
  }
  if (!options.closeAccount) {
    report.closeAccountHint =
      `account ${target.accountId}${target.accountName ? ` (${target.accountName})` : ''} is still open: close it from the management account with ` +
      `\`aws organizations close-account --account-id ${target.accountId}\` (it is suspended for 90 days, then closed; its e-mail stays taken)`
    return
  }
  if (target.accountStatus && CLOSING_STATES.has(target.accountStatus)) {
    // An earlier run closed it and then failed: nothing more to ask AWS.
    report.accountClosed = true
    return
  }
  const config = await awsClientConfig({estate, profile: options.profile, region: 'us-east-1', purpose: 'offboard'})
  const organizations = new OrganizationsClient(config)
  await checkCaller(organizations, new STSClient(config), estate.organization.managementAccountId)
  await closeAccount(organizations, target.accountId)
  report.accountClosed = true
}

/** The last step: the estate entry, the onboarding journal and the baseline record go. */
async function forgetClient(options: OffboardOptions, report: OffboardReport): Promise<void> {
  await updateEstateFile(options.estate.source, (doc) => {
    report.removedFromEstate = removeClientEntry(doc, options.target.name)
  })
  rmSync(journalPath(options.workDir, options.target.name), {force: true})
  rmSync(baselinePath(options.workDir, options.target.name), {force: true})
}

async function stateBucketExists(estate: Estate, target: EnvironmentSpec, profile?: string): Promise<boolean> {
  const s3 = await createClient(S3Client, {estate, target, profile, purpose: 'offboard'})
  try {
    await s3.send(new HeadBucketCommand({Bucket: target.stateBucket}))
    return true
  } catch (error) {
    const status = (error as {$metadata?: {httpStatusCode?: number}}).$metadata?.httpStatusCode
    if (status === 404 || (error as Error).name === 'NotFound' || (error as Error).name === 'NoSuchBucket') return false
    throw error
  }
}
