import {execFileSync} from 'node:child_process'
import {mkdtempSync, openSync, readFileSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import pino from 'pino'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {type TestService, startTestService, waitForJob} from '../support/service.js'
import {synthesizedObjects} from './fixtures.js'

/**
 * The shipper's Lua filter, run for real: the script and the function name come from the
 * synthesized ConfigMap, luajit runs them (Fluent Bit embeds LuaJIT), and a small harness applies
 * Fluent Bit's Lua filter contract to what the callback returns (docs.fluentbit.io, filters/lua:
 * `function(tag, timestamp, record)` returns `code, timestamp, record`; -1 drops the record, 0
 * keeps it as it was, 1 replaces timestamp and record, 2 replaces the record and keeps the
 * timestamp). The records are lines the real service's logger wrote, as the tail input and the
 * JSON parser filter hand them on (the parsed fields plus `stream`).
 */
const HARNESS = String.raw`
local function encode(value)
  local kind = type(value)
  if kind == "nil" then return "null" end
  if kind == "boolean" then return tostring(value) end
  if kind == "number" then
    -- Every digit: tostring keeps only 14.
    if value == math.floor(value) and math.abs(value) < 2^53 then return string.format("%.0f", value) end
    return string.format("%.17g", value)
  end
  if kind == "string" then
    return '"' .. value:gsub('[%c"\\]', function(c) return string.format("\\u%04x", c:byte()) end) .. '"'
  end
  local keys = {}
  for key in pairs(value) do keys[#keys + 1] = key end
  if #keys > 0 and #value == #keys then
    local items = {}
    for i = 1, #value do items[i] = encode(value[i]) end
    return "[" .. table.concat(items, ",") .. "]"
  end
  table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
  local items = {}
  for _, key in ipairs(keys) do items[#items + 1] = encode(tostring(key)) .. ":" .. encode(value[key]) end
  return "{" .. table.concat(items, ",") .. "}"
end

local script, call, records = arg[1], arg[2], arg[3]
dofile(script)
local callback = _G[call]
assert(type(callback) == "function", "the script defines no function " .. call)
local input = dofile(records)
for _, event in ipairs(input) do
  local code, timestamp, record = callback(event.tag, event.timestamp, event.record)
  if code == -1 then
    print(encode({dropped = true}))
  elseif code == 0 then
    print(encode({code = 0, timestamp = event.timestamp, record = event.original}))
  elseif code == 1 then
    print(encode({code = 1, timestamp = timestamp, record = record}))
  elseif code == 2 then
    print(encode({code = 2, timestamp = event.timestamp, record = record}))
  else
    error("callback returned code " .. tostring(code) .. ", not -1, 0, 1 or 2")
  end
end
`

/** A JSON value as a Lua constructor (what Fluent Bit's msgpack-to-Lua conversion gives the callback). */
function luaValue(value: unknown): string {
  if (value === null || value === undefined) return 'nil'
  if (typeof value === 'string') return JSON.stringify(value)
  if (typeof value === 'number' || typeof value === 'boolean') return String(value)
  if (Array.isArray(value)) return `{${value.map(luaValue).join(', ')}}`
  return `{${Object.entries(value as Record<string, unknown>).map(([key, item]) => `[${JSON.stringify(key)}] = ${luaValue(item)}`).join(', ')}}`
}

interface Shaped {
  dropped?: boolean
  code: number
  timestamp: number
  record: Record<string, any>
}

function runFilter(script: string, call: string, records: Record<string, unknown>[], timestamp = 1_780_000_000.123456): Shaped[] {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'infra-lua-'))
  writeFileSync(path.join(dir, 'shape.lua'), script)
  writeFileSync(path.join(dir, 'harness.lua'), HARNESS)
  // Each record twice: the one the callback may change, and a copy for code 0 (kept as it was).
  const events = records.map((record) => `{tag = "service.var.log.containers.x.log", timestamp = ${timestamp}, record = ${luaValue(record)}, original = ${luaValue(record)}}`)
  writeFileSync(path.join(dir, 'records.lua'), `return {\n${events.join(',\n')}\n}\n`)
  const out = execFileSync('luajit', [path.join(dir, 'harness.lua'), path.join(dir, 'shape.lua'), call, path.join(dir, 'records.lua')], {encoding: 'utf8'})
  return out.trim().split('\n').filter(Boolean).map((line) => JSON.parse(line))
}

const config = synthesizedObjects('dev').find('ConfigMap', 'infra-log-shipper-config').data as Record<string, string>
const filter = /\[FILTER\]\n\s+Name\s+lua\n(?:\s+.+\n)*/.exec(config['fluent-bit.conf'])![0]
const scriptName = path.basename(/script\s+(\S+)/.exec(filter)![1])
const call = /call\s+(\S+)/.exec(filter)![1]
const script = config[scriptName]

