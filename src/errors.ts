/**
 * Exit codes, the same for every command (README "Exit codes"). Scripts branch on them, so they
 * never change meaning: 1 is "it ran and the answer is no" (a failure or findings), 2 is "the
 * command line was wrong", 3 is "the evidence cannot prove it either way", 4 is "a person or the
 * lack of one declined the change", 130 is Ctrl-C (128 + SIGINT, as shells report it).
 */
export const EXIT = {
  failure: 1,
  usage: 2,
  unproven: 3,
  declined: 4,
  /** An unknown command, as shells report one. */
  notFound: 127,
  interrupted: 130,
} as const

/**
 * Codes that say the command line is wrong (a bad or missing value, a value that names nothing)
 * exit 2 unless the thrower says otherwise, so a new check cannot forget it: a pipeline must tell
 * a typo from a finding (exit 1). INVALID_MANIFEST is infra's own synthesis failing, not the line.
 */
const USAGE_CODE = /^(BAD_|INVALID_|UNKNOWN_|MISSING_|NOT_A_)/
const NOT_USAGE = new Set(['INVALID_MANIFEST'])

export function defaultExitCode(code: string): number {
  return USAGE_CODE.test(code) && !NOT_USAGE.has(code) ? EXIT.usage : EXIT.failure
}

/**
 * An error the operator can act on: one line saying what is wrong and how to fix it.
 * Commands print these without a stack trace; anything else is a bug and keeps its stack.
 */
export class InfraError extends Error {
  constructor(
    message: string,
    readonly fix?: string,
    readonly code = 'INFRA_ERROR',
    readonly exitCode: number = defaultExitCode(code),
    /** Structured detail for --json output (findings, plans); null when there is none. */
    readonly details: unknown = null,
  ) {
    super(message)
    this.name = 'InfraError'
  }

  oneLine(): string {
    return this.fix ? `${this.message}: ${this.fix}` : this.message
  }

  /** The error as a person reads it: one line with the fix; a list only where several things are wrong. */
  describe(): string {
    return this.oneLine()
  }

  /** The one --json error shape: {"error": {code, message, fix, details}}. */
  toJson(): {error: {code: string; message: string; fix: string | null; details: unknown}} {
    return {error: {code: this.code, message: this.message, fix: this.fix ?? null, details: this.details ?? null}}
  }
}

/** By name as well as by class: a second copy of this module (bin/dev.js loads sources and builds) makes a second class. */
export function isInfraError(error: unknown): error is InfraError {
  return error instanceof InfraError || (error instanceof Error && error.name === 'InfraError' && typeof (error as InfraError).toJson === 'function')
}

interface SystemError {
  code?: string
  syscall?: string
  path?: string
  dest?: string
  address?: string
  port?: number
  hostname?: string
  message?: string
  name?: string
  cause?: unknown
}

/** The error itself and its causes (fetch wraps the socket error in `cause`). */
function chain(error: unknown): SystemError[] {
  const errors: SystemError[] = []
  let current = error
  while (current && typeof current === 'object' && errors.length < 5) {
    errors.push(current as SystemError)
    current = (current as SystemError).cause
  }
  return errors
}

const FILE_PROBLEMS: Record<string, (path: string) => [string, string]> = {
  ENOENT: (p) => [`no such file or folder: ${p}`, 'check the path; a file can only be written into a folder that exists'],
  EISDIR: (p) => [`${p} is a folder, not a file`, 'pass the path of a file inside it'],
  ENOTDIR: (p) => [`a part of ${p} is a file, not a folder`, 'check the path'],
  EACCES: (p) => [`permission denied on ${p}`, 'check its owner and mode, or choose a path you can use'],
  EPERM: (p) => [`operation not permitted on ${p}`, 'check its owner and mode, or choose a path you can use'],
  EROFS: (p) => [`${p} is on a read-only file system`, 'choose a writable path'],
  ENOSPC: (p) => [`no space left on the device holding ${p}`, 'free some space or choose another path'],
  EEXIST: (p) => [`${p} already exists`, 'remove it or choose another path'],
  EMFILE: (p) => [`too many open files while opening ${p}`, 'raise the limit (ulimit -n) or read fewer files at once'],
  ENAMETOOLONG: (p) => [`the path ${p.slice(0, 80)}... is too long`, 'use a shorter path'],
}

