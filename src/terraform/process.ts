import {spawn} from 'node:child_process'
import {existsSync, readFileSync, readdirSync} from 'node:fs'

import {type StopSignal, onStopSignal} from '../signals.js'

export interface GroupRunOptions {
  cwd: string
  env: NodeJS.ProcessEnv
  /** Stops the run (SIGINT to the group, SIGKILL after graceMs) when it takes longer. */
  timeoutMs?: number
  /** How long a stopped run may take to finish before its group is killed. */
  graceMs?: number
  onLine?: (line: string) => void
  /** The process whose stop signals (SIGINT, SIGTERM, SIGHUP) are forwarded (the CLI itself); tests pass their own emitter. */
  signals?: NodeJS.EventEmitter
}

export interface GroupRunResult {
  stdout: string
  stderr: string
  exitCode: number | null
  /** The process group terraform ran in (its pid). */
  pgid?: number
  /** Set when a stop signal reached infra while the run was going; forced when a second one did. */
  interrupted?: {signal: StopSignal; forced: boolean}
  timedOut: boolean
  /** The binary could not be started at all. */
  spawnError?: Error
}

/**
 * Runs a child in a process group of its own (terraform and its provider plugins), so a
 * terminal's Ctrl-C reaches infra alone and infra decides what the group gets:
 * the first stop signal (SIGINT, SIGTERM, or SIGHUP from a closed terminal) is forwarded once as SIGINT (terraform then stops gracefully,
 * writes its state and releases its lock), a second one SIGKILLs the group. When the child has
 * exited, whatever is left of its group (a provider plugin) is given graceMs and then killed,
 * so no process outlives the run.
 */
export function runInOwnGroup(binary: string, args: string[], options: GroupRunOptions): Promise<GroupRunResult> {
  const signals = options.signals ?? process
  const graceMs = options.graceMs ?? 15_000
  return new Promise((resolve) => {
    const child = spawn(binary, args, {cwd: options.cwd, env: options.env, detached: true, stdio: ['ignore', 'pipe', 'pipe']})
    let stdout = ''
    let stderr = ''
    let pending = ''
    let interrupted: GroupRunResult['interrupted']
    let timedOut = false
    let forceTimer: NodeJS.Timeout | undefined
    const pgid = child.pid
    const signalGroup = (signal: NodeJS.Signals) => {
      if (pgid === undefined) return
      try {
        process.kill(-pgid, signal)
      } catch {
        // The group is gone already.
      }
    }
    const stopGracefully = () => {
      signalGroup('SIGINT')
      forceTimer ??= setTimeout(() => signalGroup('SIGKILL'), graceMs)
    }
    const onSignal = (signal: StopSignal) => {
      if (interrupted) {
        interrupted.forced = true
        signalGroup('SIGKILL')
        return
      }
      interrupted = {signal, forced: false}
      signalGroup('SIGINT')
    }
    const stopListening = onStopSignal(onSignal, {emitter: signals})
    const timeout = options.timeoutMs
      ? setTimeout(() => {
          timedOut = true
          stopGracefully()
        }, options.timeoutMs)
      : undefined

    child.stdout.on('data', (chunk: Buffer) => {
      const text = chunk.toString()
      stdout += text
      if (!options.onLine) return
      const lines = (pending + text).split('\n')
      pending = lines.pop() ?? ''
      for (const line of lines) if (line.trim()) options.onLine(line)
    })
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))

    const closed = new Promise<void>((resolveClosed) => child.once('close', () => resolveClosed()))
    const finish = (exitCode: number | null, spawnError?: Error) => {
      clearTimeout(timeout)
      clearTimeout(forceTimer)
      stopListening()
      resolve({stdout, stderr, exitCode, pgid, interrupted, timedOut, spawnError})
    }
    child.once('error', (error) => {
      if (child.pid === undefined) finish(null, error)
    })
    // On exit, not close: a plugin left in the group may hold the pipes open. The group leader
    // has exited; what it started gets the grace period, then the group is killed, and only
    // then are the pipes (and so the last output) complete.
    child.once('exit', async (code) => {
      if (pgid !== undefined) await reapGroup(pgid, graceMs)
      await closed
      finish(code)
    })
  })
}

/**
 * Whether any process of the group is still running. On Linux /proc is read, so a zombie
 * (exited, waiting for its reparented parent to collect it) does not count as running.
 */
export function groupAlive(pgid: number): boolean {
  if (existsSync('/proc/self/stat')) return groupMembers(pgid).length > 0
  try {
    process.kill(-pgid, 0)
    return true
  } catch {
    return false
  }
}

/** Running processes (not zombies) of a process group, from /proc (Linux). */
export function groupMembers(pgid: number): number[] {
  const members: number[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    let stat: string
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
    } catch {
      continue
    }
    // pid (comm) state ppid pgrp ...; comm may hold spaces and parentheses.
    const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    if (Number(pgrp) === pgid && state !== 'Z' && state !== 'X') members.push(Number(entry))
  }
  return members
}

async function reapGroup(pgid: number, graceMs: number): Promise<void> {
  const deadline = Date.now() + graceMs
  while (groupAlive(pgid) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100))
  if (groupAlive(pgid)) {
    try {
      process.kill(-pgid, 'SIGKILL')
    } catch {
      // Gone between the check and the kill.
    }
  }
}
