import {spawn} from 'node:child_process'

import {EXIT, InfraError} from '../errors.js'
import type {SsmContext} from './context.js'
import {type PickTarget, type SessionTarget, findBastion, findInstance} from './discovery.js'
import {type SessionManagerPlugin, checkPluginSupports, pluginLaunch} from './plugin.js'
import {CommandOutputFilter, exitCodeOf} from './command-status.js'
import {exitOf, stopChild} from './process.js'
import type {OpenSession, StartSessionRequest} from './session-api.js'

/** The Session Manager preferences document the stacks create; StartSession uses it when no document is named. */
export const SHELL_DOCUMENT = 'SSM-SessionManagerRunShell'
/** One command, no pseudo-terminal, output streamed back: for scripts. */
export const NON_INTERACTIVE_COMMAND_DOCUMENT = 'AWS-StartNonInteractiveCommand'
/** One command in a pseudo-terminal (full-screen tools, prompts). */
export const INTERACTIVE_COMMAND_DOCUMENT = 'AWS-StartInteractiveCommand'
export const MAX_REASON_LENGTH = 256
/** The first SSM Agent that reports a non-interactive command's status (separateOutputStream; its RELEASENOTES.md). */
export const MIN_AGENT_FOR_STATUS = '3.1.1511.0'

export interface SessionPlan {
  environment: string
  account: string
  region: string
  target: SessionTarget
  /** What StartSession is sent, exactly; the plugin gets it too. */
  request: StartSessionRequest
  document: string
}

/** Finds the target ("bastion", an instance id or a Name tag) and builds the StartSession request. */
export async function planSession(
  ctx: SsmContext,
  options: {target: string; reason: string; command?: string; tty?: boolean; pick?: PickTarget},
): Promise<SessionPlan> {
  const reason = checkReason(options.reason)
  const target =
    options.target === 'bastion' ? await findBastion(ctx, ctx.env.name, options.pick) : await findInstance(ctx, options.target, ctx.env.name, options.pick)
  const request: StartSessionRequest = {Target: target.instanceId, Reason: reason}
  let document = SHELL_DOCUMENT
  if (options.command !== undefined) {
    if (!options.command.trim()) throw new InfraError('--command is empty', 'give the command to run, e.g. --command "systemctl status amazon-ssm-agent"', 'BAD_FLAG', EXIT.usage)
    document = options.tty ? INTERACTIVE_COMMAND_DOCUMENT : NON_INTERACTIVE_COMMAND_DOCUMENT
    request.DocumentName = document
    // Without a terminal the agent is asked to report the command's status (see command-status.ts).
    request.Parameters = options.tty ? {command: [options.command]} : {command: [options.command], separateOutputStream: ['true']}
  }
  return {environment: ctx.env.name, account: ctx.env.accountId, region: ctx.region, target, request, document}
}

/** A reason CloudTrail can carry: StartSession takes 1 to 256 characters. */
export function checkReason(reason: string | undefined): string {
  const trimmed = (reason ?? '').trim()
  if (!trimmed) throw new InfraError('a session needs a reason', 'pass --reason "what you are doing" (it is recorded in CloudTrail)', 'REASON_REQUIRED', EXIT.usage)
  if (trimmed.length > MAX_REASON_LENGTH) {
    throw new InfraError(`the reason is ${trimmed.length} characters; StartSession takes at most ${MAX_REASON_LENGTH}`, 'shorten --reason', 'REASON_TOO_LONG', EXIT.usage)
  }
  return trimmed
}

export interface SessionResult {
  sessionId: string
  target: string
  document: string
  exitCode: number
  /** With --command (no --tty): the status the SSM Agent reported for the command. */
  commandStatus?: number
  /** True when a signal (Ctrl-C without a terminal, SIGTERM, SIGHUP) ended it. */
  interrupted: boolean
}

/**
 * Starts the session and hands it to the plugin; always ends it in AWS afterwards (normal exit,
 * error or signal), so nothing stays open on the agent until its idle timeout.
 * At a terminal the plugin shares infra's process group and reads the keyboard itself (Ctrl-C
 * goes to the remote shell, as with the AWS CLI); otherwise it runs in a group of its own that
 * `signal` ends as a whole.
 */
export async function runSession(
  ctx: SsmContext,
  plugin: SessionManagerPlugin,
  plan: SessionPlan,
  options: {terminal: boolean; signal?: AbortSignal; stdoutToStderr?: boolean},
): Promise<SessionResult> {
  checkPluginSupports(plugin, plan.document)
  const credentials = await ctx.pluginCredentials()
  if (options.signal?.aborted) throw new InfraError('interrupted before the session started', undefined, 'INTERRUPTED', 130)
  const handle = await ctx.sessions.startSession(plan.request)
  let interrupted = false
  try {
    const launch = pluginLaunch({plugin, handle, region: ctx.region, request: plan.request, endpoint: ctx.sessions.endpoint, profile: ctx.profile, credentials})
    const reportsStatus = plan.document === NON_INTERACTIVE_COMMAND_DOCUMENT
    const stdout = options.stdoutToStderr ? process.stderr : process.stdout
    const child = spawn(launch.file, launch.args, {env: launch.env, stdio: ['inherit', reportsStatus ? 'pipe' : options.stdoutToStderr ? 2 : 'inherit', 'inherit'], detached: !options.terminal})
    const filter = reportsStatus ? new CommandOutputFilter(handle.SessionId, (bytes) => stdout.write(bytes)) : undefined
    const relayed = filter && child.stdout ? relayOutput(child.stdout, filter) : Promise.resolve()
    const spawned = new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve)
      child.once('error', (error) => reject(new InfraError(`cannot start ${launch.file}: ${error.message}`, 'check the plugin install', 'PLUGIN_NOT_FOUND')))
    })
    await spawned
    let stopping: Promise<void> | undefined
    const onAbort = () => {
      interrupted = true
      stopping ??= stopChild(child, {group: !options.terminal})
    }
    options.signal?.addEventListener('abort', onAbort, {once: true})
    if (options.signal?.aborted) onAbort()
    const exitCode = await exitOf(child)
    await relayed
    options.signal?.removeEventListener('abort', onAbort)
    await stopping
    const result = {sessionId: handle.SessionId, target: plan.target.instanceId, document: plan.document, exitCode: interrupted ? 130 : exitCode, interrupted}
    const commandStatus = filter?.end()
    if (!filter || interrupted || exitCode !== 0) return result
    if (commandStatus === undefined) {
      throw new InfraError(
        `the SSM Agent on ${plan.target.instanceId} did not report the command's exit status (session ${handle.SessionId})`,
        `update the SSM Agent there to ${MIN_AGENT_FOR_STATUS} or later (separateOutputStream); the output above is all the command printed`,
        'EXIT_STATUS_UNKNOWN',
      )
    }
    return {...result, commandStatus, exitCode: exitCodeOf(commandStatus)}
  } finally {
    await ctx.sessions.terminateSession(handle.SessionId).catch(() => undefined)
  }
}

/** Relays the plugin's stdout through the filter; resolves when it has closed. */
function relayOutput(stream: NodeJS.ReadableStream, filter: CommandOutputFilter): Promise<void> {
  return new Promise((resolve) => {
    stream.on('data', (chunk: Buffer) => filter.push(chunk))
    stream.once('close', resolve)
    stream.once('end', resolve)
    stream.once('error', () => resolve())
  })
}

/** The caller's active sessions in the account (Owner = the identity infra acts as there). */
export async function listSessions(ctx: SsmContext, owner?: string): Promise<OpenSession[]> {
  return ctx.sessions.activeSessions(owner)
}
