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
