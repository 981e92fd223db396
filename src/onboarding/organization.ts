import {
  type Account,
  CloseAccountCommand,
  CreateAccountCommand,
  type CreateAccountStatus,
  DescribeAccountCommand,
  DescribeCreateAccountStatusCommand,
  DescribeOrganizationCommand,
  ListOrganizationalUnitsForParentCommand,
  ListParentsCommand,
  ListRootsCommand,
  ListTagsForResourceCommand,
  MoveAccountCommand,
  OrganizationsClient,
  TagResourceCommand,
  paginateListAccounts,
  paginateListCreateAccountStatus,
} from '@aws-sdk/client-organizations'
import {AssumeRoleCommand, GetCallerIdentityCommand, STSClient} from '@aws-sdk/client-sts'

import {type AwsClientConfig} from '../aws/clients.js'
import {roleSessionName} from '../estate/session-name.js'
import {InfraError} from '../errors.js'
import {pause, stopIfInterrupted} from '../process/interrupts.js'
import {accountChangeRefused, createAccountFailed, createAccountRefused} from './failures.js'

/** Who is calling: always the organization's management account (checkCaller refuses anyone else). */
export interface CallerCheck {
  accountId: string
  arn: string
  organizationId: string
  managementAccountId: string
  role: 'management'
}

/**
 * The caller must be the organization's management account, and not its root user (root cannot
 * assume roles, so the new account's access role would be out of reach). A delegated administrator
 * is refused too: CreateAccount, MoveAccount and CloseAccount "can be called only from the
 * organization's management account" (their notes in @aws-sdk/client-organizations), so it would
 * fail only after the estate had been changed.
 */
export async function checkCaller(organizations: OrganizationsClient, sts: STSClient, expectedManagementAccountId: string): Promise<CallerCheck> {
  const identity = await sts.send(new GetCallerIdentityCommand({}))
  const accountId = identity.Account!
  const arn = identity.Arn!
  if (/:root$/.test(arn)) {
    throw new InfraError(
      `the credentials are the root user of account ${accountId}, which cannot assume roles into new accounts`,
      'use an IAM role or SSO permission set in the management account (--profile), never root',
      'ROOT_CREDENTIALS',
    )
  }
  let organization
  try {
    organization = (await organizations.send(new DescribeOrganizationCommand({}))).Organization!
  } catch (error) {
    if ((error as Error).name === 'AWSOrganizationsNotInUseException') {
      throw new InfraError(`account ${accountId} is not in an AWS organization`, 'use credentials of your organization\'s management account (--profile)', 'NOT_IN_ORGANIZATION')
    }
    throw error
  }
  const managementAccountId = organization.MasterAccountId!
  if (managementAccountId !== expectedManagementAccountId) {
    throw new InfraError(
      `the credentials belong to organization ${organization.Id}, whose management account is ${managementAccountId}, but the estate names ${expectedManagementAccountId}`,
      'use credentials of the estate\'s organization (--profile), or correct organization.managementAccountId in the estate file',
      'WRONG_ORGANIZATION',
    )
  }
  if (accountId !== managementAccountId) {
    throw new InfraError(
      `the credentials are in member account ${accountId} (${arn}), not the management account ${managementAccountId} of organization ${organization.Id}: ` +
        'creating, moving and closing accounts are management-account-only calls, which a delegated administrator cannot make either',
      `run with credentials of the management account ${managementAccountId} (--profile)`,
      'NOT_MANAGEMENT_ACCOUNT',
      1,
      {callerAccountId: accountId, managementAccountId},
    )
  }
  return {accountId, arn, organizationId: organization.Id!, managementAccountId, role: 'management'}
}

/** An account of the organization as onboarding judges it: who it is, where it sits, how it is tagged. */
export interface AccountFacts {
  id: string
  name: string
  email: string
  /** ACTIVE, PENDING_ACTIVATION, SUSPENDED, PENDING_CLOSURE or CLOSED (Account.State; Status was retired). */
  state: string
  /** The OU (or root) the account sits in, with its path when known. */
  parent: {id: string; path: string}
  tags: Record<string, string>
}

/**
 * Reads an account's name, e-mail, state, OU and tags; undefined when the organization has no
 * such account (AccountNotFoundException: a journal written against another organization).
 */
export async function describeAccountFacts(organizations: OrganizationsClient, accountId: string, units: OrganizationalUnit[] = []): Promise<AccountFacts | undefined> {
  let account: Account
  try {
    account = (await organizations.send(new DescribeAccountCommand({AccountId: accountId}))).Account!
  } catch (error) {
    if ((error as Error).name === 'AccountNotFoundException') return undefined
    throw error
  }
  const parent = (await organizations.send(new ListParentsCommand({ChildId: accountId}))).Parents![0]
  return {
    id: accountId,
    name: account.Name ?? '',
    email: account.Email ?? '',
    state: account.State ?? 'UNKNOWN',
    parent: {id: parent.Id!, path: units.find((unit) => unit.id === parent.Id)?.path ?? parent.Id!},
    tags: await readTags(organizations, accountId),
  }
}

