import {createHash} from 'node:crypto'
import path from 'node:path'

import Database from 'better-sqlite3'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {type TestService, startTestService, waitForJob} from '../support/service.js'

/**
 * The database source over real HTTP: what comes out is what SQLite holds, and the SHA-256 the
 * service reports is the SHA-256 of exactly those bytes (docs/service.md, "Database values").
 */
let t: TestService

beforeAll(async () => {
  t = await startTestService()
  const file = path.join(t.dataDir, 'ledger.db')
  const db = new Database(file)
  db.exec('CREATE TABLE ledger (id INTEGER, amount INTEGER, ratio REAL, note TEXT, raw BLOB, "1" TEXT)')
  const insert = db.prepare('INSERT INTO ledger VALUES (?, ?, ?, ?, ?, ?)')
  insert.run(1, 9007199254740993n, 0.1, 'plain', Buffer.from([0, 255]), 'first')
  insert.run(2, -9223372036854775808n, 1e308 * 10, '{"$base64":"AP8="}', Buffer.alloc(0), null)
  insert.run(3, 9223372036854775807n, -1e308 * 10, null, null, 'x')
  insert.run(4, 12, 2.5, 'ü "quoted"\n', Buffer.from('hi'), '')
  db.close()
  await t.service.stop()
  t = await startTestService({connections: {ledger: file}})
})
afterAll(async () => {
  await t?.service.stop()
})

describe('database values come out exactly', () => {
  it('writes integers beyond 2^53 with every digit, BLOBs as {"$base64"}, infinities as {"$real"}, and hashes those bytes', async () => {
    const queued = await t.call('POST', '/api/v1/jobs/trigger', {body: {source_type: 'database', config: {connection: 'ledger', table: 'ledger'}}})
    expect(queued.status).toBe(202)
    const job = await waitForJob(t, queued.body.job_id)
    expect(job).toMatchObject({status: 'succeeded', result: {rows: 4, content_type: 'application/x-ndjson'}})
    const response = await fetch(`${t.url}/api/v1/jobs/result/${job.job_id}`, {headers: {authorization: `Bearer ${t.token}`}})
    const bytes = Buffer.from(await response.arrayBuffer())
    expect(bytes.toString('utf8').split('\n')).toEqual([
      '{"id":1,"amount":9007199254740993,"ratio":0.1,"note":"plain","raw":{"$base64":"AP8="},"1":"first"}',
      // A TEXT that looks like the BLOB marker stays a string: the two cannot be confused.
      '{"id":2,"amount":-9223372036854775808,"ratio":{"$real":"Infinity"},"note":"{\\"$base64\\":\\"AP8=\\"}","raw":{"$base64":""},"1":null}',
      '{"id":3,"amount":9223372036854775807,"ratio":{"$real":"-Infinity"},"note":null,"raw":null,"1":"x"}',
      '{"id":4,"amount":12,"ratio":2.5,"note":"ü \\"quoted\\"\\n","raw":{"$base64":"aGk="},"1":""}',
      '',
    ])
    const sha256 = createHash('sha256').update(bytes).digest('hex')
    expect(response.headers.get('x-result-sha256')).toBe(sha256)
    expect(job.result).toMatchObject({sha256, bytes: bytes.length})
  })

  it('keeps the chosen columns in the order asked for', async () => {
    const queued = await t.call('POST', '/api/v1/jobs/trigger', {body: {source_type: 'database', config: {connection: 'ledger', table: 'ledger', columns: ['raw', 'amount'], limit: 1}}})
    const job = await waitForJob(t, queued.body.job_id)
    const text = await (await fetch(`${t.url}/api/v1/jobs/result/${job.job_id}`, {headers: {authorization: `Bearer ${t.token}`}})).text()
    expect(text).toBe('{"raw":{"$base64":"AP8="},"amount":9007199254740993}\n')
  })
})
