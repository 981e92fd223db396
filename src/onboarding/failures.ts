import {InfraError, fromAwsError} from '../errors.js'

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

/**
 * CreateAccount's own exceptions as errors with a next step: those its SDK model lists
 * (@aws-sdk/client-organizations dist-types/commands/CreateAccountCommand.d.ts: AccessDenied,
 * AWSOrganizationsNotInUse, ConcurrentModification, ConstraintViolation, FinalizingOrganization,
 * InvalidInput, Service, TooManyRequests, UnsupportedAPIEndpoint); any other AWS answer by its kind.
 */
export function createAccountRefused(error: unknown, client: string): InfraError {
  const err = error as {name?: string; message?: string; Reason?: string}
  const message = (err.message ?? String(error)).split('\n')[0]
  if (err.name === 'ConstraintViolationException' && err.Reason) {
    return new InfraError(
      `AWS refused to create the account for ${client} (${err.name} ${err.Reason}): ${message}`,
      CONSTRAINTS[err.Reason] ?? `see ${err.Reason} under ConstraintViolationException in the AWS Organizations API reference, fix it, then run the same command again`,
      `CREATE_ACCOUNT_${err.Reason}`,
    )
  }
  if (err.name === 'TooManyRequestsException') {
    return new InfraError(`AWS Organizations is throttling requests while creating ${client}'s account, even after the SDK's retries (${err.name}): ${message}`, 'wait a minute and run the same command again: it resumes where it stopped', 'CREATE_ACCOUNT_THROTTLED')
  }
  if (err.name === 'ConcurrentModificationException' || err.name === 'FinalizingOrganizationException') {
    return new InfraError(`the organization is being changed by another request (${err.name}): ${message}`, 'wait a few minutes and run the same command again', 'CREATE_ACCOUNT_CONCURRENT')
  }
  if (err.name === 'AccessDeniedException' || err.name === 'AccessDenied') {
    return new InfraError(
      `not allowed to create accounts (${err.name}): ${message}`,
      'CreateAccount works only from the management account, with organizations:CreateAccount; use its credentials (--profile)',
      'CREATE_ACCOUNT_DENIED',
    )
  }
  if (err.name === 'InvalidInputException') {
    return new InfraError(
      `AWS rejected a value of the CreateAccount request for ${client} (${err.name}${err.Reason ? ` ${err.Reason}` : ""}): ${message}`,
      'check the client\'s name and --email (and defaults.roleName in the estate); if they are right, this is a bug in infra: report it',
      'CREATE_ACCOUNT_INVALID',
    )
  }
  const kind = fromAwsError(error)
  if (kind) return new InfraError(`CreateAccount for ${client}: ${kind.message}`, `${kind.fix}; the same command then resumes where it stopped`, kind.code, kind.exitCode, kind.details)
  return new InfraError(`CreateAccount failed for ${client}: ${message}`, 'run the same command again; it resumes where it stopped', 'CREATE_ACCOUNT_FAILED')
}

/** A ConstraintViolationException Reason that names a quota (CLOSE_ACCOUNT_QUOTA_EXCEEDED, MAX_TAG_LIMIT_EXCEEDED...). */
const QUOTA_REASON = /QUOTA_EXCEEDED|LIMIT_EXCEEDED/

/**
 * Why MoveAccount, TagResource or CloseAccount was refused, as one line with a fix. The exceptions
 * are those the SDK models list for the calls (@aws-sdk/client-organizations, commands/
 * MoveAccountCommand.d.ts, TagResourceCommand.d.ts, CloseAccountCommand.d.ts); CloseAccount's quota
 * reasons are CLOSE_ACCOUNT_QUOTA_EXCEEDED (the higher of 250 or 20% of member accounts, at most
 * 1,000, per rolling 30 days) and CLOSE_ACCOUNT_REQUESTS_LIMIT_EXCEEDED; TagResource's is
 * MAX_TAG_LIMIT_EXCEEDED (ConstraintViolationExceptionReason in models/enums.d.ts).
 */
export function accountChangeRefused(operation: 'MoveAccount' | 'TagResource' | 'CloseAccount', error: unknown, accountId: string): InfraError {
  const err = error as {name?: string; message?: string; Reason?: string}
  const said = (err.message ?? String(error)).split('\n')[0]
  const prefix = operation.replace(/([a-z])([A-Z])/g, '$1_$2').toUpperCase()
  const refused = (fix: string, suffix: string) => new InfraError(`AWS refused ${operation} on account ${accountId} (${err.name}${err.Reason ? ` ${err.Reason}` : ''}): ${said}`, fix, `${prefix}_${suffix}`, 1, {accountId, operation, reason: err.Reason ?? null})
  switch (err.name) {
    case 'AccessDeniedException':
    case 'AccessDenied':
      return refused(`${operation} is a management-account call: run with credentials of the management account that allow organizations:${operation}`, 'DENIED')
    case 'AccountNotFoundException':
    case 'AWSOrganizationsNotInUseException':
      return refused(`account ${accountId} is not in this organization: check the estate names the right account and that the credentials are the organization's (--profile)`, 'NOT_IN_ORGANIZATION')
    case 'DestinationParentNotFoundException':
    case 'SourceParentNotFoundException':
      return refused('the organizational unit (or the account\'s current parent) is gone from the organization since infra listed it: run the same command again, which lists the OUs anew; pass --ou with an existing OU if yours was deleted', 'NOT_FOUND')
    case 'TargetNotFoundException':
      return refused(`account ${accountId} is no longer in the organization: check it with \`aws organizations describe-account --account-id ${accountId}\`, then run the same command again`, 'NOT_FOUND')
    case 'AccountAlreadyClosedException':
      return refused('the account is already closed or closing: nothing more to close; run the same command again to finish', 'ALREADY_CLOSED')
    case 'ConstraintViolationException':
      if (err.Reason === 'CLOSE_ACCOUNT_QUOTA_EXCEEDED' || err.Reason === 'CLOSE_ACCOUNT_REQUESTS_LIMIT_EXCEEDED') {
        return refused('AWS lets an organization close at most the higher of 250 or 20% of its member accounts (up to 1,000) in a rolling 30 days: run the same command again once the quota frees up', 'QUOTA')
      }
      if (err.Reason && QUOTA_REASON.test(err.Reason)) {
        return refused(`an AWS Organizations quota is reached (${err.Reason}; "Quotas for AWS Organizations" in its User Guide lists them): free some of what counts against it (tags the account no longer needs, for MAX_TAG_LIMIT_EXCEEDED), then run the same command again`, 'QUOTA')
      }
      return refused(`see the reason in the AWS Organizations documentation for ${operation}, fix it, then run the same command again`, 'CONSTRAINT')
    case 'TooManyRequestsException':
      return refused('AWS Organizations throttled the call even after the SDK\'s retries: wait a minute and run the same command again; it resumes where it stopped', 'THROTTLED')
    case 'ConcurrentModificationException':
    case 'ConflictException':
      return refused('the organization is busy with another change: wait a minute and run the same command again', 'BUSY')
    case 'InvalidInputException':
      return refused(`AWS rejected a value infra sent (its reason names it): check the client's --ou and --tag values; if they are right, this is a bug in infra: report it`, 'INVALID')
    default:
      return refused('run the same command again; if it keeps failing, see the call in CloudTrail', 'FAILED')
  }
}
