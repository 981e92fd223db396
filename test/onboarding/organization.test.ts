import type {OrganizationsClient} from '@aws-sdk/client-organizations'
import type {STSClient} from '@aws-sdk/client-sts'
import {describe, expect, it} from 'vitest'

import {CREATE_ACCOUNT_FAILURES, createAccountFailed, createAccountRefused} from '../../src/onboarding/failures.js'
import {checkCaller, resolveOrganizationalUnit} from '../../src/onboarding/organization.js'
import {parseTags} from '../../src/commands/_lib/ask-onboarding.js'

// Every FailureReason the SDK's CreateAccountStatus can carry (its published enum).
const SDK_FAILURE_REASONS = Object.values((await import('@aws-sdk/client-organizations')).CreateAccountFailureReason)

/**
 * Root-user credentials cannot be made by moto (its callers are IAM users or assumed roles), so
 * the caller check's root refusal is shown here with STS answering as AWS documents for root:
 * an Arn of the form arn:aws:iam::<account>:root.
 */
const answering = (response: object) => ({send: async () => response}) as unknown as STSClient & OrganizationsClient

describe('onboarding: the caller and the organization', () => {
  it('refuses root-user credentials before asking Organizations anything', async () => {
    const organizations = {send: async () => {
      throw new Error('Organizations must not be called for root')
    }} as unknown as OrganizationsClient
    await expect(checkCaller(organizations, answering({Account: '123456789012', Arn: 'arn:aws:iam::123456789012:root'}), '123456789012')).rejects.toMatchObject({
      code: 'ROOT_CREDENTIALS',
      message: 'the credentials are the root user of account 123456789012, which cannot assume roles into new accounts',
    })
  })

  it('names the organization when the estate names another management account', async () => {
    const sts = answering({Account: '123456789012', Arn: 'arn:aws:sts::123456789012:assumed-role/Admin/me'})
    const organizations = answering({Organization: {Id: 'o-abc', MasterAccountId: '123456789012'}})
    await expect(checkCaller(organizations, sts, '999999999999')).rejects.toMatchObject({code: 'WRONG_ORGANIZATION'})
  })

  it('explains every FailureReason AWS can return', () => {
    const missing = SDK_FAILURE_REASONS.filter((reason) => !CREATE_ACCOUNT_FAILURES[reason])
    expect(missing).toEqual([])
    const error = createAccountFailed('ACCOUNT_LIMIT_EXCEEDED', 'car-1', 'globex')
    expect(error.oneLine()).toMatch(/quota of member accounts: ask AWS Support/)
    expect(createAccountFailed('SOMETHING_NEW', 'car-2', 'globex').code).toBe('CREATE_ACCOUNT_SOMETHING_NEW')
  })

  it('turns CreateAccount refusals (limits, throttling, concurrency) into a next step', () => {
    expect(createAccountRefused(Object.assign(new Error('x'), {name: 'ConstraintViolationException', Reason: 'ACCOUNT_CREATION_RATE_LIMIT_EXCEEDED'}), 'g').fix).toMatch(/wait/)
    expect(createAccountRefused(Object.assign(new Error('x'), {name: 'TooManyRequestsException'}), 'g').code).toBe('CREATE_ACCOUNT_THROTTLED')
    expect(createAccountRefused(Object.assign(new Error('x'), {name: 'ConcurrentModificationException'}), 'g').code).toBe('CREATE_ACCOUNT_CONCURRENT')
    expect(createAccountRefused(Object.assign(new Error('x'), {name: 'InvalidInputException', Reason: 'INVALID_PATTERN'}), 'g').code).toBe('CREATE_ACCOUNT_INVALID')
    // Any other AWS answer by its kind (an SDK service exception carries $metadata).
    const unlisted = Object.assign(new Error('slow down'), {name: 'ServiceException', $fault: 'server', $metadata: {httpStatusCode: 500}})
    expect(createAccountRefused(unlisted, 'g')).toMatchObject({code: 'AWS_SERVER_ERROR', message: expect.stringMatching(/^CreateAccount for g: /)})
  })

  it('finds an OU by id, path or unique name, and lists them when it cannot', () => {
    const units = [
      {id: 'r-1', path: 'Root'},
      {id: 'ou-1', path: 'Root/Clients'},
      {id: 'ou-2', path: 'Root/Clients/EU'},
      {id: 'ou-3', path: 'Root/Internal/EU'},
    ]
    expect(resolveOrganizationalUnit(units, 'ou-2').path).toBe('Root/Clients/EU')
    expect(resolveOrganizationalUnit(units, 'Root/Internal/EU').id).toBe('ou-3')
    expect(resolveOrganizationalUnit(units, 'Clients').id).toBe('ou-1')
    expect(() => resolveOrganizationalUnit(units, 'EU')).toThrow('organizational unit "EU" is ambiguous: Root/Clients/EU, Root/Internal/EU')
    expect(() => resolveOrganizationalUnit(units, 'Nope')).toThrow(/does not exist/)
  })

  it('reads tags as key=value', () => {
    expect(parseTags(['team=payments', 'cost-centre=42,env=prod'])).toEqual({team: 'payments', 'cost-centre': '42', env: 'prod'})
    expect(() => parseTags(['team'])).toThrow('--tag "team" is not key=value')
  })
})