/**
 * The account that already uses this e-mail, on any page, whatever its state: a suspended or
 * closing account keeps its e-mail, so it must be found too.
 */
export async function findAccountByEmail(organizations: OrganizationsClient, email: string, pageSize = 20): Promise<Account | undefined> {
  const wanted = email.toLowerCase()
  for await (const page of paginateListAccounts({client: organizations, pageSize}, {})) {
    const match = (page.Accounts ?? []).find((account) => account.Email?.toLowerCase() === wanted)
    if (match) return match
  }
  return undefined
}

/** A creation request still running for this account name (sent by a run that crashed before journaling it). */
export async function findCreateRequestInProgress(organizations: OrganizationsClient, accountName: string): Promise<string | undefined> {
  for await (const page of paginateListCreateAccountStatus({client: organizations}, {States: ['IN_PROGRESS']})) {
    const match = (page.CreateAccountStatuses ?? []).find((status) => status.AccountName === accountName)
    if (match) return match.Id
  }
  return undefined
}

/** Sends CreateAccount and returns the request id (to be journaled before anything else). */
export async function requestAccount(organizations: OrganizationsClient, request: {name: string; email: string; roleName: string}): Promise<string> {
  try {
    const response = await organizations.send(
      new CreateAccountCommand({Email: request.email, AccountName: request.name, RoleName: request.roleName, IamUserAccessToBilling: 'DENY'}),
    )
    const status = response.CreateAccountStatus!
    if (status.State === 'FAILED') throw createAccountFailed(status.FailureReason, status.Id!, request.name)
    return status.Id!
  } catch (error) {
    if (error instanceof InfraError) throw error
    throw createAccountRefused(error, request.name)
  }
}

export interface PollOptions {
  intervalMs: number
  timeoutMs: number
  onProgress?: (status: CreateAccountStatus, elapsedMs: number) => void
  /** Ctrl-C or SIGTERM: stop polling (the request id is journaled; the rerun polls it again). */
  signal?: AbortSignal
}

/** Polls a creation request until it succeeds (the account id) or fails (a plain explanation). */
export async function waitForAccount(organizations: OrganizationsClient, requestId: string, client: string, options: PollOptions): Promise<string> {
  const started = Date.now()
  for (;;) {
    let status: CreateAccountStatus
    try {
      status = (await organizations.send(new DescribeCreateAccountStatusCommand({CreateAccountRequestId: requestId}))).CreateAccountStatus!
    } catch (error) {
      if ((error as Error).name === 'CreateAccountStatusNotFoundException') {
        throw new InfraError(
          `the journaled CreateAccount request ${requestId} for ${client} is unknown to AWS Organizations`,
          'if the account exists, the rerun finds it by e-mail: delete createAccountRequestId from the onboarding journal and run again',
          'CREATE_REQUEST_NOT_FOUND',
        )
      }
      throw error
    }
    options.onProgress?.(status, Date.now() - started)
    if (status.State === 'SUCCEEDED') return status.AccountId!
    if (status.State === 'FAILED') throw createAccountFailed(status.FailureReason, requestId, client)
    if (Date.now() - started > options.timeoutMs) {
      throw new InfraError(
        `account creation for ${client} (request ${requestId}) is still IN_PROGRESS after ${Math.round(options.timeoutMs / 60_000)} minutes`,
        'run the same command again later: it resumes polling the same request',
        'CREATE_ACCOUNT_TIMEOUT',
      )
    }
    await pause(options.intervalMs, options.signal)
    stopIfInterrupted(options.signal, `while ${client}'s account was being created (request ${requestId})`, 'run the same command again: it polls the same request')
  }
}

/** An organizational unit with its path from the root, e.g. "Root/Clients/EU". */
export interface OrganizationalUnit {
  id: string
  path: string
}

/** Every OU of the organization, depth first, with the root itself first. */
export async function listOrganizationalUnits(organizations: OrganizationsClient): Promise<OrganizationalUnit[]> {
  const root = (await organizations.send(new ListRootsCommand({}))).Roots![0]
  const units: OrganizationalUnit[] = [{id: root.Id!, path: root.Name ?? 'Root'}]
  const walk = async (parentId: string, parentPath: string): Promise<void> => {
    let token: string | undefined
    do {
      const page = await organizations.send(new ListOrganizationalUnitsForParentCommand({ParentId: parentId, NextToken: token}))
      for (const unit of page.OrganizationalUnits ?? []) {
        const unitPath = `${parentPath}/${unit.Name}`
        units.push({id: unit.Id!, path: unitPath})
        await walk(unit.Id!, unitPath)
      }
      token = page.NextToken
    } while (token)
  }
  await walk(root.Id!, units[0].path)
  return units
}

