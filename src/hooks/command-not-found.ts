import type {Hook} from '@oclif/core'

import {canPrompt} from '../prompts/interaction.js'

/** Edit distance between two command ids, for "did you mean". */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({length: b.length + 1}, (_, index) => index)
  for (let i = 1; i <= a.length; i++) {
    const current = [i]
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1))
    }
    previous = current
  }
  return previous[b.length]
}

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
  if (suggestion && canPrompt()) {
    const {confirm} = await import('@inquirer/prompts')
    this.warn(`${readable(options.id)} is not an ${options.config.bin} command.`)
    if (await confirm({message: `Did you mean ${readable(suggestion)}?`, default: true}).catch(() => false)) {
      const argv = options.argv?.length ? options.argv : options.id.split(':').slice(suggestion.split(':').length)
      process.exitCode = undefined
      return options.config.runCommand(suggestion, argv)
    }
  }
  const hint = suggestion ? ` Did you mean "${options.config.bin} ${readable(suggestion)}"?` : ''
  this.error(`"${readable(options.id)}" is not an ${options.config.bin} command.${hint} Run "${options.config.bin} --help" for the list.`, {exit: 127})
}

export default hook
