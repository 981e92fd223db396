import {EXIT, InfraError} from '../errors.js'

/** Exit code of a refused or declined confirmation: nothing was changed, on purpose. */
export const CONFIRMATION_EXIT_CODE = EXIT.declined

/** Whether a person can answer a prompt: a TTY on both ends and not running in CI. */
export function canPrompt(env = process.env, stdin = process.stdin, stdout = process.stdout): boolean {
  if (env.CI && env.CI !== 'false' && env.CI !== '0') return false
  return Boolean(stdin.isTTY && stdout.isTTY)
}

export interface ConfirmRequest {
  /** What will happen, in the prompt and in a refusal: "destroy 12 changes to dev-estate in account 1111". */
  action: string
  /**
   * A protected target or a destructive action: the target's exact name must be given, typed at
   * the prompt or with --confirm NAME beside --yes. --yes alone never stands in for it.
   */
  typeToConfirm?: string
  /** --yes: the caller already agreed to an ordinary change. */
  yes: boolean
  /** --confirm NAME: the name given on the command line, for runs with no terminal. */
  confirmName?: string
  /** The flag that carries confirmName, for messages (default --confirm). */
  confirmFlag?: string
  interactive: boolean
}

/**
 * Asks before something changes; refuses with a clear line (exit 4) when no person can answer
 * or the name given is not the target's. Returns false when the person declines or types
 * another name; the caller stops and exits with CONFIRMATION_EXIT_CODE.
 * Shared by every command that changes an account: provision, offboard-client.
 */
export async function confirmChange(request: ConfirmRequest): Promise<boolean> {
  const name = request.typeToConfirm
  const flag = request.confirmFlag ?? '--confirm'
  if (name === undefined) {
    if (request.yes) return true
    if (!request.interactive) throw refusal(`refusing to ${request.action} without confirmation: no terminal to ask on (or CI is set)`, 'review the plan, then run again with --yes')
    const {confirm} = await import('@inquirer/prompts')
    return confirm({message: `${request.action[0].toUpperCase()}${request.action.slice(1)}?`, default: false}).catch(cancelled(request.action))
  }
  if (request.confirmName !== undefined) {
    if (request.confirmName !== name) {
      throw refusal(`refusing to ${request.action}: ${flag} "${request.confirmName}" is not the target's name`, `pass ${flag} ${name} (exactly) to change ${name}`, 'CONFIRMATION_REFUSED')
    }
    if (request.yes) return true
  }
  if (!request.interactive) {
    throw refusal(
      `refusing to ${request.action} without the target named: no terminal to type "${name}" on (or CI is set)`,
      `review the plan, then run again with --yes ${flag} ${name}`,
    )
  }
  const {input} = await import('@inquirer/prompts')
  const typed = await input({message: `This will ${request.action}. Type "${name}" to continue:`}).catch(cancelled(request.action))
  return typed.trim() === name
}

/**
 * Refuses at once a confirmation that cannot be given, before anything is planned or any AWS call
 * is made: no terminal and no --yes, or a name to type and no (or another) --confirm. Where a
 * person can answer, or the flags already carry the answer, it returns and confirmChange asks later.
 */
export function confirmableWithoutAsking(request: ConfirmRequest & {seePlan: string}): void {
  const name = request.typeToConfirm
  const flag = request.confirmFlag ?? '--confirm'
  const see = request.seePlan
  if (name !== undefined && request.confirmName !== undefined && request.confirmName !== name) {
    throw refusal(`refusing to ${request.action}: ${flag} "${request.confirmName}" is not the target's name; nothing was planned`, `pass ${flag} ${name} (exactly) to change ${name}`, 'CONFIRMATION_REFUSED')
  }
  if (request.interactive) return
  if (name === undefined && !request.yes) {
    throw refusal(`refusing to ${request.action} without confirmation: no terminal to ask on (or CI is set); nothing was planned`, `${see}, then run again with --yes`)
  }
  if (name !== undefined && !(request.yes && request.confirmName === name)) {
    throw refusal(`refusing to ${request.action} without the target named: no terminal to type "${name}" on (or CI is set); nothing was planned`, `${see}, then run again with --yes ${flag} ${name}`)
  }
}

/** Ctrl-C at a prompt (inquirer's ExitPromptError): an interrupt, exit 130, nothing applied. */
function cancelled(action: string): (error: unknown) => never {
  return (error) => {
    if ((error as Error)?.name !== 'ExitPromptError') throw error
    throw new InfraError(`interrupted at the prompt: did not ${action}`, 'run again when ready', 'INTERRUPTED', 130)
  }
}

function refusal(message: string, fix: string, code = 'CONFIRMATION_REQUIRED'): InfraError {
  return new InfraError(message, fix, code, CONFIRMATION_EXIT_CODE)
}

/** Reads a value a person must give when a flag is missing, or names the flag when no one can. */
export async function requireValue(value: string | undefined, flag: string, message: string, interactive: boolean): Promise<string> {
  if (value) return value
  if (!interactive) throw new InfraError(`missing ${flag}`, `pass ${flag} (no terminal to ask on)`, 'MISSING_FLAG', EXIT.usage)
  const {input} = await import('@inquirer/prompts')
  return input({message, validate: (answer) => (answer.trim() ? true : `${flag} is required`)})
}

/**
 * A value from a known set (an environment, a client): the flag's, else picked from the set at a
 * terminal (arrow keys, type to filter), else one error naming the flag. A picker cannot take a
 * name that names nothing, as free text could.
 */
export async function requireChoice(value: string | undefined, flag: string, message: string, choices: {name: string; description?: string}[], interactive: boolean): Promise<string> {
  if (value) return value
  if (!interactive) throw new InfraError(`missing ${flag}`, `pass ${flag} ${choices.map((choice) => choice.name).join('|')} (no terminal to ask on)`, 'MISSING_FLAG', EXIT.usage)
  const {select} = await import('@inquirer/prompts')
  return select({message, choices: choices.map((choice) => ({name: choice.description ? `${choice.name}  ${choice.description}` : choice.name, value: choice.name})), pageSize: 15})
}