/** An OU given by id (ou-..., r-...), by path ("Root/Clients") or by a unique name ("Clients"). */
export function resolveOrganizationalUnit(units: OrganizationalUnit[], wanted: string): OrganizationalUnit {
  const byId = units.find((unit) => unit.id === wanted)
  if (byId) return byId
  const byPath = units.find((unit) => unit.path === wanted)
  if (byPath) return byPath
  const byName = units.filter((unit) => unit.path.split('/').at(-1) === wanted)
  if (byName.length === 1) return byName[0]
  throw new InfraError(
    byName.length > 1 ? `organizational unit "${wanted}" is ambiguous: ${byName.map((u) => u.path).join(', ')}` : `organizational unit "${wanted}" does not exist in the organization`,
    `pass --ou with one of: ${units.map((unit) => `${unit.path} (${unit.id})`).join(', ')}`,
    'UNKNOWN_OU',
  )
}

/** Moves the account under the OU unless it is there already; true when it moved. */
export async function placeAccount(organizations: OrganizationsClient, accountId: string, ouId: string): Promise<boolean> {
  const parent = (await organizations.send(new ListParentsCommand({ChildId: accountId}))).Parents![0]
  if (parent.Id === ouId) return false
  await organizations
    .send(new MoveAccountCommand({AccountId: accountId, SourceParentId: parent.Id!, DestinationParentId: ouId}))
    .catch((error: unknown) => {
      throw accountChangeRefused('MoveAccount', error, accountId)
    })
  return true
}

async function readTags(organizations: OrganizationsClient, accountId: string): Promise<Record<string, string>> {
  const current: Record<string, string> = {}
  let token: string | undefined
  do {
    const page = await organizations.send(new ListTagsForResourceCommand({ResourceId: accountId, NextToken: token}))
    for (const tag of page.Tags ?? []) current[tag.Key!] = tag.Value!
    token = page.NextToken
  } while (token)
  return current
}

/** Adds or corrects the given tags (others are left alone); the keys that changed. */
export async function tagAccount(organizations: OrganizationsClient, accountId: string, tags: Record<string, string>): Promise<string[]> {
  const current = await readTags(organizations, accountId)
  const changed = Object.entries(tags).filter(([key, value]) => current[key] !== value)
  if (changed.length > 0) {
    await organizations.send(new TagResourceCommand({ResourceId: accountId, Tags: changed.map(([Key, Value]) => ({Key, Value}))})).catch((error: unknown) => {
      throw accountChangeRefused('TagResource', error, accountId)
    })
  }
  return changed.map(([key]) => key)
}

/** Closes a member account (management account only); a refusal is one line with its fix. */
export async function closeAccount(organizations: OrganizationsClient, accountId: string): Promise<void> {
  await organizations.send(new CloseAccountCommand({AccountId: accountId})).catch((error: unknown) => {
    throw accountChangeRefused('CloseAccount', error, accountId)
  })
}

/**
 * Assumes the access role Organizations creates in a new account, retrying AccessDenied while the
 * role propagates (minutes after the account is created). Returns the identity it got.
 */
export async function assumeAccessRole(
  config: AwsClientConfig,
  roleArn: string,
  options: {timeoutMs: number; intervalMs: number; onRetry?: (attempt: number, error: Error) => void; signal?: AbortSignal},
): Promise<{arn: string; accountId: string; attempts: number}> {
  const sts = new STSClient(config)
  const started = Date.now()
  for (let attempt = 1; ; attempt++) {
    try {
      const assumed = await sts.send(new AssumeRoleCommand({RoleArn: roleArn, RoleSessionName: roleSessionName('onboard'), DurationSeconds: 900}))
      const credentials = assumed.Credentials!
      const inAccount = new STSClient({
        ...config,
        credentials: {accessKeyId: credentials.AccessKeyId!, secretAccessKey: credentials.SecretAccessKey!, sessionToken: credentials.SessionToken},
      })
      const identity = await inAccount.send(new GetCallerIdentityCommand({}))
      return {arn: identity.Arn!, accountId: identity.Account!, attempts: attempt}
    } catch (error) {
      const err = error as Error
      const propagating = /AccessDenied|not authorized/i.test(`${err.name} ${err.message}`)
      if (!propagating || Date.now() - started > options.timeoutMs) {
        throw new InfraError(
          `cannot assume ${roleArn}: ${err.message.split('\n')[0]}`,
          propagating
            ? 'the role may still be propagating, or your identity lacks sts:AssumeRole on it: run the same command again in a few minutes'
            : 'check the role name (defaults.roleName in the estate) and your permissions',
          'ASSUME_ROLE_FAILED',
        )
      }
      options.onRetry?.(attempt, err)
      await pause(Math.min(options.intervalMs * 2 ** Math.min(attempt - 1, 4), 30_000), options.signal)
      stopIfInterrupted(options.signal, `while waiting for ${roleArn}`, 'run the same command again: it continues from the access role')
    }
  }
}
