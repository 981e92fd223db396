import {createReadStream, statSync} from 'node:fs'
import {setTimeout as sleep} from 'node:timers/promises'

import type {CloudWatchLogsClient} from '@aws-sdk/client-cloudwatch-logs'

import {EXIT, InfraError} from '../errors.js'
import {type LogQuery, filterPattern, matches, parseLine} from './query.js'

/** One log line as read back: when it was written, where from (log stream or file), the line itself. */
export interface LogLine {
  timestamp: number
  /** The CloudWatch log stream (one per pod or container) or the local file. */
  source: string
  message: string
  fields?: Record<string, unknown>
  /** CloudWatch's event id; absent for a local file. */
  eventId?: string
}

export interface TimeWindow {
  since?: Date
  until?: Date
}

/** Time order; lines of the same millisecond keep the order they were read in (Array.sort is stable). */
export function inTimeOrder(lines: LogLine[]): LogLine[] {
  return lines.sort((a, b) => a.timestamp - b.timestamp)
}

export interface CloudWatchLogs {
  client: CloudWatchLogsClient
  logGroupName: string
  /** Events per FilterLogEvents page (CloudWatch's own default when absent). */
  pageSize?: number
}

/**
 * Every matching event of the group in the window, all pages, in time order. The filter
 * pattern narrows on CloudWatch's side; each returned line is checked again here, so a line
 * that is not JSON, or an emulator that ignores JSON patterns, cannot add lines that do not match.
 */
export async function readCloudWatch(logs: CloudWatchLogs, query: LogQuery, window: TimeWindow = {}): Promise<{lines: LogLine[]; pages: number}> {
  const {FilterLogEventsCommand} = await import('@aws-sdk/client-cloudwatch-logs')
  const lines: LogLine[] = []
  let nextToken: string | undefined
  let pages = 0
  do {
    let answer
    try {
      answer = await logs.client.send(
        new FilterLogEventsCommand({
          logGroupName: logs.logGroupName,
          filterPattern: filterPattern(query),
          startTime: window.since?.getTime(),
          endTime: window.until?.getTime(),
          limit: logs.pageSize,
          nextToken,
        }),
      )
    } catch (error) {
      if ((error as {name?: string}).name === 'ResourceNotFoundException') {
        throw new InfraError(
          `log group ${logs.logGroupName} does not exist`,
          'provision the environment with the eks layer (it creates the service log group), or name the group with --log-group',
          'LOG_GROUP_NOT_FOUND',
        )
      }
      throw error
    }
    pages++
    for (const event of answer.events ?? []) {
      const message = (event.message ?? '').replace(/\n$/, '')
      const fields = parseLine(message)
      if (!matches(fields, query)) continue
      lines.push({timestamp: event.timestamp ?? 0, source: event.logStreamName ?? '', message, fields, eventId: event.eventId})
    }
    nextToken = answer.nextToken
  } while (nextToken)
  return {lines: inTimeOrder(lines), pages}
}

/** A line's time in a local file: pino's `time` (epoch milliseconds), or an ISO string some shippers write. */
function lineTime(fields: Record<string, unknown>): number | undefined {
  const time = fields.time
  if (typeof time === 'number') return time
  if (typeof time === 'string') {
    const parsed = Date.parse(time)
    return Number.isNaN(parsed) ? undefined : parsed
  }
  return undefined
}

function inWindow(timestamp: number, window: TimeWindow): boolean {
  return (window.since === undefined || timestamp >= window.since.getTime()) && (window.until === undefined || timestamp <= window.until.getTime())
}

/**
 * The matching lines of a local log file (what `infra service start --log-file` writes, or its
 * stdout saved to a file) from byte `offset` up to the file's size now; a trailing line without its
 * newline is left for the next read. Returns where to read from next time.
 */
export async function readLocalFile(file: string, query: LogQuery, window: TimeWindow = {}, offset = 0): Promise<{lines: LogLine[]; nextOffset: number}> {
  let size: number
  try {
    size = statSync(file).size
  } catch {
    // The file named on the command line is bad input (usage); one gone while followed is a failure.
    throw new InfraError(`log file ${file} cannot be read`, 'name the file the service writes (infra service start --log-file FILE)', 'LOG_FILE_UNREADABLE', offset === 0 ? EXIT.usage : EXIT.failure)
  }
  // A file truncated or replaced by a smaller one (log rotation) is read again from its start.
  if (size < offset) offset = 0
  const lines: LogLine[] = []
  if (size === offset) return {lines, nextOffset: offset}
  let rest = Buffer.alloc(0)
  let consumed = offset
  for await (const chunk of createReadStream(file, {start: offset, end: size - 1})) {
    let buffer = Buffer.concat([rest, chunk as Buffer])
    let newline: number
    while ((newline = buffer.indexOf(0x0a)) !== -1) {
      const message = buffer.subarray(0, newline).toString('utf8').replace(/\r$/, '')
      consumed += newline + 1
      buffer = buffer.subarray(newline + 1)
      const fields = parseLine(message)
      if (!matches(fields, query)) continue
      const timestamp = lineTime(fields!)
      if (timestamp === undefined || !inWindow(timestamp, window)) continue
      lines.push({timestamp, source: file, message, fields})
    }
    rest = buffer
  }
  return {lines: inTimeOrder(lines), nextOffset: consumed}
}

export interface FollowOptions {
  intervalMs: number
  signal: AbortSignal
  /**
   * How far back each poll reads again, for events CloudWatch ingests late (each pod's shipper
   * sends in batches); lines seen before are recognised by their event id and not printed twice.
   */
  lookbackMs?: number
}

/** Polls CloudWatch for new matching lines until the signal aborts (Ctrl-C, SIGTERM); each new line goes to onLine. */
export async function followCloudWatch(logs: CloudWatchLogs, query: LogQuery, window: TimeWindow, onLine: (line: LogLine) => void, options: FollowOptions): Promise<void> {
  const lookbackMs = options.lookbackMs ?? 120_000
  const seen = new Map<string, number>()
  let cursor = window.since?.getTime()
  while (!options.signal.aborted) {
    const {lines} = await readCloudWatch(logs, query, {since: cursor === undefined ? undefined : new Date(cursor)})
    for (const line of lines) {
      if (line.eventId && seen.has(line.eventId)) continue
      if (line.eventId) seen.set(line.eventId, line.timestamp)
      onLine(line)
    }
    const newest = Math.max(cursor ?? 0, ...lines.map((line) => line.timestamp), Date.now() - lookbackMs)
    cursor = newest - lookbackMs
    for (const [id, timestamp] of seen) if (timestamp < cursor) seen.delete(id)
    if (!(await pause(options))) return
  }
}

/** Reads what is appended to a local log file until the signal aborts. */
export async function followLocalFile(file: string, query: LogQuery, window: TimeWindow, onLine: (line: LogLine) => void, options: FollowOptions): Promise<void> {
  let offset = 0
  while (!options.signal.aborted) {
    const read = await readLocalFile(file, query, window, offset)
    offset = read.nextOffset
    for (const line of read.lines) onLine(line)
    if (!(await pause(options))) return
  }
}

/** Waits one interval; false when the signal aborted meanwhile. */
async function pause(options: FollowOptions): Promise<boolean> {
  try {
    await sleep(options.intervalMs, undefined, {signal: options.signal})
    return true
  } catch {
    return false
  }
}