let t: TestService
let lines: Record<string, any>[]
const jobs: string[] = []

beforeAll(async () => {
  try {
    execFileSync('luajit', ['-v'], {stdio: 'ignore'})
  } catch {
    throw new Error('luajit is not installed: apt-get install -y luajit (Fluent Bit runs its Lua filters on LuaJIT)')
  }
  const logFile = path.join(mkdtempSync(path.join(os.tmpdir(), 'infra-lua-log-')), 'service.log')
  t = await startTestService({}, {logLevel: 'info', logDestination: pino.destination({dest: openSync(logFile, 'a', 0o600), sync: true})})
  writeFileSync(path.join(t.fileRoot, 'a.txt'), 'hello\n')
  const queued = await t.call('POST', '/api/v1/jobs/trigger', {body: {source_type: 'file', config: {path: 'a.txt'}}, headers: {'x-request-id': 'trigger-lua-1'}})
  jobs.push(queued.body.job_id)
  await waitForJob(t, queued.body.job_id)
  await t.call('GET', `/api/v1/jobs/status/${jobs[0]}`, {headers: {'x-request-id': 'status-lua-1'}})
  await t.service.stop()
  lines = readFileSync(logFile, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line))
}, 60_000)

afterAll(async () => {
  await t?.service.stop().catch(() => {})
})

describe('the shipper\'s Lua filter under luajit, on the real service\'s lines', () => {
  it('is the script and function the Fluent Bit configuration names', () => {
    expect(scriptName).toBe('shape.lua')
    expect(script).toContain(`function ${call}(tag, timestamp, record)`)
  })

  it('renames reqId and jobId, derives route from the access line\'s url, and keeps the timestamp', () => {
    const shaped = runFilter(script, call, lines.map((line) => ({...line, stream: 'stdout'})))
    expect(shaped).toHaveLength(lines.length)
    expect(shaped.some((s) => s.dropped)).toBe(false)
    for (const [index, s] of shaped.entries()) {
      expect(s.record.reqId, JSON.stringify(lines[index])).toBeUndefined()
      expect(s.record.jobId).toBeUndefined()
      if (lines[index].reqId !== undefined) expect(s.record.request_id).toBe(lines[index].reqId)
      if (lines[index].jobId !== undefined) expect(s.record.job_id).toBe(lines[index].jobId)
      // Every other field passes through unchanged.
      for (const [key, value] of Object.entries(lines[index])) if (key !== 'reqId' && key !== 'jobId') expect(s.record[key]).toEqual(value)
      expect(s.timestamp).toBe(1_780_000_000.123456)
    }
    const status = shaped.find((s) => s.record.request_id === 'status-lua-1' && s.record.url !== undefined)
    expect(status?.record).toMatchObject({method: 'GET', url: `/api/v1/jobs/status/${jobs[0]}`, route: '/api/v1/jobs/status/:id', status: 200})
    expect(status?.code).toBe(2)
    const trigger = shaped.find((s) => s.record.request_id === 'trigger-lua-1' && s.record.url !== undefined)
    expect(trigger?.record.route).toBe('/api/v1/jobs/trigger')
    // The worker's lines carry the job id, renamed, and no route (they have no url).
    const finished = shaped.find((s) => s.record.msg === 'job finished')
    expect(finished?.record).toMatchObject({job_id: jobs[0]})
    expect(finished?.record.route).toBeUndefined()
  })

  it('keeps a record with nothing to rename or derive as it was (code 0)', () => {
    const plain = lines.find((line) => line.reqId === undefined && line.jobId === undefined && line.url === undefined)
    expect(plain, 'the service wrote a line with neither id nor url').toBeDefined()
    const [shaped] = runFilter(script, call, [plain!])
    expect(shaped).toEqual({code: 0, timestamp: 1_780_000_000.123456, record: plain})
  })

  it('does not overwrite a field of the new name, and takes a query string and fragment off the route', () => {
    const [both, query] = runFilter(script, call, [
      {reqId: 'old', request_id: 'kept', url: '/api/v1/jobs/status/3f2a9c1e-5b7d-4e21-9a0c-1d2e3f4a5b6c?verbose=1'},
      {url: '/api/v1/results/0123456789abcdef0123/download#part'},
    ])
    expect(both.record).toMatchObject({reqId: 'old', request_id: 'kept', route: '/api/v1/jobs/status/:id'})
    expect(query.record.route).toBe('/api/v1/results/:id/download')
  })
})
