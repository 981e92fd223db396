import {describe, expect, it} from 'vitest'

import type {Estate} from '../../src/estate/model.js'
import {InfraError} from '../../src/errors.js'
import {accountChangeRefused} from '../../src/onboarding/failures.js'
import type {AccountFacts} from '../../src/onboarding/organization.js'
import {proveOwnership, requireActive} from '../../src/onboarding/ownership.js'

const estate = {
  source: 'estate.yaml',
  organization: {name: 'acme', managementAccountId: '100000000000'},
  environments: [{name: 'prod', accountId: '333333333333'}],
  clients: [{name: 'globex', accountId: '444444444444'}],
  pendingClients: [{name: 'initech', accountId: '555555555555'}],
} as unknown as Estate

const account = (fields: Partial<AccountFacts>): AccountFacts => ({id: '777777777777', name: 'hooli', email: 'a@b.example', state: 'ACTIVE', parent: {id: 'r-1', path: 'Root'}, tags: {}, ...fields})
const codeOf = (work: () => unknown) => {
  try {
    work()
  } catch (error) {
    return (error as InfraError).code
  }
  return 'accepted'
}

describe('which account onboarding may touch', () => {
  it('accepts the account its journaled request created, one tagged for the client, one named as infra names it, one adopted by id', () => {
    expect(proveOwnership(estate, {client: 'hooli', account: account({name: 'x'}), createdByRequest: {requestId: 'car-1', accountId: '777777777777'}})).toBe('created')
    expect(proveOwnership(estate, {client: 'hooli', account: account({name: 'x', tags: {'infra:client': 'hooli'}})})).toBe('tagged')
    expect(proveOwnership(estate, {client: 'hooli', account: account({})})).toBe('named')
    expect(proveOwnership(estate, {client: 'hooli', account: account({name: 'legacy'}), adoptAccountId: '777777777777'})).toBe('adopted')
  })

  it('refuses estate accounts (even named, tagged or adopted), another client\'s account, and any unrelated one', () => {
    expect(codeOf(() => proveOwnership(estate, {client: 'prod2', account: account({id: '333333333333', name: 'prod2'}), adoptAccountId: '333333333333'}))).toBe('ACCOUNT_IN_ESTATE')
    expect(codeOf(() => proveOwnership(estate, {client: 'hooli', account: account({id: '100000000000', tags: {'infra:client': 'hooli'}})}))).toBe('ACCOUNT_IN_ESTATE')
    expect(codeOf(() => proveOwnership(estate, {client: 'hooli', account: account({id: '555555555555'})}))).toBe('ACCOUNT_IN_ESTATE')
    expect(codeOf(() => proveOwnership(estate, {client: 'hooli', account: account({tags: {'infra:client': 'umbrella'}})}))).toBe('ACCOUNT_OF_ANOTHER_CLIENT')
    expect(codeOf(() => proveOwnership(estate, {client: 'hooli', account: account({name: 'legacy'}), createdByRequest: {requestId: 'car-1', accountId: '888888888888'}}))).toBe('ACCOUNT_NOT_THE_CLIENTS')
    expect(codeOf(() => proveOwnership(estate, {client: 'hooli', account: account({name: 'legacy'}), adoptAccountId: '888888888888'}))).toBe('ACCOUNT_NOT_THE_CLIENTS')
    // The client's own recorded entry is not "another estate entry".
    expect(proveOwnership(estate, {client: 'globex', account: account({id: '444444444444', name: 'globex'})})).toBe('named')
  })

  it('uses only live accounts, from Account.State', () => {
    expect(codeOf(() => requireActive(account({state: 'SUSPENDED'}), 'a@b.example'))).toBe('ACCOUNT_NOT_ACTIVE')
    expect(codeOf(() => requireActive(account({state: 'PENDING_CLOSURE'}), 'a@b.example'))).toBe('ACCOUNT_NOT_ACTIVE')
    expect(codeOf(() => requireActive(account({state: 'PENDING_ACTIVATION'}), 'a@b.example'))).toBe('ACCOUNT_PENDING_ACTIVATION')
    expect(codeOf(() => requireActive(account({}), 'a@b.example'))).toBe('accepted')
  })
})

describe('MoveAccount and CloseAccount refusals', () => {
  const aws = (name: string, message: string, Reason?: string) => Object.assign(new Error(message), {name, Reason})
  it('are one line with a code and a fix', () => {
    const quota = accountChangeRefused('CloseAccount', aws('ConstraintViolationException', 'You have exceeded close account quota.', 'CLOSE_ACCOUNT_QUOTA_EXCEEDED'), '777777777777')
    expect(quota.code).toBe('CLOSE_ACCOUNT_QUOTA')
    expect(quota.oneLine()).toMatch(/^AWS refused CloseAccount on account 777777777777 \(ConstraintViolationException CLOSE_ACCOUNT_QUOTA_EXCEEDED\): You have exceeded close account quota\.: AWS lets an organization close/)
    expect(accountChangeRefused('MoveAccount', aws('AccessDeniedException', 'no'), '1').code).toBe('MOVE_ACCOUNT_DENIED')
    expect(accountChangeRefused('MoveAccount', aws('AccountNotFoundException', 'no'), '1').code).toBe('MOVE_ACCOUNT_NOT_IN_ORGANIZATION')
    expect(accountChangeRefused('CloseAccount', aws('AccountAlreadyClosedException', 'closed'), '1').code).toBe('CLOSE_ACCOUNT_ALREADY_CLOSED')
    expect(accountChangeRefused('TagResource', aws('TooManyRequestsException', 'slow'), '1').code).toBe('TAG_RESOURCE_THROTTLED')
    expect(accountChangeRefused('MoveAccount', aws('ConcurrentModificationException', 'busy'), '1').code).toBe('MOVE_ACCOUNT_BUSY')
    expect(accountChangeRefused('CloseAccount', aws('ConstraintViolationException', 'x', 'OTHER'), '1').code).toBe('CLOSE_ACCOUNT_CONSTRAINT')
    // The other exceptions the calls' SDK models list (MoveAccountCommand.d.ts, TagResourceCommand.d.ts), each by its kind.
    expect(accountChangeRefused('MoveAccount', aws('DestinationParentNotFoundException', 'no OU'), '1').code).toBe('MOVE_ACCOUNT_NOT_FOUND')
    expect(accountChangeRefused('MoveAccount', aws('SourceParentNotFoundException', 'no parent'), '1').code).toBe('MOVE_ACCOUNT_NOT_FOUND')
    expect(accountChangeRefused('TagResource', aws('TargetNotFoundException', 'no target'), '1').code).toBe('TAG_RESOURCE_NOT_FOUND')
    expect(accountChangeRefused('CloseAccount', aws('InvalidInputException', 'bad', 'INVALID_PATTERN'), '1').code).toBe('CLOSE_ACCOUNT_INVALID')
    const tags = accountChangeRefused('TagResource', aws('ConstraintViolationException', 'too many tags', 'MAX_TAG_LIMIT_EXCEEDED'), '1')
    expect([tags.code, tags.fix]).toEqual(['TAG_RESOURCE_QUOTA', expect.stringContaining('tags the account no longer needs')])
  })
})
