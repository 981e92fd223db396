import type {EventEmitter} from 'node:events'

/**
 * The signals that mean "stop" to every long-running command: Ctrl-C, a service manager's or
 * CI runner's stop, and a closed terminal or dropped SSH connection (SIGHUP). Node's default for
 * each is to die on the spot, leaving what runs in a process group of its own (terraform, the
 * Session Manager plugin) running with no one to end it; so whoever runs something long listens
 * here, and all of them hear the same three.
 */
export const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const
export type StopSignal = (typeof STOP_SIGNALS)[number]

export interface StopListener {
  /** Which signals to leave alone (SIGINT when a person's terminal gives Ctrl-C to a child). */
  ignore?: StopSignal[]
  /** Whose signals (the CLI's own process; tests pass an emitter). */
  emitter?: EventEmitter
}

/**
 * Calls `handler` on each stop signal until disposed. SIGHUP means the terminal has gone: from
 * then on writes to it fail (EIO, EPIPE), and those failures must not end infra before it has
 * stopped what it started, so they are ignored.
 */
export function onStopSignal(handler: (signal: StopSignal) => void, options: StopListener = {}): () => void {
  const emitter = options.emitter ?? process
  const listeners = STOP_SIGNALS.map((signal) => {
    const listener = options.ignore?.includes(signal)
      ? () => undefined
      : () => {
          if (signal === 'SIGHUP' && emitter === process) ignoreClosedTerminal()
          handler(signal)
        }
    emitter.on(signal, listener)
    return [signal, listener] as const
  })
  return () => {
    for (const [signal, listener] of listeners) emitter.off(signal, listener)
  }
}

/** An AbortSignal that aborts on the first stop signal (its reason the signal's name); dispose() stops listening. */
export function stopController(options: StopListener = {}): {signal: AbortSignal; stoppedBy(): StopSignal | undefined; dispose(): void} {
  const controller = new AbortController()
  let by: StopSignal | undefined
  const dispose = onStopSignal((signal) => {
    by ??= signal
    controller.abort(signal)
  }, options)
  return {signal: controller.signal, stoppedBy: () => by, dispose}
}

let terminalClosed = false
function ignoreClosedTerminal(): void {
  if (terminalClosed) return
  terminalClosed = true
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EIO' && error.code !== 'EPIPE') throw error
    })
  }
}
