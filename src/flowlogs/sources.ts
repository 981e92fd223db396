import {type Dirent, readdirSync, statSync} from 'node:fs'
import path from 'node:path'

import {EXIT, InfraError} from '../errors.js'

/**
 * Expands paths and globs (*, ? within a folder name; ** for any depth) into files, sorted; a
 * pattern that matches nothing is an error. A folder stands for the flow log files below it
 * (`.log` and `.log.gz`, as S3 delivers them and `aws s3 sync` lays them out), at any depth: other
 * files there (digests, notes) are not flow logs. Only the folders the pattern can reach are read, one
 * segment at a time: `/var/log/flows/*.gz` lists one folder, not everything below it, and a
 * pattern at the root does not walk the whole machine. Links that lead nowhere are skipped.
 */
export function expandFiles(patterns: string[], cwd = process.cwd()): string[] {
  const files = new Set<string>()
  for (const pattern of patterns) {
    if (!/[*?]/.test(pattern)) {
      const resolved = path.resolve(cwd, pattern)
      if (kindOf(resolved) === 'dir') addFolder(resolved, files)
      else files.add(resolved)
      continue
    }
    const absolute = path.resolve(cwd, pattern)
    const segments = absolute.split(path.sep).filter((segment) => segment.length > 0)
    const firstWild = segments.findIndex((segment) => /[*?]/.test(segment))
    const before = files.size
    expandSegments(path.join(path.parse(absolute).root, ...segments.slice(0, firstWild)), segments.slice(firstWild), (file) => files.add(file))
    if (files.size === before) throw new InfraError(`no file matches ${pattern}`, 'check the path; quote globs so the shell does not expand them', 'FILE_NOT_FOUND', EXIT.usage)
  }
  return [...files].sort()
}

function addFolder(dir: string, files: Set<string>): void {
  const before = files.size
  walkFiles(dir, (file) => {
    if (FLOW_LOG_FILE.test(file)) files.add(file)
  })
  if (files.size === before) {
    throw new InfraError(`${dir} holds no flow log file (.log or .log.gz at any depth)`, 'pass the folder S3 delivered them to, or a glob such as "logs/**/*.gz"', 'FILE_NOT_FOUND', EXIT.usage)
  }
}

const FLOW_LOG_FILE = /\.log(\.gz)?$/

function expandSegments(dir: string, segments: string[], visit: (file: string) => void): void {
  const [head, ...rest] = segments
  if (head === '**') {
    if (rest.length === 0) return walkFiles(dir, visit)
    // Zero folders deep, then one more for each folder below (not through links: they can loop).
    expandSegments(dir, rest, visit)
    for (const entry of entriesOf(dir)) if (entry.isDirectory()) expandSegments(path.join(dir, entry.name), segments, visit)
    return
  }
  const matcher = /[*?]/.test(head) ? segmentRegExp(head) : undefined
  const names = matcher ? entriesOf(dir).map((entry) => entry.name).filter((name) => matcher.test(name)) : [head]
  for (const name of names) {
    const full = path.join(dir, name)
    const kind = kindOf(full)
    if (rest.length === 0 && kind === 'file') visit(full)
    else if (rest.length > 0 && kind === 'dir') expandSegments(full, rest, visit)
  }
}

function walkFiles(dir: string, visit: (file: string) => void): void {
  for (const entry of entriesOf(dir)) {
    const full = path.join(dir, entry.name)
    if (entry.isDirectory()) walkFiles(full, visit)
    else if (kindOf(full) === 'file') visit(full)
  }
}

function entriesOf(dir: string): Dirent[] {
  try {
    return readdirSync(dir, {withFileTypes: true})
  } catch {
    return []
  }
}

/** What a path is, following links; a link to nothing is neither. */
function kindOf(file: string): 'file' | 'dir' | undefined {
  try {
    const stat = statSync(file)
    return stat.isFile() ? 'file' : stat.isDirectory() ? 'dir' : undefined
  } catch {
    return undefined
  }
}

function segmentRegExp(segment: string): RegExp {
  const pattern = [...segment].map((char) => (char === '*' ? '.*' : char === '?' ? '.' : char.replace(/[.+^${}()|[\]\\]/g, '\\$&'))).join('')
  return new RegExp(`^${pattern}$`)
}

/**
 * The S3 prefixes that hold a date range of flow logs, in AWS's delivery layout
 * (AWSLogs/{account}/vpcflowlogs/{region}/{yyyy}/{mm}/{dd}/[HH/]) or its Hive-compatible form
 * (AWSLogs/aws-account-id={account}/aws-service=vpcflowlogs/aws-region={region}/year=/month=/day=/[hour=/]).
 */
export function flowLogPrefixes(options: {account: string; region: string; since: Date; until: Date; hive?: boolean; basePrefix?: string}): string[] {
  const prefixes: string[] = []
  const base = options.basePrefix ? `${options.basePrefix.replace(/\/+$/, '')}/` : ''
  const day = new Date(Date.UTC(options.since.getUTCFullYear(), options.since.getUTCMonth(), options.since.getUTCDate()))
  while (day <= options.until) {
    const y = day.getUTCFullYear()
    const m = String(day.getUTCMonth() + 1).padStart(2, '0')
    const d = String(day.getUTCDate()).padStart(2, '0')
    prefixes.push(
      options.hive
        ? `${base}AWSLogs/aws-account-id=${options.account}/aws-service=vpcflowlogs/aws-region=${options.region}/year=${y}/month=${m}/day=${d}/`
        : `${base}AWSLogs/${options.account}/vpcflowlogs/${options.region}/${y}/${m}/${d}/`,
    )
    day.setUTCDate(day.getUTCDate() + 1)
    if (prefixes.length > 400) throw new InfraError('the date range spans more than 400 days', 'narrow --since/--until', 'RANGE_TOO_LONG')
  }
  return prefixes
}

/**
 * Whether an object's name places it inside [since, until]. Delivery file names carry the end of
 * their five-minute window: ..._vpcflowlogs_{region}_{flow-log-id}_{yyyymmddTHHmmZ}_{hash}.log.gz.
 */
export function keyInRange(key: string, since: Date, until: Date): boolean {
  const stamp = /_(\d{8}T\d{4}Z)_/.exec(key)?.[1]
  if (!stamp) return true
  const time = Date.UTC(Number(stamp.slice(0, 4)), Number(stamp.slice(4, 6)) - 1, Number(stamp.slice(6, 8)), Number(stamp.slice(9, 11)), Number(stamp.slice(11, 13)))
  // A file stamped up to one window after `until` still holds records from inside it.
  return time >= since.getTime() && time <= until.getTime() + 15 * 60_000
}

/** Parses --since/--until: ISO dates or times, or a duration back from now ("24h", "7d", "90m"). */
export function parseTime(text: string, flag: string, now = new Date()): Date {
  const relative = /^(\d+)([mhd])$/.exec(text)
  if (relative) return new Date(now.getTime() - Number(relative[1]) * {m: 60_000, h: 3_600_000, d: 86_400_000}[relative[2] as 'm' | 'h' | 'd'])
  const parsed = new Date(text)
  if (Number.isNaN(parsed.getTime())) throw new InfraError(`${flag} "${text}" is not a time`, 'use an ISO date (2026-11-27, 2026-11-27T10:00Z) or a duration like 24h or 7d', 'BAD_TIME', EXIT.usage)
  return parsed
}
