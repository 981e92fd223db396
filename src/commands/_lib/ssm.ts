import {Flags} from '@oclif/core'

import {findTarget} from '../../estate/load.js'
import type {Estate} from '../../estate/model.js'
import {EXIT, InfraError} from '../../errors.js'
import {type SsmContext, ssmContext} from '../../ssm/context.js'
import {type PickTarget, describeTarget} from '../../ssm/discovery.js'
import {stopController} from '../../signals.js'
import {awsFlags} from './base-command.js'

/**
 * The role session name's purpose for session, tunnel and session list alike: the session Owner
 * AWS records is the assumed-role ARN with this name, so `session list` finds what the others opened.
 */
export const SESSION_PURPOSE = 'session'

/** Flags of every command that opens a Session Manager session. */
export const sessionFlags = {
  ...awsFlags,
  env: Flags.string({char: 'e', description: 'environment or client whose account the target is in', required: true}),
  reason: Flags.string({description: 'why you open this session; sent as StartSession\'s Reason and recorded in CloudTrail (asked at a terminal when missing)'}),
  plugin: Flags.string({description: 'path of session-manager-plugin', env: 'INFRA_SESSION_MANAGER_PLUGIN', helpGroup: 'AWS'}),
  'dry-run': Flags.boolean({description: 'print the target, document and parameters; start nothing'}),
}

export async function commandSsmContext(estate: Estate, flags: {env: string; profile?: string; region?: string}, purpose: string): Promise<SsmContext> {
  const target = findTarget(estate, flags.env)
  return ssmContext({estate, target: flags.region ? {...target, region: flags.region} : target, profile: flags.profile, purpose})
}

/** A picker at a terminal (inquirer), or nothing when no one can choose. */
export function targetPicker(interactive: boolean): PickTarget | undefined {
  if (!interactive) return undefined
  return async (candidates, question) => {
    const {select} = await import('@inquirer/prompts')
    return select({message: question, choices: candidates.map((candidate) => ({name: describeTarget(candidate), value: candidate}))})
  }
}

/** The reason: --reason, else asked at a terminal, else one error naming the flag. */
export async function sessionReason(flag: string | undefined, interactive: boolean): Promise<string> {
  if (flag !== undefined) return flag
  if (!interactive) throw new InfraError('a session needs a reason', 'pass --reason "what you are doing" (no terminal to ask on); it is recorded in CloudTrail', 'REASON_REQUIRED', EXIT.usage)
  const {input} = await import('@inquirer/prompts')
  return input({message: 'Reason for this session (recorded in CloudTrail):', validate: (answer) => (answer.trim() ? true : 'a reason is required')})
}

/**
 * Aborts on SIGTERM and SIGHUP, and on SIGINT unless a person's terminal owns Ctrl-C (then it
 * goes to the remote side or to psql, as with the AWS CLI, and infra ignores it).
 */
export function stopSignal(options: {ctrlCGoesToChild: boolean}): {signal: AbortSignal; dispose(): void} {
  return stopController({ignore: options.ctrlCGoesToChild ? ['SIGINT'] : []})
}
