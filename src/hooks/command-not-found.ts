import type {Hook} from '@oclif/core'

import {EXIT, InfraError} from '../errors.js'
import {closest} from '../output/suggest.js'
import {canPrompt} from '../prompts/interaction.js'

/**
 * The nearest command id, only when it is near enough to be a slip of the keyboard: an unrelated
 * word must not be answered with an offer to run some other command.
 */
export function closestCommand(id: string, commandIds: string[]): string | undefined {
  return closest(id, commandIds)
}

/**
 * "Did you mean": asks and runs the suggestion when a person is at a terminal; otherwise (scripts,
 * CI) names the suggestion in the error, which @oclif/plugin-not-found does not do.
 */
const hook: Hook.CommandNotFound = async function (options) {
  const commandIds = options.config.commandIDs.filter((id) => !options.config.findCommand(id)?.hidden)
  const suggestion = closestCommand(options.id, commandIds)
  const readable = (id: string) => id.replaceAll(':', ' ')
  if (suggestion && canPrompt() && !process.argv.includes('--json')) {
    const {confirm} = await import('@inquirer/prompts')
    this.warn(`${readable(options.id)} is not an ${options.config.bin} command.`)
    if (await confirm({message: `Did you mean ${readable(suggestion)}?`, default: true}).catch(() => false)) {
      const argv = options.argv?.length ? options.argv : options.id.split(':').slice(suggestion.split(':').length)
      process.exitCode = undefined
      return options.config.runCommand(suggestion, argv)
    }
  }
  const list = `run "${options.config.bin} --help" for the list`
  throw new InfraError(
    `"${readable(options.id)}" is not an ${options.config.bin} command`,
    suggestion ? `did you mean "${options.config.bin} ${readable(suggestion)}"? Or ${list}` : list,
    'UNKNOWN_COMMAND',
    EXIT.notFound,
  )
}

export default hook
