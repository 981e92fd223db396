import type {Estate} from '../estate/model.js'
import {InfraError} from '../errors.js'
import type {AccountFacts} from './organization.js'

/**
 * Why an account may be treated as a client's. Onboarding moves, tags, assumes a role in and
 * provisions an account only with one of these, checked on every run (a resume included):
 * - created: this onboarding's journaled CreateAccount request produced it;
 * - named: it carries the name infra gives a client's account (the client's name) and no other
 *   estate entry names it;
 * - tagged: it carries infra:client=<client>;
 * - adopted: the operator named it with --adopt-account and typed its name.
 */
export type OwnershipProof = 'created' | 'named' | 'tagged' | 'adopted'

export interface OwnershipEvidence {
  client: string
  account: AccountFacts
  /** The account the journaled CreateAccount request produced, when there is one. */
  createdByRequest?: {requestId: string; accountId: string}
  /** --adopt-account ID, confirmed by its name. */
  adoptAccountId?: string
}

/** Who else in the estate holds this account id: an environment, another client, the management account. */
export function estateHolders(estate: Estate, accountId: string, client: string): string[] {
  const holders: string[] = []
  if (estate.organization.managementAccountId === accountId) holders.push('the management account')
  for (const env of estate.environments) if (env.accountId === accountId) holders.push(`environment ${env.name}`)
  for (const other of [...estate.clients, ...(estate.pendingClients ?? [])]) {
    if (other.name !== client && other.accountId === accountId) holders.push(`client ${other.name}`)
  }
  return holders
}

/** The proof that the account is the client's, or an error naming the account and the fix; touches nothing. */
export function proveOwnership(estate: Estate, evidence: OwnershipEvidence): OwnershipProof {
  const {client, account} = evidence
  const where = `account ${account.id} ("${account.name}", in ${account.parent.path})`
  const holders = estateHolders(estate, account.id, client)
  if (holders.length > 0) {
    throw new InfraError(
      `${where} is ${holders.join(' and ')} of the estate, not client ${client}'s: nothing was changed`,
      `give ${client} a root e-mail of its own (--email); an estate account is never adopted`,
      'ACCOUNT_IN_ESTATE',
      1,
      {accountId: account.id, accountName: account.name, parent: account.parent, holders},
    )
  }
  const taggedFor = account.tags['infra:client']
  if (taggedFor !== undefined && taggedFor !== client) {
    throw new InfraError(
      `${where} is tagged infra:client=${taggedFor}: it is client ${taggedFor}'s, not ${client}'s; nothing was changed`,
      `give ${client} a root e-mail of its own (--email), or onboard it as ${taggedFor}`,
      'ACCOUNT_OF_ANOTHER_CLIENT',
      1,
      {accountId: account.id, accountName: account.name, parent: account.parent, taggedFor},
    )
  }
  if (evidence.createdByRequest && evidence.createdByRequest.accountId === account.id) return 'created'
  if (taggedFor === client) return 'tagged'
  if (account.name === client) return 'named'
  if (evidence.adoptAccountId === account.id) return 'adopted'
  throw new InfraError(
    `${where} was not created by this onboarding, is not named "${client}" and is not tagged infra:client=${client}: nothing was changed`,
    `give ${client} a root e-mail no account uses (--email), or adopt this account on purpose with --adopt-account ${account.id} (its name "${account.name}" typed, or --confirm-account "${account.name}" without a terminal)`,
    'ACCOUNT_NOT_THE_CLIENTS',
    1,
    {accountId: account.id, accountName: account.name, parent: account.parent},
  )
}

/** Only a live account can become a client's: a suspended or closing one keeps its e-mail but cannot be used. */
export function requireActive(account: AccountFacts, email: string): void {
  if (account.state === 'ACTIVE') return
  if (account.state === 'PENDING_ACTIVATION') {
    throw new InfraError(
      `account ${account.id} (${account.name}) with ${email} is still being activated (PENDING_ACTIVATION)`,
      'run the same command again in a few minutes: it continues with this account',
      'ACCOUNT_PENDING_ACTIVATION',
      1,
      {accountId: account.id, state: account.state},
    )
  }
  throw new InfraError(
    `${email} belongs to account ${account.id} (${account.name}), which is ${account.state}: its e-mail stays taken`,
    'reopen that account through AWS Support, or onboard the client with another e-mail',
    'ACCOUNT_NOT_ACTIVE',
    1,
    {accountId: account.id, state: account.state},
  )
}

/** A journaled (or recorded) account id this organization does not have. */
export function accountNotInOrganization(accountId: string, client: string, source: string, organizationId: string): InfraError {
  return new InfraError(
    `account ${accountId} of client ${client} (from the ${source}) is not in organization ${organizationId}: the ${source} was written against another organization, or the account left it`,
    source === 'journal'
      ? 'run with the credentials of the organization it was written for (--profile), or delete the journal to start this client afresh in this organization'
      : 'correct the client\'s accountId in the estate file, or run with the credentials of its organization (--profile)',
    'ACCOUNT_NOT_IN_ORGANIZATION',
    1,
    {accountId, organizationId, source},
  )
}
