import {mkdirSync, mkdtempSync, realpathSync, symlinkSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import {describe, expect, it} from 'vitest'

import {newJobId} from '../../src/service/store/job-id.js'
import {SqliteJobStore} from '../../src/service/store/sqlite-store.js'
import {WorkerPool} from '../../src/service/workers.js'

const folder = () => mkdtempSync(path.join(os.tmpdir(), 'infra-workers-'))
const settings = (fileRoot: string) => ({fileRoot, connections: {}, allowPrivateHttp: false, httpTimeoutMs: 1000, maxResultBytes: 1 << 20, maxRows: 1000})

async function until(check: () => Promise<boolean>, ms = 10_000) {
  const deadline = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out')
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

describe('WorkerPool claim pacing', () => {
  it('runs jobs that end at once one claim round per gap, not one per event-loop turn, and runs them all', async () => {
    const dir = folder()
    const store = new SqliteJobStore(path.join(dir, 'jobs.db'), {owner: true})
    // A missing file: each attempt fails for good the moment it starts.
    const ids = await Promise.all(Array.from({length: 6}, async () => (await store.create({id: newJobId(), sourceType: 'file', config: {path: 'missing.txt'}, maxAttempts: 1, tokenId: 't'})).job.id))
    const pool = new WorkerPool(store, {concurrency: 1, jobTimeoutMs: 1000, leaseMs: 15_000, pollMs: 5000, claimGapMs: 60, backoffBaseMs: 1000, resultsDir: path.join(dir, 'results'), settings: settings(dir)})
    await pool.start()
    try {
      await until(async () => (await Promise.all(ids.map((id) => store.get(id)))).every((job) => job?.status === 'failed'))
      const started = (await Promise.all(ids.map((id) => store.get(id)))).map((job) => Date.parse(job!.startedAt!)).sort((a, b) => a - b)
      const gaps = started.slice(1).map((at, i) => at - started[i])
      // Timers may fire a millisecond early on the clock the rows are stamped with.
      for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(55)
      expect((await store.get(ids[0]))?.error).toMatch(/does not exist under the file root/)
    } finally {
      await pool.stop(1000)
      await store.close()
    }
  })
})

describe('file source paths', () => {
  it('resolves symlinks with realpath(3): a link inside the root is read, one leading out is refused', async () => {
    const dir = realpathSync(folder())
    const root = path.join(dir, 'root')
    const outside = path.join(dir, 'outside.txt')
    mkdirSync(root)
    writeFileSync(path.join(root, 'data.txt'), 'inside\n')
    writeFileSync(outside, 'secret\n')
    symlinkSync(path.join(root, 'data.txt'), path.join(root, 'link.txt'))
    symlinkSync(outside, path.join(root, 'escape.txt'))
    const store = new SqliteJobStore(path.join(dir, 'jobs.db'), {owner: true})
    const inside = (await store.create({id: newJobId(), sourceType: 'file', config: {path: 'link.txt'}, maxAttempts: 1, tokenId: 't'})).job.id
    const escape = (await store.create({id: newJobId(), sourceType: 'file', config: {path: 'escape.txt'}, maxAttempts: 1, tokenId: 't'})).job.id
    const pool = new WorkerPool(store, {concurrency: 2, jobTimeoutMs: 1000, leaseMs: 15_000, pollMs: 50, backoffBaseMs: 1000, resultsDir: path.join(dir, 'results'), settings: settings(root)})
    await pool.start()
    try {
      await until(async () => ['succeeded', 'failed'].includes((await store.get(inside))!.status) && ['succeeded', 'failed'].includes((await store.get(escape))!.status))
      expect(await store.get(inside)).toMatchObject({status: 'succeeded', result: {bytes: 7}})
      expect(await store.get(escape)).toMatchObject({status: 'failed', error: 'config.path resolves outside the file root'})
    } finally {
      await pool.stop(1000)
      await store.close()
    }
  })
})
