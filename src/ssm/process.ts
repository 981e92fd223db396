import type {ChildProcess} from 'node:child_process'

/** Waits for a child to end; its exit code, or 128 + the signal number when a signal ended it. */
export function exitOf(child: ChildProcess): Promise<number> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode)
  if (child.signalCode) return Promise.resolve(signalExit(child.signalCode))
  return new Promise((resolve) => {
    child.once('exit', (code, signal) => resolve(code ?? signalExit(signal ?? 'SIGTERM')))
  })
}

function signalExit(signal: NodeJS.Signals): number {
  const numbers: Partial<Record<NodeJS.Signals, number>> = {SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15}
  return 128 + (numbers[signal] ?? 15)
}

/**
 * Ends a child and, when it was spawned detached, everything in its process group (the plugin
 * may start helpers): SIGTERM, then SIGKILL after a grace period. Resolves once it has exited.
 */
export async function stopChild(child: ChildProcess, options: {group: boolean; graceMs?: number}): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) {
    if (options.group && child.pid !== undefined) signalGroup(child.pid, 'SIGKILL')
    return
  }
  const exited = exitOf(child)
  send(child, options.group, 'SIGTERM')
  const timer = new Promise<'late'>((resolve) => setTimeout(() => resolve('late'), options.graceMs ?? 3000).unref())
  if ((await Promise.race([exited, timer])) === 'late') {
    send(child, options.group, 'SIGKILL')
    await exited
  }
  // Whatever the plugin left in its group goes too.
  if (options.group) signalGroup(child.pid, 'SIGKILL')
}

function send(child: ChildProcess, group: boolean, signal: NodeJS.Signals): void {
  if (group && child.pid !== undefined && signalGroup(child.pid, signal)) return
  child.kill(signal)
}

function signalGroup(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pid, signal)
    return true
  } catch {
    return false
  }
}