/**
 * A path that names nothing usable (missing, a folder for a file, unreadable) is nearly always one
 * the operator typed (--file, --estate, --config-file, --output): the README's exit 2, "a value that
 * names nothing". A full disk or a read-only file system is a failure of the run, not of the line.
 */
const PATH_NAMES_NOTHING = new Set(['ENOENT', 'EISDIR', 'ENOTDIR', 'EACCES', 'ENAMETOOLONG'])

const NETWORK_PROBLEMS: Record<string, (where: string) => [string, string]> = {
  ECONNREFUSED: (w) => [`cannot connect to ${w}: connection refused`, 'check the address and port, and that the server is running'],
  ENOTFOUND: (w) => [`cannot resolve ${w}: no such host`, 'check the host name, DNS and proxy settings'],
  EAI_AGAIN: (w) => [`cannot resolve ${w}: DNS did not answer`, 'check the network and DNS, then try again'],
  ETIMEDOUT: (w) => [`connecting to ${w} timed out`, 'check the network, firewall and proxy settings'],
  ECONNRESET: (w) => [`${w} closed the connection`, 'check that the address is the right service, then try again'],
  EHOSTUNREACH: (w) => [`${w} is unreachable`, 'check the network route or VPN'],
  ENETUNREACH: (w) => [`the network of ${w} is unreachable`, 'check the network route or VPN'],
  EPIPE: (w) => [`${w} stopped reading`, 'try again'],
  UND_ERR_CONNECT_TIMEOUT: (w) => [`connecting to ${w} timed out`, 'check the network, firewall and proxy settings'],
  UND_ERR_SOCKET: (w) => [`${w} closed the connection`, 'check that the address is the right service, then try again'],
  CERT_HAS_EXPIRED: (w) => [`${w} presents an expired TLS certificate`, 'renew the certificate, or check that the address is right'],
  DEPTH_ZERO_SELF_SIGNED_CERT: (w) => [`${w} presents a self-signed TLS certificate`, 'set AWS_CA_BUNDLE or NODE_EXTRA_CA_CERTS to its certificate'],
  SELF_SIGNED_CERT_IN_CHAIN: (w) => [`${w} presents a certificate from an unknown authority`, 'set AWS_CA_BUNDLE or NODE_EXTRA_CA_CERTS to the CA bundle'],
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: (w) => [`${w} presents a certificate that cannot be verified`, 'set AWS_CA_BUNDLE or NODE_EXTRA_CA_CERTS to the CA bundle'],
  ERR_TLS_CERT_ALTNAME_INVALID: (w) => [`${w} presents a certificate for another name`, 'check the address'],
}

/**
 * Node's and libraries' errors as one line with the path or address and a fix: file-system and
 * network errors, a prompt cancelled with Ctrl-C. Returns undefined for anything else (a bug).
 */
export function fromSystemError(error: unknown): InfraError | undefined {
  if (isInfraError(error)) return error
  for (const err of chain(error)) {
    if (err.name === 'ExitPromptError' || err.name === 'AbortPromptError') {
      return new InfraError('cancelled at the prompt (Ctrl-C)', 'run the command again to start over; --yes answers for scripts', 'INTERRUPTED', EXIT.interrupted)
    }
    if (!err.code) continue
    const file = FILE_PROBLEMS[err.code]
    if (file && (err.path || err.dest)) {
      const [message, fix] = file(String(err.path ?? err.dest))
      return new InfraError(message, fix, `FILE_${err.code}`, PATH_NAMES_NOTHING.has(err.code) ? EXIT.usage : EXIT.failure)
    }
    const network = NETWORK_PROBLEMS[err.code]
    if (network) {
      const where = err.hostname ?? (err.address ? `${err.address}${err.port ? `:${err.port}` : ''}` : 'the server')
      const [message, fix] = network(where)
      return new InfraError(message, fix, 'NETWORK_ERROR')
    }
  }
  return undefined
}

