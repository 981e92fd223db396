import {prettyFactory} from 'pino-pretty'

import {type OutputSettings, outputSettings} from './terminal.js'

/**
 * The service's JSON log lines as a person reads them at a terminal: local time, level by name,
 * the message, then the other fields (pino-pretty, as pino's own CLI shows them). Piped, or with
 * --json, the lines stay JSON for jq and log shippers; a line that is not JSON passes unchanged.
 */
export function logLineFormatter(settings: OutputSettings = outputSettings()): (line: string) => string {
  const pretty = prettyFactory({colorize: settings.color, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname', singleLine: true})
  return (line) => {
    const trimmed = line.trimEnd()
    if (!trimmed.startsWith('{')) return `${trimmed}\n`
    try {
      return pretty(JSON.parse(trimmed)) ?? `${trimmed}\n`
    } catch {
      return `${trimmed}\n`
    }
  }
}

/** A destination for pino that writes each line readable: what `service start` uses at a terminal. */
export function readableDestination(stream: NodeJS.WritableStream = process.stdout, settings?: OutputSettings): {write(chunk: string): void} {
  const format = logLineFormatter(settings)
  return {
    write(chunk: string) {
      // The service batches a turn's lines into one write.
      stream.write(chunk.split('\n').filter((line) => line.length > 0).map(format).join(''))
    },
  }
}
