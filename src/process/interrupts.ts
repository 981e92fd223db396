import {InfraError} from '../errors.js'
import {onStopSignal} from '../signals.js'

/**
 * Runs work that stops between safe points: the first stop signal (src/signals.ts: SIGINT,
 * SIGTERM or SIGHUP) aborts the signal the work watches (it finishes the call in hand, records
 * where it stands and throws interruptedError), a second one exits 130 at once. The handlers are
 * removed when the work ends, so a later phase (terraform's runner) handles signals its own way.
 */
export async function interruptible<T>(work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController()
  const dispose = onStopSignal((signal) => {
    if (controller.signal.aborted) process.exit(130)
    controller.abort(signal)
  })
  try {
    return await work(controller.signal)
  } finally {
    dispose()
  }
}

/** Throws the interruption (exit 130) when the signal was aborted; call it at each safe point. */
export function stopIfInterrupted(signal: AbortSignal | undefined, what: string, fix: string): void {
  if (signal?.aborted) throw interruptedError(signal, what, fix)
}

export function interruptedError(signal: AbortSignal, what: string, fix: string): InfraError {
  return new InfraError(`interrupted (${String(signal.reason ?? 'signal')}) ${what}`, fix, 'INTERRUPTED', 130, {signal: String(signal.reason ?? '')})
}

/** Waits ms, or less when the signal aborts (the caller then checks it). */
export function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve()
    const timer = setTimeout(done, ms)
    function done() {
      clearTimeout(timer)
      signal?.removeEventListener('abort', done)
      resolve()
    }
    signal?.addEventListener('abort', done, {once: true})
  })
}