/** An AWS SDK service exception: what AWS answered, refusing a call. */
interface AwsServiceError {
  name: string
  message?: string
  $fault?: 'client' | 'server'
  $metadata: {httpStatusCode?: number; requestId?: string}
  Reason?: string
}

function isAwsServiceError(error: unknown): error is AwsServiceError {
  const err = error as Partial<AwsServiceError> | undefined
  return Boolean(err && typeof err === 'object' && typeof err.name === 'string' && err.$metadata && typeof err.$metadata === 'object' && (err.$fault || err.$metadata.httpStatusCode))
}

/**
 * The kinds of refusal every AWS API answers with, by the exception names of the SDK models
 * (node_modules/@aws-sdk/client-*) and the Query APIs' error codes (EC2's "InvalidInstanceID.NotFound").
 */
const AWS_REFUSALS: {code: string; test: RegExp; what: string; fix: string; exit?: number}[] = [
  {
    code: 'AWS_NO_ORGANIZATION',
    test: /^AWSOrganizationsNotInUseException$/,
    what: 'the account infra acts as is not in an AWS Organization',
    fix: 'use the credentials of the organization\'s management account (--profile), whose id the estate names',
  },
  {
    code: 'AWS_CREDENTIALS_EXPIRED',
    test: /^(ExpiredToken(Exception)?|RequestExpired|InvalidClientTokenId|UnrecognizedClientException|InvalidSignatureException|SignatureDoesNotMatch)$/,
    what: 'AWS did not accept the credentials',
    fix: 'refresh them (aws sso login, or new keys) and run again; check the clock if it says the request expired',
  },
  {
    code: 'AWS_ACCESS_DENIED',
    test: /^(AccessDenied(Exception)?|UnauthorizedOperation|AuthorizationError|AuthorizationErrorException|NotAuthorized(Exception)?|Forbidden|ForbiddenException|UnauthorizedException)$/,
    what: 'AWS denied the call',
    fix: 'the identity infra acts as (the role it assumes in the target account, or your own for the management account) needs the permission AWS names; an SCP or a permission boundary may deny it too',
  },
  {
    code: 'AWS_THROTTLED',
    test: /^(Throttling(Exception)?|ThrottledException|TooManyRequests(Exception)?|RequestLimitExceeded|RequestThrottled(Exception)?|SlowDown|ProvisionedThroughputExceededException|PriorRequestNotComplete)$/,
    what: 'AWS is throttling the calls',
    fix: 'wait a minute and run the same command again (the SDK already retried with backoff)',
  },
  {
    code: 'AWS_LIMIT_EXCEEDED',
    test: /(LimitExceeded|QuotaExceeded|ServiceQuotaExceeded|TooManyAccounts|Insufficient\w*Capacity)/,
    what: 'an AWS quota or limit is reached',
    fix: 'free some of what counts against it, or raise the quota in Service Quotas (or a support case), then run again',
  },
  {
    code: 'AWS_NOT_FOUND',
    test: /(NotFound|NoSuch|DoesNotExist|^ResourceNotFound|^AccountAlreadyClosed)/,
    what: 'AWS has no such resource',
    fix: 'check the name; when it came from the estate or an /infra/<env>/ parameter, the resource may have been deleted or not provisioned yet (infra provision --env ENV)',
  },
  {
    code: 'AWS_CONFLICT',
    test: /^(ConcurrentModificationException|ConflictException|ResourceInUseException|OperationAbortedException|IncorrectState\w*|InvalidState\w*|ResourceConflict\w*|FinalizingOrganizationException|DuplicateAccountException|\w*AlreadyExists\w*|EntityAlreadyExists|ConstraintViolationException)$/,
    what: 'AWS refused the change in the resource\'s current state',
    fix: 'another change may be under way or the resource is not in a state that allows this: wait, check it, and run again',
  },
  {
    code: 'AWS_VALIDATION',
    test: /^(Validation(Exception|Error)?|InvalidParameter\w*|InvalidInput(Exception)?|InvalidRequest(Exception)?|MalformedPolicyDocument\w*|MissingParameter|InvalidAction|InvalidDocument\w*|BadRequest(Exception)?|InvalidArgument\w*|Invalid\w*)$/,
    what: 'AWS rejected a value in the request',
    fix: 'check the value AWS names (from your flags, the estate or a parameter); if they are right, this is a bug in infra: report it',
  },
]

