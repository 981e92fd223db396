import {mkdtempSync} from 'node:fs'
import http from 'node:http'
import os from 'node:os'
import path from 'node:path'

import {type ResultPromise, execa} from 'execa'
import {afterAll, describe, expect, it} from 'vitest'

import {BIN, runCli} from '../support/cli.js'
import {freePort} from '../support/net.js'

/**
 * kill -9 in the middle of the work: every accepted job still ends succeeded, failed or
 * cancelled, and a job that ran twice shows it in its attempts.
 */
describe('the service survives SIGKILL', () => {
  const completions = new Map<string, number>()
  const slow = http.createServer((request, response) => {
    const id = new URL(request.url!, 'http://x').searchParams.get('n')!
    setTimeout(() => {
      completions.set(id, (completions.get(id) ?? 0) + 1)
      response.end(`payload ${id}`)
    }, 700)
  })
  let service: ResultPromise | undefined
  afterAll(() => {
    service?.kill('SIGKILL')
    slow.close()
  })

  it('loses no accepted job', async () => {
    await new Promise<void>((resolve) => slow.listen(0, '127.0.0.1', resolve))
    const target = `http://127.0.0.1:${(slow.address() as {port: number}).port}`
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'infra-crash-'))
    const port = await freePort()
    const endpoint = `http://127.0.0.1:${port}`
    const start = () =>
      execa('node', [BIN, 'service', 'start', '--port', String(port), '--data-dir', dataDir, '--concurrency', '2', '--allow-private-http', '--lease-seconds', '2', '--log-level', 'silent'], {reject: false})
    const token = JSON.parse((await runCli(['service', 'token', 'create', '--name', 'crash', '--data-dir', dataDir, '--json'])).stdout).token
    const env = {INFRA_SERVICE_URL: endpoint, INFRA_SERVICE_TOKEN: token}
    service = start()
    await waitUntilUp(endpoint)

    const ids: string[] = []
    for (let n = 0; n < 8; n++) {
      const response = await fetch(`${endpoint}/api/v1/jobs/trigger`, {
        method: 'POST',
        headers: {authorization: `Bearer ${token}`, 'content-type': 'application/json'},
        body: JSON.stringify({source_type: 'http', config: {url: `${target}/?n=${n}`}}),
      })
      expect(response.status).toBe(202)
      ids.push(((await response.json()) as {job_id: string}).job_id)
    }
    // Kill while the second pair of jobs is mid-flight.
    await new Promise((resolve) => setTimeout(resolve, 1000))
    service.kill('SIGKILL')
    await service
    service = start()
    await waitUntilUp(endpoint)

    const deadline = Date.now() + 60_000
    let jobs: any[] = []
    while (Date.now() < deadline) {
      jobs = await Promise.all(ids.map(async (id) => JSON.parse((await runCli(['jobs', 'status', id, '--json'], {env})).stdout)))
      if (jobs.every((job) => ['succeeded', 'failed', 'cancelled'].includes(job.status))) break
      await new Promise((resolve) => setTimeout(resolve, 500))
    }
    expect(jobs.map((job) => job.status)).toEqual(Array(8).fill('succeeded'))
    // Some jobs were interrupted and ran again; each such run is visible in the attempts.
    expect(jobs.some((job) => job.attempts > 1)).toBe(true)
    jobs.forEach((job, n) => expect(completions.get(String(n)) ?? 0).toBeLessThanOrEqual(job.attempts))
  })
})

async function waitUntilUp(endpoint: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    try {
      if ((await fetch(`${endpoint}/ready`)).ok) return
    } catch {}
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error(`service did not start at ${endpoint}`)
}

describe('the service stops gracefully on SIGTERM, and on SIGHUP (a closed terminal) alike', () => {
  it.each(['SIGTERM', 'SIGHUP'] as const)('on %s: /ready says 503 while it drains, it finishes the running job, takes no new work, and exits 0', async (signal) => {
    const slow = http.createServer((_request, response) => setTimeout(() => response.end('late but complete'), 800))
    await new Promise<void>((resolve) => slow.listen(0, '127.0.0.1', resolve))
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'infra-sigterm-'))
    const port = await freePort()
    const endpoint = `http://127.0.0.1:${port}`
    const token = JSON.parse((await runCli(['service', 'token', 'create', '--name', 'term', '--data-dir', dataDir, '--json'])).stdout).token
    // A drain of 1 s: the time a load balancer would take to stop sending work here.
    const start = () => execa('node', [BIN, 'service', 'start', '--port', String(port), '--data-dir', dataDir, '--allow-private-http', '--log-level', 'silent', '--drain-seconds', '1'], {reject: false})
    let service = start()
    await waitUntilUp(endpoint)
    const response = await fetch(`${endpoint}/api/v1/jobs/trigger`, {
      method: 'POST',
      headers: {authorization: `Bearer ${token}`, 'content-type': 'application/json'},
      body: JSON.stringify({source_type: 'http', config: {url: `http://127.0.0.1:${(slow.address() as {port: number}).port}/`}}),
    })
    const {job_id: id} = (await response.json()) as {job_id: string}
    await new Promise((resolve) => setTimeout(resolve, 300))
    service.kill(signal)
    // Still listening while it drains, but no longer ready: a balancer takes it out of rotation.
    let ready = 200
    for (let tries = 0; tries < 20 && ready === 200; tries++) {
      ready = (await fetch(`${endpoint}/ready`)).status
      if (ready === 200) await new Promise((resolve) => setTimeout(resolve, 25))
    }
    expect(ready).toBe(503)
    const exited = await service
    expect([exited.exitCode, exited.signal]).toEqual([0, undefined])
    // After a restart the job is there, finished by the process that was told to stop.
    service = start()
    await waitUntilUp(endpoint)
    const status = JSON.parse((await runCli(['jobs', 'status', id, '--json'], {env: {INFRA_SERVICE_URL: endpoint, INFRA_SERVICE_TOKEN: token}})).stdout)
    expect(status).toMatchObject({status: 'succeeded', attempts: 1})
    service.kill('SIGKILL')
    slow.close()
  })
})
