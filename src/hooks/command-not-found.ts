import type {Hook} from '@oclif/core'

import {EXIT, InfraError} from '../errors.js'
import {editDistance} from '../output/suggest.js'
import {canPrompt} from '../prompts/interaction.js'

export function closestCommand(id: string, commandIds: string[]): string | undefined {
  return commandIds
    .map((candidate) => ({candidate, distance: editDistance(id, candidate)}))
    .sort((a, b) => a.distance - b.distance)[0]?.candidate
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