/**
 * What a status alone says, for answers without a body: S3's HEAD requests (HeadBucket,
 * HeadObject) "return a generic code, such as 400 Bad Request, 403 Forbidden, 404 Not Found ...
 * It's not possible to retrieve the exact exception" (the note in @aws-sdk/client-s3
 * dist-types/commands/HeadObjectCommand.d.ts), and the SDK then names the error "Unknown" ("NotFound"
 * for a 404), its message "UnknownError". S3
 * throttles with 503 Slow Down (its error list: SlowDown, 503), so a bodiless 503 is read as that.
 */
const BODILESS_STATUS: Record<number, [string, string]> = {
  400: ['BadRequest', 'Bad Request'],
  403: ['Forbidden', 'Forbidden'],
  404: ['NotFound', 'Not Found'],
  429: ['TooManyRequests', 'Too Many Requests'],
  503: ['SlowDown', 'Slow Down'],
}

/**
 * An AWS refusal (an SDK service exception) as one line with a code and a fix, by its kind:
 * credentials, access denied, throttled, quota, not found, conflict, validation; AWS's own
 * faults (5xx) as AWS_SERVER_ERROR. Anything else AWS refused is AWS_REFUSED: never INTERNAL_ERROR,
 * which is kept for infra's own bugs. Undefined for errors that are not AWS's answers.
 */
export function fromAwsError(error: unknown): InfraError | undefined {
  if (isInfraError(error) || !isAwsServiceError(error)) return undefined
  const status = error.$metadata.httpStatusCode ?? 0
  // The names the SDK gives an answer that carries no error code (a named exception with an empty message is not one).
  const bodiless = (error.name === 'Unknown' || (error.name === 'NotFound' && status === 404 && error.message === 'UnknownError')) && BODILESS_STATUS[status]
  const said = bodiless
    ? `HTTP ${status} ${bodiless[1]}, with no error code in the answer`
    : `${(error.message ?? '').split('\n')[0] || 'no message'} (${error.name}${error.Reason ? `: ${error.Reason}` : ''})`
  const details = {awsError: error.name, reason: error.Reason ?? null, httpStatus: error.$metadata.httpStatusCode ?? null, requestId: error.$metadata.requestId ?? null}
  // Organizations says which limit in a ConstraintViolationException's Reason (CLOSE_ACCOUNT_QUOTA_EXCEEDED...).
  const name = /QUOTA_EXCEEDED|LIMIT_EXCEEDED/.test(error.Reason ?? '') ? 'LimitExceeded' : bodiless ? bodiless[0] : error.name
  const refusal = AWS_REFUSALS.find((kind) => kind.test.test(name))
  if (refusal) return new InfraError(`${refusal.what}: ${said}`, refusal.fix, refusal.code, refusal.exit ?? EXIT.failure, details)
  if (error.$fault === 'server' || status >= 500) {
    return new InfraError(`AWS failed to answer: ${said}`, 'an error on AWS\'s side: run the same command again in a minute; if it persists, check the AWS Health Dashboard', 'AWS_SERVER_ERROR', EXIT.failure, details)
  }
  return new InfraError(`AWS refused the call: ${said}`, 'see AWS\'s message; INFRA_DEBUG=1 shows where infra made the call', 'AWS_REFUSED', EXIT.failure, details)
}
