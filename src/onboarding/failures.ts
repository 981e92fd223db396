import {InfraError} from '../errors.js'

/** What a CreateAccount FailureReason means, in plain words, and what to do next. */
export const CREATE_ACCOUNT_FAILURES: Record<string, {meaning: string; next: string}> = {
  EMAIL_ALREADY_EXISTS: {
    meaning: 'another AWS account (outside this organization, or closed within the last 90 days) already uses this e-mail',
    next: 'give the client a root e-mail no AWS account has used, e.g. a plus-address such as aws+<client>@your-domain, or invite the existing account into the organization',
  },
  ACCOUNT_LIMIT_EXCEEDED: {
    meaning: 'the organization has reached its quota of member accounts',
    next: 'ask AWS Support (Service Quotas, AWS Organizations "Default maximum number of accounts") for a higher quota, or close accounts no longer used, then run the same command again',
  },
  CONCURRENT_ACCOUNT_MODIFICATION: {
    meaning: 'a request with the same details is already being processed',
    next: 'wait a few minutes and run the same command again: it will find the account by its e-mail',
  },
  INVALID_EMAIL: {
    meaning: 'AWS refused the e-mail address as not valid',
    next: 'pass a valid address of 6 to 64 7-bit ASCII characters with one @ (--email)',
  },
  INVALID_ADDRESS: {
    meaning: 'the management account\'s contact address is not valid',
    next: 'fix the contact information of the management account (Billing console, Account settings), then run again',
  },
  INTERNAL_FAILURE: {
    meaning: 'AWS Organizations failed internally',
    next: 'run the same command again later; if it keeps failing, contact AWS Support with the request id',
  },
  GOVCLOUD_ACCOUNT_ALREADY_EXISTS: {
    meaning: 'a GovCloud account with this e-mail already exists',
    next: 'use another e-mail for the client',
  },
  MISSING_BUSINESS_VALIDATION: {
    meaning: 'the management account has not completed business validation',
    next: 'complete business validation of the management account with AWS, then run again',
  },
  FAILED_BUSINESS_VALIDATION: {
    meaning: 'the management account failed business validation',
    next: 'contact AWS Support about the management account\'s business validation',
  },
  PENDING_BUSINESS_VALIDATION: {
    meaning: 'the management account\'s business validation is still in progress',
    next: 'wait until AWS completes it, then run the same command again',
  },
  INVALID_IDENTITY_FOR_BUSINESS_VALIDATION: {
    meaning: 'the management account lacks valid identity data for business validation',
    next: 'correct the management account\'s identity information, then run again',
  },
  UNKNOWN_BUSINESS_VALIDATION: {
    meaning: 'the management account has an unknown business validation problem',
    next: 'contact AWS Support',
  },
  MISSING_PAYMENT_INSTRUMENT: {
    meaning: 'the management account has no valid payment method',
    next: 'add a payment method to the management account (Billing console), then run again',
  },
  INVALID_PAYMENT_INSTRUMENT: {
    meaning: 'the management account\'s payment method is not supported',
    next: 'change the management account\'s payment method, then run again',
  },
  UPDATE_EXISTING_RESOURCE_POLICY_WITH_TAGS_NOT_SUPPORTED: {
    meaning: 'tags cannot be given while the organization\'s resource policy is updated',
    next: 'run again; infra tags the account in a later step',
  },
}

/** A FAILED CreateAccount request as an error an operator can act on. */
export function createAccountFailed(reason: string | undefined, requestId: string, client: string): InfraError {
  const known = reason ? CREATE_ACCOUNT_FAILURES[reason] : undefined
  return new InfraError(
    `AWS could not create the account for ${client} (${reason ?? 'no reason given'}, request ${requestId}): ${known?.meaning ?? 'AWS gave no explanation'}`,
    known?.next ?? 'see the request in the Organizations console or CloudTrail (CreateAccountResult), then run the same command again',
    reason ? `CREATE_ACCOUNT_${reason}` : 'CREATE_ACCOUNT_FAILED',
    1,
    {requestId, failureReason: reason ?? null},
  )
}

/** Reasons CreateAccount itself refuses with (ConstraintViolationException), and quota errors. */
const CONSTRAINTS: Record<string, string> = {
  ACCOUNT_NUMBER_LIMIT_EXCEEDED: 'the organization has reached its quota of member accounts: ask AWS Support for a higher quota or close unused accounts',
  ACCOUNT_CREATION_RATE_LIMIT_EXCEEDED: 'too many accounts were created recently: wait (the rate resets within a day) and run the same command again',
  ACCOUNT_CREATION_NOT_COMPLETE: 'the organization is still being set up: wait and run again',
  EMAIL_VERIFICATION_CODE_EXPIRED: 'the management account\'s e-mail is not verified: verify it and run again',
  WAIT_PERIOD_ACTIVE: 'the management account is too new to create accounts: wait for AWS\'s waiting period to end',
  MASTER_ACCOUNT_MISSING_CONTACT_INFO: 'the management account has no contact information: add it in the Billing console',
  MASTER_ACCOUNT_PAYMENT_INSTRUMENT_REQUIRED: 'the management account needs a payment method',
  ORGANIZATION_NOT_IN_ALL_FEATURES_MODE: 'the organization must have all features enabled',
}

/** CreateAccount's own exceptions (limits, throttling, concurrent changes) as errors with a next step. */
export function createAccountRefused(error: unknown, client: string): InfraError {
  const err = error as {name?: string; message?: string; Reason?: string}
  const message = (err.message ?? String(error)).split('\n')[0]
  if (err.name === 'ConstraintViolationException' && err.Reason && CONSTRAINTS[err.Reason]) {
    return new InfraError(`AWS refused to create the account for ${client} (${err.Reason})`, CONSTRAINTS[err.Reason], `CREATE_ACCOUNT_${err.Reason}`)
  }
  if (err.name === 'TooManyRequestsException') {
    return new InfraError(`AWS Organizations is throttling requests while creating ${client}'s account`, 'wait a minute and run the same command again: it resumes where it stopped', 'CREATE_ACCOUNT_THROTTLED')
  }
  if (err.name === 'ConcurrentModificationException' || err.name === 'FinalizingOrganizationException') {
    return new InfraError(`the organization is being changed by another request (${err.name})`, 'wait a few minutes and run the same command again', 'CREATE_ACCOUNT_CONCURRENT')
  }
  if (err.name === 'AccessDeniedException' || err.name === 'AccessDenied') {
    return new InfraError(
      `not allowed to create accounts: ${message}`,
      'CreateAccount works only from the management account, with organizations:CreateAccount; use its credentials (--profile)',
      'CREATE_ACCOUNT_DENIED',
    )
  }
  return new InfraError(`CreateAccount failed for ${client}: ${message}`, 'run the same command again; it resumes where it stopped', 'CREATE_ACCOUNT_FAILED')
}
