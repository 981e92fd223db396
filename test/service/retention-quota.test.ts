import {existsSync, writeFileSync} from 'node:fs'
import path from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {LocalResults} from '../../src/service/results.js'
import {RetentionSweeper} from '../../src/service/retention.js'
import {createToken} from '../../src/service/tokens.js'
import {type TestService, startTestService, waitForJob} from '../support/service.js'

/** Retention and the per-token queue quota on the real service (SQLite), over real HTTP. */
let t: TestService

beforeAll(async () => {
  // Concurrency 1 and a slow job: the queue fills while the first job runs.
  t = await startTestService({}, {concurrency: 1, maxQueuedPerToken: 3})
  writeFileSync(path.join(t.fileRoot, 'a.txt'), 'alpha\n')
})
afterAll(async () => {
  await t?.service.stop()
})

const trigger = (body: unknown, token?: string) => t.call('POST', '/api/v1/jobs/trigger', {body, token})

describe('queue quota per token', () => {
  it('answers 429 with Retry-After past the quota of queued jobs, for that token only', async () => {
    await t.service.workers.stop(0)
    const answers = []
    for (let i = 0; i < 4; i++) answers.push(await trigger({source_type: 'file', config: {path: 'a.txt'}}))
    expect(answers.map((answer) => answer.status)).toEqual([202, 202, 202, 429])
    expect(answers[3].body.error).toMatchObject({code: 'QUEUE_FULL', message: 'this token already has 3 queued jobs, its quota; retry when some have started'})
    expect(answers[3].headers.get('retry-after')).toBe('10')
    const {token: other} = await createToken(t.service.store, 'other')
    expect((await trigger({source_type: 'file', config: {path: 'a.txt'}}, other)).status).toBe(202)
  })
})

describe('retention', () => {
  it('deletes jobs that ended before the retention and their result files; queued and recent jobs stay', async () => {
    const fresh = await startTestService({}, {retentionMs: 60_000})
    try {
      writeFileSync(path.join(fresh.fileRoot, 'a.txt'), 'alpha\n')
      const done = await waitForJob(fresh, (await fresh.call('POST', '/api/v1/jobs/trigger', {body: {source_type: 'file', config: {path: 'a.txt'}}})).body.job_id)
      const file = (await fresh.service.store.get(done.job_id))!.result!.path
      expect(existsSync(file)).toBe(true)
      const sweeper = new RetentionSweeper(fresh.service.store, new LocalResults(), {retentionMs: 60_000, batch: 1})
      // Ended a moment ago: kept.
      expect(await sweeper.sweep()).toBe(0)
      expect((await fresh.call('GET', `/api/v1/jobs/result/${done.job_id}`)).status).toBe(200)
      // A minute and a bit later: gone, file and row.
      expect(await sweeper.sweep(new Date(Date.now() + 61_000))).toBe(1)
      expect(existsSync(file)).toBe(false)
      expect((await fresh.call('GET', `/api/v1/jobs/status/${done.job_id}`)).status).toBe(404)
    } finally {
      await fresh.service.stop()
    }
  })
})
