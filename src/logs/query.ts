import {InfraError} from '../errors.js'

/**
 * What a person asks for: one job's lines or one request's lines. The service itself writes
 * pino's `jobId` and fastify's `reqId`; the shipper renames them to `job_id` and `request_id`.
 * Both spellings are matched, so lines shipped before or after the rename, and a local log
 * file, are read the same way.
 */
export interface LogQuery {
  jobId?: string
  requestId?: string
}

export const FIELD_NAMES = {
  job: ['job_id', 'jobId'],
  request: ['request_id', 'reqId'],
} as const

// Ids go into a CloudWatch filter pattern between quotes: only characters that need no escaping.
const ID_PATTERN = /^[\w.:-]{1,128}$/

export function checkQuery(query: LogQuery): void {
  for (const [flag, value] of [['--job', query.jobId], ['--request', query.requestId]] as const) {
    if (value !== undefined && !ID_PATTERN.test(value)) {
      throw new InfraError(`${flag} "${value}" is not an id`, `${flag} takes letters, digits, dots, colons, dashes or underscores (at most 128), as the service logs them`, 'BAD_FLAG', 2)
    }
  }
  if (query.jobId === undefined && query.requestId === undefined) {
    throw new InfraError('name the lines to read: --job or --request', 'e.g. infra logs --env dev --job 0b7c…, or --request req-7f3a9c1e', 'MISSING_FLAG', 2)
  }
}

function clauses(query: LogQuery): string[] {
  const out: string[] = []
  if (query.jobId !== undefined) out.push(...FIELD_NAMES.job.map((field) => `($.${field} = "${query.jobId}")`))
  if (query.requestId !== undefined) out.push(...FIELD_NAMES.request.map((field) => `($.${field} = "${query.requestId}")`))
  return out
}

/**
 * The CloudWatch Logs JSON filter pattern for the query (FilterAndPatternSyntax: `{ ($.a = "x") || ($.b = "x") }`).
 * With both --job and --request a line matches either: a job's lines and the request that made it.
 */
export function filterPattern(query: LogQuery): string {
  return `{ ${clauses(query).join(' || ')} }`
}

/** The same test on one parsed line, for a local file and to re-check what CloudWatch returned. */
export function matches(fields: Record<string, unknown> | undefined, query: LogQuery): boolean {
  if (!fields) return false
  if (query.jobId !== undefined && FIELD_NAMES.job.some((field) => fields[field] === query.jobId)) return true
  if (query.requestId !== undefined && FIELD_NAMES.request.some((field) => fields[field] === query.requestId)) return true
  return false
}

/** A log line's JSON object, or undefined when it is not one (a stack trace, a shell's echo). */
export function parseLine(message: string): Record<string, unknown> | undefined {
  const text = message.trim()
  if (!text.startsWith('{')) return undefined
  try {
    const value = JSON.parse(text)
    return value && typeof value === 'object' && !Array.isArray(value) ? value : undefined
  } catch {
    return undefined
  }
}
