#!/usr/bin/env node
// The collection service under load on loopback: trigger and status with auth and logging on,
// beside a minimal Fastify route with no work, measured the same way in the same run.
// Targets (issue: collection service): trigger >= 10,000 req/s with every acknowledged job
// durably committed; status >= 20,000 req/s; p99 < 20 ms at 32 connections.
import {execFileSync, spawn} from 'node:child_process'
import {mkdtempSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'


const bin = fileURLToPath(new URL('../bin/run.js', import.meta.url))
const seconds = Number(process.env.BENCH_SECONDS ?? 8)
const connections = 32

const loader = fileURLToPath(new URL('load.js', import.meta.url))
// Each run's load generator is a fresh process: no run inherits another's heap or timers.
const load = (options) => JSON.parse(execFileSync(process.execPath, [loader], {input: JSON.stringify({connections, seconds, ...options}), encoding: 'utf8'}))

// Baseline: the framework alone, in a process of its own like the service.
const baselinePort = 18401
const baseline = spawn(process.execPath, ['--input-type=module', '-e', `import Fastify from 'fastify'; const app = Fastify(); app.get('/', async () => ({ok: true})); await app.listen({port: ${baselinePort}, host: '127.0.0.1'})`], {cwd: path.dirname(bin), stdio: 'ignore'})
await new Promise((resolve) => setTimeout(resolve, 1500))
const base = await load({url: `http://127.0.0.1:${baselinePort}/`})
// Gone before the service starts: measured while the baseline was still winding down, trigger
// came out about a fifth lower.
baseline.kill()
await new Promise((resolve) => baseline.on('exit', resolve))

const dataDir = mkdtempSync(path.join(os.tmpdir(), 'infra-bench-service-'))
const token = JSON.parse(execFileSync('node', [bin, 'service', 'token', 'create', '--name', 'bench', '--data-dir', dataDir, '--json'], {encoding: 'utf8'})).token
const port = 18402
// Workers run the queued jobs too (file source on a missing file fails fast): the store sees real contention.
const service = spawn('node', [bin, 'service', 'start', '--port', String(port), '--data-dir', dataDir, '--log-level', 'info', '--concurrency', '4', '--rate-limit', '1000000'], {stdio: ['ignore', 'ignore', 'ignore']})
// A failed run must not leave the service holding the port for the next one.
process.on('exit', () => service.kill('SIGTERM'))
await new Promise((resolve) => setTimeout(resolve, 2000))
const headers = {authorization: `Bearer ${token}`, 'content-type': 'application/json'}
const trigger = await load({url: `http://127.0.0.1:${port}/api/v1/jobs/trigger`, method: 'POST', headers, body: JSON.stringify({source_type: 'file', config: {path: 'bench.txt'}})})
// Let the workers drain what the trigger run queued, so status is measured on its own.
const drainStarted = Date.now()
let left = -1
for (let i = 0; i < 240; i++) {
  const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()
  left = Number(/^infra_queue_depth (\d+)$/m.exec(metrics)?.[1] ?? -1) + Number(/^infra_jobs_running (\d+)$/m.exec(metrics)?.[1] ?? 0)
  if (left === 0) break
  await new Promise((resolve) => setTimeout(resolve, 500))
}
const drained = left === 0 ? `the workers ran the ${Math.round(trigger.rps * seconds).toLocaleString('en')} queued jobs in ${((Date.now() - drainStarted) / 1000).toFixed(0)} s` : `${left} jobs still queued: status was measured with the workers busy`
const queued = await (await fetch(`http://127.0.0.1:${port}/api/v1/jobs/trigger`, {method: 'POST', headers, body: JSON.stringify({source_type: 'file', config: {path: 'x'}})})).json()
// One job polled over and over: the service answers from memory until the job changes.
const status = await load({url: `http://127.0.0.1:${port}/api/v1/jobs/status/${queued.job_id}`, headers})
// Many jobs, each asked for once in a while: more than the service keeps in memory (10,000), so
// every answer is a database read.
const ids = []
for (let cursor = ''; ids.length < 20_000; ) {
  const page = await (await fetch(`http://127.0.0.1:${port}/api/v1/jobs?limit=500${cursor && `&cursor=${cursor}`}`, {headers})).json()
  if (!page.jobs) throw new Error(`listing jobs failed: ${JSON.stringify(page)}`)
  ids.push(...page.jobs.map((job) => job.job_id))
  if (!page.next_cursor) break
  cursor = page.next_cursor
}
const statusMany = await load({url: `http://127.0.0.1:${port}`, headers, paths: ids.map((id) => `/api/v1/jobs/status/${id}`)})
service.kill('SIGTERM')

const row = (name, r, target) =>
  console.log(`${name.padEnd(40)} ${Math.round(r.rps).toString().padStart(7)} req/s  p50 ${String(r.p50).padStart(3)} ms  p99 ${String(r.p99).padStart(4)} ms  errors ${r.errors}  = ${(r.rps / base.rps).toFixed(2)} x baseline${target ? `   (target: ${target})` : ''}`)
console.log(`${seconds} s each, ${connections} connections, ${os.cpus().length} cores, load generator on the same machine`)
row('minimal Fastify route (baseline)', base)
row('POST /api/v1/jobs/trigger (durable)', trigger, '>= 10000 req/s, p99 < 20 ms')
row('GET /api/v1/jobs/status/:id (one job)', status, '>= 20000 req/s, p99 < 20 ms')
row(`  the same, ${ids.length.toLocaleString('en')} jobs in turn`, statusMany)
console.log(`between the runs, ${drained}`)
