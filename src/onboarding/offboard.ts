import {rmSync} from 'node:fs'

import {CloseAccountCommand, DescribeAccountCommand, OrganizationsClient} from '@aws-sdk/client-organizations'
import {HeadBucketCommand, S3Client} from '@aws-sdk/client-s3'
import {STSClient} from '@aws-sdk/client-sts'

import {awsClientConfig, createClient} from '../aws/clients.js'
import type {EnvironmentSpec, Estate, PendingClient} from '../estate/model.js'
import {removeClientEntry, updateEstateFile} from '../estate/writer.js'
import {EXIT, InfraError} from '../errors.js'
import {type ProvisionOptions, type ProvisionReport, provision} from '../provision/provision.js'
import {baselinePath} from './baseline.js'
import {journalPath} from './journal.js'
import {checkCaller} from './organization.js'

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
      target.accountStatus = account.Status
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
}

/**
 * Takes a client out of the estate: destroys its stacks (the state bucket is kept, as with
 * `provision --destroy`), removes its entry, journal and baseline record, and closes its account
 * only when asked to; otherwise it says how.
 */
export async function offboardClient(options: OffboardOptions): Promise<OffboardReport> {
  const {estate, target, workDir} = options
  const report: OffboardReport = {
    client: target.name,
    accountId: target.accountId ?? null,
    destroyed: null,
    destroySkipped: null,
    removedFromEstate: false,
    accountClosed: false,
    closeAccountHint: null,
  }
  if (target.recorded && options.destroy) {
    const exists = await stateBucketExists(estate, target.recorded, options.profile)
    if (exists) {
      report.destroyed = await provision({...options.destroy, estate, env: target.recorded, mode: 'destroy', renderer: options.renderer, workDir})
      if (report.destroyed.stacks.some((stack) => stack.skipped === 'declined')) {
        throw new InfraError(`destroying ${target.name}'s stacks was declined: the client stays in the estate`, 'run again and confirm, or pass --no-destroy to keep its resources', 'NOT_CONFIRMED', EXIT.declined)
      }
    } else {
      report.destroySkipped = `no state bucket ${target.recorded.stateBucket} in ${target.recorded.accountId}: nothing was provisioned`
    }
  } else {
    report.destroySkipped = target.recorded ? '--no-destroy' : 'onboarding never finished: nothing was provisioned'
  }
  await updateEstateFile(estate.source, (doc) => {
    report.removedFromEstate = removeClientEntry(doc, target.name)
  })
  rmSync(journalPath(workDir, target.name), {force: true})
  rmSync(baselinePath(workDir, target.name), {force: true})
  if (target.accountId && target.accountStatus === 'NOT_IN_ORGANIZATION') {
    report.closeAccountHint = `account ${target.accountId} is not in the organization: if it is still open, close it from the account itself (root user, Account settings)`
  } else if (target.accountId && options.closeAccount) {
    const config = await awsClientConfig({estate, profile: options.profile, region: 'us-east-1', purpose: 'offboard'})
    const organizations = new OrganizationsClient(config)
    await checkCaller(organizations, new STSClient(config), estate.organization.managementAccountId)
    await organizations.send(new CloseAccountCommand({AccountId: target.accountId}))
    report.accountClosed = true
  } else if (target.accountId) {
    report.closeAccountHint =
      `account ${target.accountId}${target.accountName ? ` (${target.accountName})` : ''} is still open: close it from the management account with ` +
      `\`aws organizations close-account --account-id ${target.accountId}\` (it is suspended for 90 days, then closed; its e-mail stays taken)`
  }
  return report
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
