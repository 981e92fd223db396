import {randomUUID} from 'node:crypto'
import {mkdtempSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import {describe, expect, it} from 'vitest'

import {SqliteJobStore} from '../../../src/service/store/sqlite-store.js'

const store = () => new SqliteJobStore(path.join(mkdtempSync(path.join(os.tmpdir(), 'infra-store-')), 'jobs.db'))
const newJob = () => ({id: randomUUID(), sourceType: 'file', config: {path: 'a.txt'}, maxAttempts: 2, tokenId: 'token-1'})

describe('SqliteJobStore.fail', () => {
  it('requeues after the backoff while attempts remain, then fails for good', async () => {
    const jobs = store()
    const {job} = await jobs.create(newJob())
    const start = new Date()
    expect((await jobs.claim(60_000, 1, start)).map((j) => j.id)).toEqual([job.id])
    expect(await jobs.fail(job.id, 'source down', 5_000)).toBe('queued')
    expect(await jobs.get(job.id)).toMatchObject({status: 'queued', error: 'source down', attempts: 1, finishedAt: null})
    // Not runnable before its backoff has passed.
    expect(await jobs.claim(60_000, 1, new Date(start.getTime() + 1_000))).toEqual([])
    expect((await jobs.claim(60_000, 1, new Date(Date.now() + 6_000))).map((j) => j.id)).toEqual([job.id])
    expect(await jobs.fail(job.id, 'still down', 5_000)).toBe('failed')
    expect(await jobs.get(job.id)).toMatchObject({status: 'failed', error: 'still down', attempts: 2})
    expect((await jobs.get(job.id))?.finishedAt).toBeTruthy()
    await jobs.close()
  })

  it('fails at once when the error is permanent or a cancel was asked for', async () => {
    const jobs = store()
    const permanent = (await jobs.create(newJob())).job
    const cancelled = (await jobs.create(newJob())).job
    await jobs.claim(60_000, 2)
    expect(await jobs.fail(permanent.id, 'no such table', 1_000, true)).toBe('failed')
    await jobs.cancel(cancelled.id)
    expect(await jobs.fail(cancelled.id, 'aborted', 1_000)).toBe('failed')
    expect(await jobs.countsByState()).toMatchObject({failed: 2, queued: 0, running: 0})
    await jobs.close()
  })
})
