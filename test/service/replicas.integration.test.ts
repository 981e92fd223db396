import {mkdtempSync} from 'node:fs'
import http from 'node:http'
import os from 'node:os'
import path from 'node:path'

import {type ResultPromise, execa} from 'execa'
import pg from 'pg'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {BIN, runCli} from '../support/cli.js'
import {freePort} from '../support/net.js'
import {startPostgres, type TestPostgres} from '../support/postgres.js'

const JOBS = 3000

/**
 * Three real service processes on one real PostgreSQL 15: thousands of jobs go through while one
 * replica is killed with SIGKILL. Each job's work is a request to a recording HTTP server, so every
 * run of every job is seen from outside the service.
 */
describe('three replicas on PostgreSQL', () => {
  let server: TestPostgres
  const replicas: (ResultPromise | undefined)[] = []
  /** Every request the workload server received: which job, and when it arrived and was answered. */
  const runs: {n: number; arrived: number; answered: number}[] = []
  const workload = http.createServer((request, response) => {
    const n = Number(new URL(request.url!, 'http://x').searchParams.get('n'))
    const arrived = Date.now()
    setTimeout(() => {
      runs.push({n, arrived, answered: Date.now()})
      response.end(`payload ${n}\n`)
    }, 20 + (n % 5) * 20)
  })

  beforeAll(async () => {
    server = await startPostgres()
    await new Promise<void>((resolve) => workload.listen(0, '127.0.0.1', resolve))
  }, 120_000)
  afterAll(async () => {
    for (const replica of replicas) replica?.kill('SIGKILL')
    await Promise.allSettled(replicas)
    workload.close()
    await server?.stop()
  }, 60_000)

  it('ends every accepted job exactly once, with no run after another replica finished it, when one is SIGKILLed', async () => {
    const started = Date.now()
    const url = await server.createDatabase()
    const target = `http://127.0.0.1:${(workload.address() as {port: number}).port}`
    const created = await runCli(['service', 'token', 'create', '--name', 'replicas', '--database-url', url, '--json'])
    expect(created.exitCode, created.stderr).toBe(0)
    const token = JSON.parse(created.stdout).token as string
    const endpoints: string[] = []
    for (let i = 0; i < 3; i++) {
      const port = await freePort()
      endpoints.push(`http://127.0.0.1:${port}`)
      const dataDir = mkdtempSync(path.join(os.tmpdir(), `infra-replica-${i}-`))
      replicas.push(
        execa('node', [BIN, 'service', 'start', '--database-url', url, '--port', String(port), '--data-dir', dataDir, '--concurrency', '8', '--allow-private-http', '--lease-seconds', '3', '--log-level', 'silent'], {reject: false, stdin: 'ignore'}),
      )
    }
    await Promise.all(endpoints.map(waitUntilReady))

    const trigger = async (endpoint: string, n: number, key?: string) => {
      const response = await fetch(`${endpoint}/api/v1/jobs/trigger`, {
        method: 'POST',
        headers: {authorization: `Bearer ${token}`, 'content-type': 'application/json', ...(key ? {'idempotency-key': key} : {})},
        body: JSON.stringify({source_type: 'http', config: {url: `${target}/?n=${n}`}}),
      })
      return {status: response.status, body: (await response.json()) as {job_id: string; created: boolean}}
    }

    // The same idempotency key on two replicas at once is one job.
    const [first, second] = await Promise.all([trigger(endpoints[0], 0, 'once'), trigger(endpoints[1], 0, 'once')])
    expect([first.status, second.status]).toEqual([202, 202])
    expect([first.body.created, second.body.created].sort()).toEqual([false, true])
    expect(first.body.job_id).toBe(second.body.job_id)

    // Accepted jobs: n -> id. Triggers go round-robin, 24 at a time, to the replicas still alive.
    const accepted = new Map<number, string>([[0, first.body.job_id]])
    const alive = [0, 1, 2]
    let next = 1
    let killedAt = 0
    const sender = async () => {
      while (next < JOBS) {
        const n = next++
        const endpoint = endpoints[alive[n % alive.length]]
        try {
          const {status, body} = await trigger(endpoint, n)
          if (status === 202) accepted.set(n, body.job_id)
        } catch {
          // The replica was killed while this request was on its way: not accepted, not counted.
        }
        if (!killedAt && n >= JOBS / 3) {
          killedAt = Date.now()
          alive.splice(alive.indexOf(2), 1)
          replicas[2]!.kill('SIGKILL')
        }
      }
    }
    await Promise.all(Array.from({length: 24}, sender))
    expect(killedAt).toBeGreaterThan(0)
    expect((await replicas[2]!).signal).toBe('SIGKILL')
    expect(accepted.size).toBeGreaterThan(JOBS * 0.95)

    const db = new pg.Client(url)
    await db.connect()
    try {
      // The dead replica's jobs come back when their 3-second leases run out.
      const deadline = Date.now() + 90_000
      for (;;) {
        const {rows} = await db.query<{n: number}>("SELECT count(*)::int AS n FROM jobs WHERE status NOT IN ('succeeded', 'failed', 'cancelled')")
        if (rows[0].n === 0 || Date.now() > deadline) break
        await new Promise((resolve) => setTimeout(resolve, 500))
      }
      const {rows: jobs} = await db.query<{id: string; status: string; attempts: number; finished: Date; config: string; result: string | null}>(
        'SELECT id, status, attempts, finished_at AS finished, config, result FROM jobs',
      )
      const byId = new Map(jobs.map((job) => [job.id, job]))
      // Every accepted job is in the database once, and ended: here every one succeeds. A trigger
      // the killed replica committed but could not answer is a job too, and ends the same way.
      for (const id of accepted.values()) expect(byId.get(id)?.status).toBe('succeeded')
      expect(jobs.length).toBeGreaterThanOrEqual(accepted.size)
      expect(jobs.length).toBeLessThanOrEqual(accepted.size + 24)
      expect(jobs.filter((job) => job.status !== 'succeeded')).toEqual([])
      // The killed replica's jobs ran again elsewhere: some jobs took a second attempt.
      expect(jobs.some((job) => job.attempts > 1)).toBe(true)
      // No run of a job began after the job was finished (by whichever replica finished it), and
      // no job ran more often than its attempts say.
      const runsOf = new Map<number, typeof runs>()
      for (const run of runs) runsOf.set(run.n, [...(runsOf.get(run.n) ?? []), run])
      const numbers = new Set<number>()
      for (const job of jobs) {
        const n = Number(new URL(JSON.parse(job.config).url).searchParams.get('n'))
        expect(numbers.has(n), `job ${n} is in the database twice`).toBe(false)
        numbers.add(n)
        if (accepted.has(n)) expect(accepted.get(n)).toBe(job.id)
        const seen = runsOf.get(n) ?? []
        expect(seen.length, `job ${n}`).toBeGreaterThanOrEqual(1)
        expect(seen.length, `job ${n}`).toBeLessThanOrEqual(job.attempts)
        for (const run of seen) expect(run.arrived, `job ${n} ran after it finished`).toBeLessThanOrEqual(job.finished.getTime())
        expect(JSON.parse(job.result!).path).toBe(`db:${job.id}`)
      }
      // Any live replica serves any result, whichever replica ran the job.
      for (const n of [1, 2, 3, JOBS - 1, JOBS - 2]) {
        const id = accepted.get(n)
        if (!id) continue
        for (const endpoint of endpoints.slice(0, 2)) {
          const response = await fetch(`${endpoint}/api/v1/jobs/result/${id}`, {headers: {authorization: `Bearer ${token}`}})
          expect(response.status).toBe(200)
          expect(await response.text()).toBe(`payload ${n}\n`)
        }
      }
    } finally {
      await db.end()
    }

    // A token revoked through one replica's database is refused by every replica within a second.
    const revoked = await runCli(['service', 'token', 'revoke', 'replicas', '--database-url', url, '--json'])
    expect(revoked.exitCode, revoked.stderr).toBe(0)
    await new Promise((resolve) => setTimeout(resolve, 1100))
    for (const endpoint of endpoints.slice(0, 2)) {
      const response = await fetch(`${endpoint}/api/v1/jobs/status/${accepted.get(1)}`, {headers: {authorization: `Bearer ${token}`}})
      expect(response.status).toBe(401)
    }
    expect(Date.now() - started).toBeLessThan(150_000)
  })
})

async function waitUntilReady(endpoint: string): Promise<void> {
  for (let i = 0; i < 300; i++) {
    try {
      if ((await fetch(`${endpoint}/ready`)).ok) return
    } catch {}
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error(`${endpoint} did not become ready`)
}
