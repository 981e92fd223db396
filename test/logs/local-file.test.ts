import {appendFileSync, mkdtempSync, openSync, readFileSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import pino from 'pino'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {checkQuery, filterPattern, matches} from '../../src/logs/query.js'
import {type LogLine, followLocalFile, readLocalFile} from '../../src/logs/read.js'
import {type TestService, startTestService, waitForJob} from '../support/service.js'

/**
 * The local path of `infra logs`: lines the real service wrote through its own logger (the
 * access line, fastify's and pino's lines, the worker's "job finished"), read back by job and
 * by request.
 */
let t: TestService
let logFile: string
const jobs: string[] = []

beforeAll(async () => {
  logFile = path.join(mkdtempSync(path.join(os.tmpdir(), 'infra-logs-')), 'service.log')
  t = await startTestService({}, {logLevel: 'info', logDestination: pino.destination({dest: openSync(logFile, 'a', 0o600), sync: true})})
  writeFileSync(path.join(t.fileRoot, 'a.txt'), 'hello\n')
  for (const name of ['a.txt', 'missing.txt']) {
    const queued = await t.call('POST', '/api/v1/jobs/trigger', {body: {source_type: 'file', config: {path: name}}, headers: {'x-request-id': `trigger-${name}`}})
    jobs.push(queued.body.job_id)
    await waitForJob(t, queued.body.job_id)
  }
  await t.call('GET', `/api/v1/jobs/status/${jobs[0]}`, {headers: {'x-request-id': 'status-check-1'}})
  await t.service.stop()
})

afterAll(async () => {
  await t?.service.stop().catch(() => {})
})

describe('infra logs on a local file of the service', () => {
  it('finds the job by the jobId the worker logs, and only that job', async () => {
    const {lines} = await readLocalFile(logFile, {jobId: jobs[0]})
    expect(lines.length).toBeGreaterThan(0)
    for (const line of lines) expect(line.fields?.jobId).toBe(jobs[0])
    expect(lines.map((line) => line.fields?.msg)).toContain('job finished')
    const other = await readLocalFile(logFile, {jobId: jobs[1]})
    expect(other.lines.every((line) => line.fields?.jobId === jobs[1])).toBe(true)
    expect(other.lines.length).toBeGreaterThan(0)
  })

  it('finds a request by the x-request-id the service logs as reqId: its access line', async () => {
    const {lines} = await readLocalFile(logFile, {requestId: 'status-check-1'})
    const access = lines.find((line) => line.fields?.msg === 'request')
    expect(access?.fields).toMatchObject({reqId: 'status-check-1', method: 'GET', url: `/api/v1/jobs/status/${jobs[0]}`, status: 200})
    expect(lines.every((line) => line.fields?.reqId === 'status-check-1')).toBe(true)
  })

  it('with --job and --request, prints both in time order, from the time field', async () => {
    const {lines} = await readLocalFile(logFile, {jobId: jobs[0], requestId: 'trigger-a.txt'})
    expect(lines.some((line) => line.fields?.reqId === 'trigger-a.txt')).toBe(true)
    expect(lines.some((line) => line.fields?.jobId === jobs[0])).toBe(true)
    const times = lines.map((line) => line.timestamp)
    expect(times).toEqual([...times].sort((a, b) => a - b))
    expect(times[0]).toBe(JSON.parse(lines[0].message).time)
  })

  it('puts lines written out of order (two replicas into one file) in time order', async () => {
    const file = path.join(path.dirname(logFile), 'replicas.log')
    const own = readFileSync(logFile, 'utf8').split('\n').filter(Boolean)
    writeFileSync(file, `${[...own].reverse().join('\n')}\n`)
    const {lines} = await readLocalFile(file, {jobId: jobs[0], requestId: 'trigger-a.txt'})
    const times = lines.map((line) => line.timestamp)
    expect(times).toEqual([...times].sort((a, b) => a - b))
  })

  it('honours --since/--until and skips lines that are not JSON', async () => {
    const file = path.join(path.dirname(logFile), 'window.log')
    const line = (time: number) => JSON.stringify({level: 30, time, jobId: 'j1', msg: 'x'})
    writeFileSync(file, `${line(1000)}\nTypeError: not json\n    at x (y.js:1)\n${line(2000)}\n${line(3000)}\n`)
    const {lines} = await readLocalFile(file, {jobId: 'j1'}, {since: new Date(1500), until: new Date(2500)})
    expect(lines.map((l) => l.timestamp)).toEqual([2000])
  })

  it('leaves a line still being written for the next read, and follows what is appended until aborted', async () => {
    const file = path.join(path.dirname(logFile), 'follow.log')
    const line = (time: number) => JSON.stringify({level: 30, time, jobId: 'j2', msg: `at ${time}`})
    writeFileSync(file, `${line(1)}\n${line(2).slice(0, 10)}`)
    const first = await readLocalFile(file, {jobId: 'j2'})
    expect(first.lines.map((l) => l.timestamp)).toEqual([1])
    appendFileSync(file, `${line(2).slice(10)}\n`)
    expect((await readLocalFile(file, {jobId: 'j2'}, {}, first.nextOffset)).lines.map((l) => l.timestamp)).toEqual([2])

    const seen: LogLine[] = []
    const stop = new AbortController()
    const following = followLocalFile(file, {jobId: 'j2'}, {}, (l) => {
      seen.push(l)
      if (l.timestamp === 3) stop.abort()
    }, {intervalMs: 20, signal: stop.signal})
    await new Promise((resolve) => setTimeout(resolve, 60))
    appendFileSync(file, `${line(3)}\n`)
    await following
    expect(seen.map((l) => l.timestamp)).toEqual([1, 2, 3])
  })

  it('says which file cannot be read', async () => {
    await expect(readLocalFile('/nonexistent/service.log', {jobId: 'j'})).rejects.toMatchObject({code: 'LOG_FILE_UNREADABLE', exitCode: 2})
  })
})

describe('the query', () => {
  it('is a CloudWatch JSON filter pattern over both spellings of the field (FilterAndPatternSyntax)', () => {
    expect(filterPattern({jobId: 'abc-1'})).toBe('{ ($.job_id = "abc-1") || ($.jobId = "abc-1") }')
    expect(filterPattern({jobId: 'j', requestId: 'r'})).toBe('{ ($.job_id = "j") || ($.jobId = "j") || ($.request_id = "r") || ($.reqId = "r") }')
  })

  it('refuses ids that would break out of the pattern, and a query of nothing', () => {
    expect(() => checkQuery({jobId: 'a" || $.x = "b'})).toThrow(/--job .* is not an id/)
    expect(() => checkQuery({})).toThrow(/--job or --request/)
    expect(() => checkQuery({requestId: 'req-1f'})).not.toThrow()
  })

  it('matches a field by its exact value, not a prefix or a number', () => {
    expect(matches({job_id: 'j1'}, {jobId: 'j1'})).toBe(true)
    expect(matches({jobId: 'j10'}, {jobId: 'j1'})).toBe(false)
    expect(matches({reqId: 1}, {requestId: '1'})).toBe(false)
    expect(matches(undefined, {jobId: 'j1'})).toBe(false)
  })
})
