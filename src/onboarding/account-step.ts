import {DescribeCreateAccountStatusCommand, type OrganizationsClient} from '@aws-sdk/client-organizations'

import {crashPoint} from '../estate/atomic-file.js'
import type {Estate} from '../estate/model.js'
import {InfraError} from '../errors.js'
import type {OnboardingJournal} from './journal.js'
import {
  type AccountFacts,
  type OrganizationalUnit,
  describeAccountFacts,
  findAccountByEmail,
  findCreateRequestInProgress,
  requestAccount,
  waitForAccount,
} from './organization.js'
import {type OwnershipProof, accountNotInOrganization, proveOwnership, requireActive} from './ownership.js'

/** Where the account came from on this run. */
export type AccountSource = 'journal' | 'estate' | 'adopted' | 'email' | 'request'

export interface AccountStepInput {
  organizations: OrganizationsClient
  organizationId: string
  estate: Estate
  journal: OnboardingJournal
  saveJournal: () => void
  units: OrganizationalUnit[]
  client: string
  email: string
  roleName: string
  /** --adopt-account ID, its name already typed. */
  adoptAccountId?: string
  pageSize?: number
  poll: {intervalMs: number; timeoutMs: number; onProgress: (text: string) => void}
  signal?: AbortSignal
}

export interface ClientAccount {
  account: AccountFacts
  source: AccountSource
  proof: OwnershipProof
  /** The CreateAccount request, when this run sent it or polled it. */
  requestId?: string
  requested: boolean
}

/**
 * Finds the client's account (journal, estate entry, --adopt-account, e-mail, or a new CreateAccount
 * request) and proves it is the client's before anything touches it. Every run proves it again,
 * so a journal or entry that names the wrong account is refused on a resume too.
 */
export async function findClientAccount(input: AccountStepInput): Promise<ClientAccount> {
  const known = knownAccount(input)
  if (known) return judge(input, known.id, known.source, false)
  let requested = false
  if (!input.journal.createAccountRequestId) {
    const byEmail = await findAccountByEmail(input.organizations, input.email, input.pageSize)
    if (byEmail) return judge(input, byEmail.Id!, 'email', false)
    requested = await sendCreateAccount(input)
  }
  const requestId = input.journal.createAccountRequestId!
  const accountId = await waitForRequest(input, requestId)
  return judge(input, accountId, 'request', requested, requestId)
}

/** The account an earlier run or the estate already names, and --adopt-account when it agrees. */
function knownAccount(input: AccountStepInput): {id: string; source: AccountSource} | undefined {
  const recorded = input.estate.clients.find((client) => client.name === input.client)?.accountId
  const pending = input.estate.pendingClients?.find((client) => client.name === input.client)?.accountId
  const known = input.journal.accountId ? {id: input.journal.accountId, source: 'journal' as const} : recorded || pending ? {id: (recorded ?? pending)!, source: 'estate' as const} : undefined
  if (known && input.adoptAccountId && known.id !== input.adoptAccountId) {
    throw new InfraError(
      `--adopt-account ${input.adoptAccountId} conflicts with account ${known.id}, which the ${known.source} already names for ${input.client}`,
      `drop --adopt-account to continue with ${known.id}, or offboard ${input.client} first`,
      'ADOPT_CONFLICT',
    )
  }
  return known ?? (input.adoptAccountId ? {id: input.adoptAccountId, source: 'adopted'} : undefined)
}

/** Reads the account and checks it is live, the client's, and (when adopted) has the client's e-mail. */
async function judge(input: AccountStepInput, accountId: string, source: AccountSource, requested: boolean, requestId?: string): Promise<ClientAccount> {
  const account = await describeAccountFacts(input.organizations, accountId, input.units)
  if (!account) throw accountNotInOrganization(accountId, input.client, source === 'estate' ? 'estate file' : source === 'journal' ? 'journal' : source, input.organizationId)
  requireActive(account, account.email || input.email)
  if (source === 'adopted' && account.email.toLowerCase() !== input.email.toLowerCase()) {
    throw new InfraError(
      `account ${accountId} ("${account.name}") has root e-mail ${account.email}, not ${input.email}`,
      `pass --email ${account.email} to adopt it`,
      'ADOPT_EMAIL_MISMATCH',
    )
  }
  const createdByRequest = await requestThatCreated(input, accountId, requestId)
  const proof = proveOwnership(input.estate, {client: input.client, account, createdByRequest, adoptAccountId: input.adoptAccountId})
  return {account, source, proof, requestId, requested}
}

/** The journaled CreateAccount request, when AWS confirms it produced this account. */
async function requestThatCreated(input: AccountStepInput, accountId: string, polled?: string): Promise<{requestId: string; accountId: string} | undefined> {
  const requestId = polled ?? input.journal.createAccountRequestId
  if (!requestId) return undefined
  if (polled) return {requestId, accountId}
  try {
    const status = (await input.organizations.send(new DescribeCreateAccountStatusCommand({CreateAccountRequestId: requestId}))).CreateAccountStatus
    return status?.AccountId ? {requestId, accountId: status.AccountId} : undefined
  } catch (error) {
    if ((error as Error).name === 'CreateAccountStatusNotFoundException') return undefined
    throw error
  }
}

/** CreateAccount, its request id journaled before anything else; a request a crashed run left running is picked up instead. */
async function sendCreateAccount(input: AccountStepInput): Promise<boolean> {
  const running = await findCreateRequestInProgress(input.organizations, input.client)
  input.journal.createAccountRequestId = running ?? (await requestAccount(input.organizations, {name: input.client, email: input.email, roleName: input.roleName}))
  input.saveJournal()
  crashPoint('after-create-account')
  return running === undefined
}

/** Polls the journaled request; a request that failed for good is forgotten, so the next run starts afresh. */
async function waitForRequest(input: AccountStepInput, requestId: string): Promise<string> {
  input.poll.onProgress(`waiting for request ${requestId}`)
  return waitForAccount(input.organizations, requestId, input.client, {
    intervalMs: input.poll.intervalMs,
    timeoutMs: input.poll.timeoutMs,
    signal: input.signal,
    onProgress: (status, elapsed) => input.poll.onProgress(`request ${requestId}: ${status.State} after ${Math.round(elapsed / 1000)} s`),
  }).catch((error: unknown) => {
    if (error instanceof InfraError && error.code.startsWith('CREATE_ACCOUNT_') && error.code !== 'CREATE_ACCOUNT_TIMEOUT') {
      delete input.journal.createAccountRequestId
      input.saveJournal()
    }
    throw error
  })
}
