import os from 'node:os'

import pino, {type DestinationStream, type Logger} from 'pino'

/** What the one log line per request says. */
export interface AccessEntry {
  reqId: string
  method: string
  url: string
  status: number
  ms: number
  token?: string
}

export interface ServiceLog {
  logger: Logger
  /** Writes the request's line, shaped like the logger's own lines (same level, time, pid, hostname). */
  access(entry: AccessEntry): void
  /** Writes what waits for the end of this event-loop turn, and stops watching for the process's exit. */
  close(): void
}

/**
 * Log lines are written once per event-loop turn, all of the turn's lines in one synchronous write,
 * in the order they were logged. A write per line cost about 15% of a status request's time
 * (measured with bench/service.js): sonic-boom measures the byte length of its whole pending buffer
 * on every write, and each asynchronous write is a round trip through libuv's thread pool.
 */
class TurnBatchedDestination implements DestinationStream {
  private pending: string[] = []

  constructor(private readonly target: DestinationStream) {
    // Lines of the last turn (a fatal error before exit) are not lost.
    process.once('exit', this.flush)
  }

  write(line: string): void {
    if (this.pending.push(line) === 1) setImmediate(this.flush)
  }

  close(): void {
    this.flush()
    process.off('exit', this.flush)
  }

  readonly flush = (): void => {
    if (this.pending.length === 0) return
    const chunk = this.pending.join('')
    this.pending = []
    this.target.write(chunk)
  }
}

/**
 * The service's pino logger and its access log. The access line has a fixed shape, built here
 * rather than by pino's generic serializer because every request writes one; it reads like the
 * logger's own lines.
 */
export function createServiceLog(level: string, target: DestinationStream = pino.destination({dest: 1, sync: true})): ServiceLog {
  const destination = new TurnBatchedDestination(target)
  const logger = pino({level}, destination)
  const bindings = `,"pid":${process.pid},"hostname":${JSON.stringify(os.hostname())}`
  const info = pino.levels.values.info
  return {
    logger,
    access(entry) {
      if (!logger.isLevelEnabled('info')) return
      const token = entry.token === undefined ? '' : `,"token":${JSON.stringify(entry.token)}`
      destination.write(
        `{"level":${info},"time":${Date.now()}${bindings},"reqId":${JSON.stringify(entry.reqId)},"method":${JSON.stringify(entry.method)},"url":${JSON.stringify(entry.url)},"status":${entry.status},"ms":${entry.ms}${token},"msg":"request"}\n`,
      )
    },
    close: () => destination.close(),
  }
}
