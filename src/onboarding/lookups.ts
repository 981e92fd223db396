import {OrganizationsClient} from '@aws-sdk/client-organizations'

import {awsClientConfig} from '../aws/clients.js'
import type {Estate} from '../estate/model.js'
import {EXIT, InfraError} from '../errors.js'
import {type AccountFacts, type OrganizationalUnit, describeAccountFacts, listOrganizationalUnits} from './organization.js'
import {estateHolders} from './ownership.js'

// What onboard-client reads from the organization before it asks or plans: the OUs its prompt
// offers, and the account --adopt-account names.

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
