import {EXIT, InfraError} from '../errors.js'

/** Whether a person can answer a prompt: a TTY on both ends and not running in CI. */
export function canPrompt(env = process.env, stdin = process.stdin, stdout = process.stdout): boolean {
  if (env.CI && env.CI !== 'false' && env.CI !== '0') return false
  return Boolean(stdin.isTTY && stdout.isTTY)
}

export interface ConfirmRequest {
  /** What will happen, shown in the refusal when no one can answer. */
  action: string
  /** A protected target needs its name typed, not a yes. */
  typeToConfirm?: string
  /** --yes: the caller already agreed. */
  yes: boolean
  interactive: boolean
}

/** Asks before something changes; refuses with a clear line when no person can answer. */
export async function confirmChange(request: ConfirmRequest): Promise<boolean> {
  if (request.yes) return true
  if (!request.interactive) {
    throw new InfraError(
      `refusing to ${request.action} without confirmation: no terminal to ask on (or CI is set)`,
      'review the plan, then run again with --yes',
      'CONFIRMATION_REQUIRED',
    )
  }
  const {confirm, input} = await import('@inquirer/prompts')
  if (request.typeToConfirm) {
    const typed = await input({message: `This will ${request.action}. Type "${request.typeToConfirm}" to continue:`})
    return typed.trim() === request.typeToConfirm
  }
  return confirm({message: `${request.action[0].toUpperCase()}${request.action.slice(1)}?`, default: false})
}

/** Reads a value a person must give when a flag is missing, or names the flag when no one can. */
export async function requireValue(value: string | undefined, flag: string, message: string, interactive: boolean): Promise<string> {
  if (value) return value
  if (!interactive) throw new InfraError(`missing ${flag}`, `pass ${flag} (no terminal to ask on)`, 'MISSING_FLAG', EXIT.usage)
  const {input} = await import('@inquirer/prompts')
  return input({message, validate: (answer) => (answer.trim() ? true : `${flag} is required`)})
}
