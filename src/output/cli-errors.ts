import {EXIT, InfraError, fromAwsError, fromSystemError, isInfraError} from '../errors.js'
import {closest, nearestChoice} from './suggest.js'

/** What a usage error may say about the command: its name, arguments and flags (never values). */
export interface CommandShape {
  bin: string
  id: string
  args: Record<string, {description?: string; required?: boolean}>
  flags: Record<string, {char?: string; allowNo?: boolean; options?: readonly string[]; type?: string; hidden?: boolean}>
}

// ANSI colour codes oclif puts in some messages.
// eslint-disable-next-line no-control-regex
const stripAnsi = (text: string) => text.replace(/\u001B\[[0-9;]*m/g, '')

function commandLine(command: CommandShape): string {
  return `${command.bin} ${command.id.replaceAll(':', ' ')}`
}

function usage(command: CommandShape): string {
  const args = Object.entries(command.args).map(([name, arg]) => (arg.required ? name.toUpperCase() : `[${name.toUpperCase()}]`))
  return [commandLine(command), ...args].join(' ')
}

const seeHelp = (command: CommandShape) => `see "${commandLine(command)} --help"`

function flagWords(command: CommandShape): string[] {
  return Object.entries(command.flags)
    .filter(([, flag]) => !flag.hidden)
    .flatMap(([name, flag]) => [`--${name}`, ...(flag.allowNo ? [`--no-${name}`] : []), ...(flag.char ? [`-${flag.char}`] : [])])
    .concat(['--help'])
}

/** Drops what the user typed after a flag name ("--token=abc" -> "--token"), so no value is echoed. */
const flagName = (token: string) => token.split('=')[0]

/** Reasons of oclif's flag validation, with any value it quoted taken out. */
function validationReasons(message: string): string[] {
  return stripAnsi(message)
    .split('\n')
    .slice(1)
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('See more help'))
    .map((line) =>
      line
        .replace(/(--[\w-]+)=\S+/g, '$1')
        .replace(/^Missing required flag ([\w-]+)$/, 'missing --$1')
        .replace(/^Exactly one of the following must be provided: (.*)$/, 'pass exactly one of $1')
        .replace(/^At least one of the following must be provided: (.*)$/, 'pass at least one of $1')
        .replace(/^(--[\w-]+) cannot also be provided when using (--[\w-]+)$/, '$1 and $2 cannot be used together'),
    )
    // "--a and --b" and "--b and --a" are one conflict.
    .filter((line, index, all) => {
      const pair = /^(--[\w-]+) and (--[\w-]+) cannot/.exec(line)
      return !pair || !all.slice(0, index).includes(`${pair[2]} and ${pair[1]} cannot be used together`)
    })
    .filter((line, index, all) => all.indexOf(line) === index)
}

/**
 * An error thrown while oclif parsed the command line, as a usage error (exit 2) that names the
 * argument or flag and the fix; values the user typed are never repeated (they may be secrets).
 */
export function usageError(error: unknown, command: CommandShape): InfraError {
  if (isInfraError(error)) return error
  const err = error as Error & {args?: {name: string; description?: string}[] | string[]; flags?: string[]}
  const message = stripAnsi(err.message ?? String(error))
  const help = seeHelp(command)
  switch (err.constructor?.name) {
    case 'RequiredArgsError': {
      const names = ((err.args ?? []) as {name: string; description?: string}[]).map((arg) => `${arg.name.toUpperCase()}${arg.description ? ` (${arg.description})` : ''}`)
      return new InfraError(`missing ${names.join(', ') || 'an argument'}`, `run "${usage(command)}"; ${help}`, 'MISSING_ARGUMENT', EXIT.usage)
    }
    case 'UnexpectedArgsError': {
      const count = (err.args ?? []).length
      return new InfraError(`${count} unexpected argument${count === 1 ? '' : 's'}`, `run "${usage(command)}"; quote values that contain spaces; ${help}`, 'UNEXPECTED_ARGUMENT', EXIT.usage)
    }
    case 'NonExistentFlagsError': {
      const unknown = (err.flags ?? []).map(flagName)
      const suggestion = unknown.length === 1 ? closest(unknown[0], flagWords(command)) : undefined
      return new InfraError(
        `unknown flag${unknown.length === 1 ? '' : 's'} ${unknown.join(', ')}`,
        suggestion ? `did you mean ${suggestion}? Or ${help}` : help,
        'UNKNOWN_FLAG',
        EXIT.usage,
      )
    }
    case 'FlagInvalidOptionError': {
      const name = /Expected (--[\w-]+)=/.exec(message)?.[1] ?? 'a flag'
      const options = /to be one of: (.*)$/m.exec(message)?.[1] ?? ''
      // The typed value picks the suggestion but is never repeated (it may be a secret).
      const typed = /Expected --[\w-]+=(.*) to be one of:/.exec(message)?.[1] ?? ''
      const meant = nearestChoice(typed, options.split(', '))
      return new InfraError(`${name} must be one of: ${options}`, meant ? `did you mean ${name} ${meant}? Or ${help}` : `pass one of them, e.g. ${name} ${options.split(', ')[0]}; ${help}`, 'INVALID_FLAG_VALUE', EXIT.usage)
    }
    case 'ArgInvalidOptionError': {
      const options = /to be one of: (.*)$/m.exec(message)?.[1] ?? ''
      return new InfraError(`the argument must be one of: ${options}`, `run "${usage(command)}"; ${help}`, 'INVALID_ARGUMENT', EXIT.usage)
    }
    case 'FailedFlagValidationError':
    case 'ViolatedFlagConstraintError': {
      const reasons = validationReasons(message)
      const missing = reasons.every((reason) => reason.startsWith('missing --'))
      const oneOf = reasons.every((reason) => reason.startsWith('missing --') || reason.startsWith('pass '))
      return new InfraError(
        reasons.join('; ') || 'the flags do not fit together',
        missing ? `pass ${reasons.map((reason) => reason.replace('missing ', '')).join(' and ')}; ${help}` : help,
        oneOf ? 'MISSING_FLAG' : 'FLAG_CONFLICT',
        EXIT.usage,
      )
    }
    default: {
      // Flag parse functions (integers, URLs) and oclif's own checks: "Parsing --limit \n\tExpected
      // an integer but received: abc", "Flag --x expects a value".
      const parsing = /^Parsing (--[\w-]+)\s*\n\t(.*)$/m.exec(message)
      if (parsing) {
        const cause = parsing[2].replace(/\s*but received:.*$/, '').replace(/^Expected/, 'expected')
        return new InfraError(`${parsing[1]}: ${cause}`, `pass a valid value to ${parsing[1]}; ${help}`, 'INVALID_FLAG_VALUE', EXIT.usage)
      }
      const first = message.split('\n')[0].replace(/(--[\w-]+)=\S+/g, '$1')
      return new InfraError(first.replace(/^Flag /, ''), help, 'USAGE', EXIT.usage)
    }
  }
}

/**
 * Any error as an InfraError: ours as they are, Node's file-system, network and prompt errors as
 * one line with the path or address, AWS's refusals by their kind, oclif's own errors by their message. Anything else is a bug:
 * its first line, a code that says so, and the stack only on request (INFRA_DEBUG=1).
 */
export function toInfraError(error: unknown): InfraError {
  if (isInfraError(error)) return error
  const system = fromSystemError(error) ?? fromAwsError(error)
  if (system) return system
  const err = error as {message?: string; oclif?: {exit?: number}; name?: string}
  const message = stripAnsi(String(err?.message ?? error)).split('\n')[0]
  if (err && typeof err === 'object' && 'parse' in err) {
    // A parse error of a command that is not ours (a plugin's): a usage error, values taken out.
    return new InfraError(message.replace(/(--[\w-]+)=\S+/g, '$1').replace(/^Nonexistent flags?/, 'unknown flags'), 'see the command\'s --help', 'USAGE', err.oclif?.exit ?? EXIT.usage)
  }
  if (err?.oclif?.exit !== undefined) {
    // this.error() in a command: a message meant for the user, with its exit code.
    return new InfraError(message, undefined, 'COMMAND_FAILED', err.oclif.exit)
  }
  return new InfraError(message || 'unexpected error', 'this is a bug in infra: report it with the command you ran (INFRA_DEBUG=1 shows the stack)', 'INTERNAL_ERROR', EXIT.failure)
}

/** oclif's ExitError (this.exit(n)): not an error to print, only an exit code. */
export function isExitRequest(error: unknown): error is {oclif: {exit: number}} {
  return (error as {code?: string})?.code === 'EEXIT' && typeof (error as {oclif?: {exit?: number}}).oclif?.exit === 'number'
}

/** The error as a person reads it (one line, the fix in it) or as the --json shape. */
export function formatError(error: InfraError, json: boolean): string {
  return json ? JSON.stringify(error.toJson(), null, 2) : `Error: ${error.describe()}`
}

/**
 * What bin/run.js and bin/dev.js do with an error from before a command ran (an unknown command, a
 * broken install) or an exit request: the same shape and exit codes as the commands' own errors.
 */
export function reportOutsideCommand(error: unknown, argv: string[]): void {
  if (isExitRequest(error)) {
    process.exitCode = error.oclif.exit
    return
  }
  const infraError = toInfraError(error)
  const json = argv.includes('--json')
  ;(json ? process.stdout : process.stderr).write(`${formatError(infraError, json)}\n`)
  process.exitCode = infraError.exitCode
}
