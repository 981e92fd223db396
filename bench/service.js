#!/usr/bin/env node
// The collection service beside the seed's own stack (bench/seed-app: FastAPI + uvicorn + SQLite,
// the same API), both driven with the same load on loopback in the same run.
// Target (issue 11): trigger throughput >= 6 x the seed's, every 202 durably committed first.
//
// The seed runs in a Python virtual environment made on first use (INFRA_BENCH_VENV, default in
// the temporary folder) with fastapi and uvicorn from the configured package index; uvloop and
// httptools are added when the index has them (the seed's best footing), and the run says so.
// Load: wrk (-t2) when it is installed, else autocannon (bench/load.js); the run says which.
import {execFile, execFileSync, spawn, spawnSync} from 'node:child_process'
import {existsSync, mkdtempSync, readFileSync, rmSync, statfsSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {promisify} from 'node:util'

import Database from 'better-sqlite3'
import pg from 'pg'

import {postgresMissing, startPostgres} from '../test/support/postgres-server.js'

const bin = fileURLToPath(new URL('../bin/run.js', import.meta.url))
const seedApp = fileURLToPath(new URL('seed-app', import.meta.url))
const seconds = Number(process.env.BENCH_SECONDS ?? 8)
const connections = 32
// INFRA_BENCH_DIR=/dev/shm measures with fsync costing nothing (a disk with power-loss protection).
const work = mkdtempSync(path.join(process.env.INFRA_BENCH_DIR ?? os.tmpdir(), 'infra-bench-service-'))
// tmpfs (0x01021994) makes fsync free and nothing durable: said beside the figures.
const onTmpfs = statfsSync(work).type === 0x01021994
const children = []
process.on('exit', () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGTERM')
})

// --- The seed's stack: a virtual environment with FastAPI and uvicorn --------------------------
const venv = process.env.INFRA_BENCH_VENV ?? path.join(os.tmpdir(), 'infra-bench-seed-venv')
const python = path.join(venv, 'bin', 'python')
const has = (module) => spawnSync(python, ['-c', `import ${module}`], {stdio: 'ignore'}).status === 0
if (!existsSync(python) || !has('fastapi') || !has('uvicorn')) {
  console.error(`bench: making the seed's virtual environment in ${venv} (pip install fastapi uvicorn)`)
  const made = spawnSync('python3', ['-m', 'venv', venv], {stdio: 'inherit'})
  if (made.status !== 0) throw new Error('bench: python3 -m venv failed; install python3 with venv to measure against the seed')
  // --retries 0: an index that is not reachable fails now, not after minutes of backoff.
  const pip = spawnSync(path.join(venv, 'bin', 'pip'), ['install', '--quiet', '--retries', '0', 'fastapi', 'uvicorn'], {stdio: ['ignore', 'ignore', 'inherit']})
  if (pip.status !== 0 || !has('fastapi')) throw new Error('bench: pip install fastapi uvicorn failed; check the package index (pip config list)')
}
if (!has('uvloop') || !has('httptools')) spawnSync(path.join(venv, 'bin', 'pip'), ['install', '--quiet', '--retries', '0', 'uvloop', 'httptools'], {stdio: 'ignore'})
const seedFooting = has('uvloop') && has('httptools') ? 'uvicorn with uvloop and httptools' : 'plain uvicorn (uvloop/httptools not in the index)'

// --- Load ---------------------------------------------------------------------------------------
const wrk = spawnSync('wrk', ['--version'], {encoding: 'utf8'}).error ? undefined : 'wrk'
const loader = fileURLToPath(new URL('load.js', import.meta.url))

const run = promisify(execFile)

/**
 * {rps, p50, p99, errors, non2xx, timeouts, ok}: errors counts both kinds, kept apart so a failing
 * server (non-2xx answers) is not mistaken for an overloaded box (requests timed out). The same connections and time for every target (split over several URLs when given). */
async function load({url, method = 'GET', headers = {}, body}) {
  if (Array.isArray(url)) {
    // One load generator per replica, the connections shared out: what a load balancer does.
    const parts = await Promise.all(url.map((one) => loadOne({url: one, method, headers, body}, Math.round(connections / url.length))))
    const sum = (key) => parts.reduce((total, part) => total + part[key], 0)
    return {rps: sum('rps'), p50: Math.max(...parts.map((p) => p.p50)), p99: Math.max(...parts.map((p) => p.p99)), errors: sum('errors'), non2xx: sum('non2xx'), timeouts: sum('timeouts'), ok: sum('ok')}
  }
  return loadOne({url, method, headers, body}, connections)
}

async function loadOne({url, method, headers, body}, connections) {
  if (wrk) {
    const script = path.join(work, `wrk-${Math.random().toString(36).slice(2)}.lua`)
    writeFileSync(script, [`wrk.method = ${JSON.stringify(method)}`, ...(body ? [`wrk.body = ${JSON.stringify(body)}`] : []), ...Object.entries(headers).map(([k, v]) => `wrk.headers[${JSON.stringify(k)}] = ${JSON.stringify(v)}`)].join('\n'))
    const {stdout: out} = await run('wrk', ['-t2', `-c${connections}`, `-d${seconds}s`, '--latency', '-s', script, url], {encoding: 'utf8'})
    const ms = (label) => {
      const match = new RegExp(`^\\s+${label}%\\s+([\\d.]+)(us|ms|s)`, 'm').exec(out)
      return match ? Number((Number(match[1]) * {us: 0.001, ms: 1, s: 1000}[match[2]]).toFixed(1)) : NaN
    }
    const total = Number(/(\d+) requests in/.exec(out)[1])
    const bad = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0)
    const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out)
    const errors = bad + (socket ? socket.slice(1).reduce((sum, n) => sum + Number(n), 0) : 0)
    return {rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)[1]), p50: ms(50), p99: ms(99), errors, non2xx: bad, timeouts: socket ? Number(socket[4]) : 0, ok: total - bad}
  }
  const result = JSON.parse(await new Promise((resolve, reject) => {
    const child = execFile(process.execPath, [loader], {encoding: 'utf8'}, (error, stdout) => (error ? reject(error) : resolve(stdout)))
    child.stdin.end(JSON.stringify({connections, seconds, url, method, headers, body}))
  }))
  return {...result, ok: Math.round(result.rps * seconds) - result.errors}
}

// CPU seconds a process spent (user + system, all its threads; Linux /proc, else undefined): with
// four sessions sharing the cores, req/s alone moves with the neighbours; CPU time per request less.
const ticks = Number(spawnSync('getconf', ['CLK_TCK'], {encoding: 'utf8'}).stdout) || 100
const cpuSeconds = (pid) => {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
    return (Number(fields[11]) + Number(fields[12])) / ticks
  } catch {
    return undefined
  }
}
/** load(), with the target process's CPU seconds during it and the load average before. */
async function measured(pid, target) {
  const loadBefore = os.loadavg()[0]
  const before = cpuSeconds(pid)
  const result = await load(target)
  const after = cpuSeconds(pid)
  return {...result, loadBefore, cpu: before === undefined || after === undefined ? undefined : after - before}
}

async function waitFor(url) {
  for (let i = 0; i < 200; i++) {
    try {
      if ((await fetch(url)).ok) return
    } catch {}
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error(`bench: ${url} did not come up`)
}

const stop = (child) =>
  new Promise((resolve) => {
    if (child.exitCode !== null) return resolve()
    child.once('exit', resolve)
    child.kill('SIGTERM')
  })

const job = JSON.stringify({source_type: 'file', config: {path: 'bench.txt'}})
const countJobs = (file) => {
  const db = new Database(file, {readonly: true})
  try {
    return db.prepare('SELECT COUNT(*) AS n FROM jobs').get().n
  } finally {
    db.close()
  }
}

// --- The seed ------------------------------------------------------------------------------------
const seedToken = 'infra_seed-bench-token'
const seedDb = path.join(work, 'seed.db')
const seedPort = 18401
const seed = spawn(python, ['-m', 'uvicorn', '--app-dir', seedApp, 'app:app', '--host', '127.0.0.1', '--port', String(seedPort), '--log-level', 'warning', '--no-access-log'], {
  env: {...process.env, SEED_DB: seedDb, SEED_TOKEN: seedToken},
  stdio: ['ignore', 'ignore', 'inherit'],
})
children.push(seed)
await waitFor(`http://127.0.0.1:${seedPort}/health`)
const seedHeaders = {authorization: `Bearer ${seedToken}`, 'content-type': 'application/json'}
const seedTrigger = await measured(seed.pid, {url: `http://127.0.0.1:${seedPort}/api/v1/jobs/trigger`, method: 'POST', headers: seedHeaders, body: job})
const seedJob = await (await fetch(`http://127.0.0.1:${seedPort}/api/v1/jobs/trigger`, {method: 'POST', headers: seedHeaders, body: job})).json()
const seedStatus = await load({url: `http://127.0.0.1:${seedPort}/api/v1/jobs/status/${seedJob.job_id}`, headers: seedHeaders})
// Gone before the service starts: the two never share the cores.
await stop(seed)
const seedCommitted = countJobs(seedDb) - 1

// --- The ceiling: a bare Fastify route ----------------------------------------------------------
// The same POST answered 202 with a fixed body by Fastify alone: no auth, validation, database,
// logs or workers. What any service built on Fastify could do on these cores in this run.
const barePort = 18403
const bare = spawn(process.execPath, ['--input-type=module', '-e', `
  import Fastify from 'fastify'
  const app = Fastify()
  app.get('/health', async () => ({status: 'ok'}))
  app.post('/api/v1/jobs/trigger', async (request, reply) => reply.status(202).send({job_id: 'bench', status: 'queued', created: true}))
  await app.listen({host: '127.0.0.1', port: ${barePort}})
`], {cwd: fileURLToPath(new URL('..', import.meta.url)), stdio: ['ignore', 'ignore', 'inherit']})
children.push(bare)
await waitFor(`http://127.0.0.1:${barePort}/health`)
const bareTrigger = await measured(bare.pid, {url: `http://127.0.0.1:${barePort}/api/v1/jobs/trigger`, method: 'POST', headers: seedHeaders, body: job})
await stop(bare)

// --- The service ---------------------------------------------------------------------------------
const dataDir = path.join(work, 'service')
const token = JSON.parse(execFileSync('node', [bin, 'service', 'token', 'create', '--name', 'bench', '--data-dir', dataDir, '--json'], {encoding: 'utf8'})).token
const port = 18402
// Workers run the queued jobs too (file source on a missing file fails fast): the store sees real
// contention. Access logging stays on, as in production. One token queues every request of the
// load: its queue quota is lifted, as the rate limit is.
const service = spawn('node', [bin, 'service', 'start', '--port', String(port), '--data-dir', dataDir, '--log-level', 'info', '--concurrency', '4', '--rate-limit', '1000000', '--max-queued-per-token', '100000000'], {stdio: ['ignore', 'ignore', 'inherit']})
children.push(service)
await waitFor(`http://127.0.0.1:${port}/ready`)
const headers = {authorization: `Bearer ${token}`, 'content-type': 'application/json'}
const trigger = await measured(service.pid, {url: `http://127.0.0.1:${port}/api/v1/jobs/trigger`, method: 'POST', headers, body: job})
const queued = await (await fetch(`http://127.0.0.1:${port}/api/v1/jobs/trigger`, {method: 'POST', headers, body: job})).json()
const status = await load({url: `http://127.0.0.1:${port}/api/v1/jobs/status/${queued.job_id}`, headers})
await stop(service)
const committed = countJobs(path.join(dataDir, 'jobs.db')) - 1

// --- The service on PostgreSQL: one replica, then three behind a shared-out load -----------------
// A real PostgreSQL 15 on this machine (test/support/postgres-server.js), a fresh database per run.
const postgresProblem = postgresMissing()
const postgresRuns = []
if (postgresProblem) console.error(`bench: PostgreSQL mode skipped: ${postgresProblem}`)
else {
  const server = await startPostgres()
  try {
    for (const replicas of [1, 3]) {
      const url = await server.createDatabase()
      const pgToken = JSON.parse(execFileSync('node', [bin, 'service', 'token', 'create', '--name', 'bench', '--database-url', url, '--json'], {encoding: 'utf8'})).token
      const pgHeaders = {authorization: `Bearer ${pgToken}`, 'content-type': 'application/json'}
      const endpoints = []
      const started = []
      for (let i = 0; i < replicas; i++) {
        const replicaPort = 18410 + i
        const replicaDir = path.join(work, `pg-${replicas}-${i}`)
        const child = spawn('node', [bin, 'service', 'start', '--port', String(replicaPort), '--data-dir', replicaDir, '--database-url', url, '--log-level', 'info', '--concurrency', '4', '--rate-limit', '1000000', '--max-queued-per-token', '100000000'], {stdio: ['ignore', 'ignore', 'inherit']})
        children.push(child)
        started.push(child)
        endpoints.push(`http://127.0.0.1:${replicaPort}`)
      }
      await Promise.all(endpoints.map((endpoint) => waitFor(`${endpoint}/ready`)))
      const pgTrigger = await load({url: endpoints.map((endpoint) => `${endpoint}/api/v1/jobs/trigger`), method: 'POST', headers: pgHeaders, body: job})
      const pgJob = await (await fetch(`${endpoints[0]}/api/v1/jobs/trigger`, {method: 'POST', headers: pgHeaders, body: job})).json()
      const pgStatus = await load({url: endpoints.map((endpoint) => `${endpoint}/api/v1/jobs/status/${pgJob.job_id}`), headers: pgHeaders})
      await Promise.all(started.map(stop))
      const client = new pg.Client(url)
      await client.connect()
      const pgCommitted = Number((await client.query('SELECT count(*) AS n FROM jobs')).rows[0].n) - 1
      await client.end()
      postgresRuns.push({replicas, trigger: pgTrigger, status: pgStatus, committed: pgCommitted})
    }
  } finally {
    await server.stop()
  }
}
rmSync(work, {recursive: true, force: true})

// --- Report --------------------------------------------------------------------------------------
const row = (name, r) => console.log(`${name.padEnd(44)} ${Math.round(r.rps).toString().padStart(7)} req/s  p50 ${String(r.p50).padStart(5)} ms  p99 ${String(r.p99).padStart(6)} ms  errors ${r.errors}${r.errors ? ` (non-2xx ${r.non2xx}, timed out ${r.timeouts}, other socket ${r.errors - r.non2xx - r.timeouts})` : ''}`)
console.log(`${seconds} s each, ${connections} connections, ${os.cpus().length} cores, load: ${wrk ? 'wrk -t2' : 'autocannon (wrk not installed)'}; seed: ${seedFooting}`)
console.log(`databases in ${path.dirname(work)}${onTmpfs ? ' (tmpfs: fsync costs nothing and nothing is durable; both stacks are measured on CPU alone)' : ' (every 2xx committed with fsync)'}`)
const durable = onTmpfs ? '' : ' (durable)'
row(`seed: POST /api/v1/jobs/trigger${durable}`, seedTrigger)
row(`service: POST /api/v1/jobs/trigger${durable}`, trigger)
row('bare Fastify route (the ceiling): POST', bareTrigger)
row('seed: GET /api/v1/jobs/status/:id', seedStatus)
row('service: GET /api/v1/jobs/status/:id', status)
// Every 202 counted by the load generator must be a row on disk after the process stopped.
console.log(`durability: seed answered ${seedTrigger.ok} x 2xx, ${seedCommitted} jobs on disk; service answered ${trigger.ok} x 202, ${committed} jobs on disk`)
if (committed < trigger.ok || seedCommitted < seedTrigger.ok) console.log('  FAILED: fewer jobs on disk than were acknowledged')
// CPU per accepted job: the seed's process alone; the service's includes its workers running the jobs.
const perJob = (r) => (r.cpu === undefined ? 'n/a' : `${Math.round((r.cpu * 1e6) / Math.max(1, r.ok))} us CPU per 2xx`)
for (const [name, r] of [['seed', seedTrigger], ['service', trigger], ['bare Fastify', bareTrigger]]) console.log(`  ${name} trigger: ${r.cpu === undefined ? 'CPU n/a' : `${r.cpu.toFixed(2)} CPU s`}, ${perJob(r)}, load average ${r.loadBefore.toFixed(2)} before`)
const ratio = trigger.rps / seedTrigger.rps
console.log(`trigger throughput: ${ratio.toFixed(2)} x the seed's stack (target: >= 6 x)${ratio >= 6 ? '' : '  BELOW TARGET'}`)
console.log(`  the ceiling: a bare Fastify route does ${(bareTrigger.rps / seedTrigger.rps).toFixed(2)} x the seed's trigger in this run; the service ${(trigger.rps / bareTrigger.rps).toFixed(2)} x the bare route`)
if (trigger.cpu && seedTrigger.cpu) console.log(`trigger CPU per job: the seed's ${((seedTrigger.cpu / seedTrigger.ok) / (trigger.cpu / trigger.ok)).toFixed(2)} x the service's`)
console.log(`status throughput:  ${(status.rps / seedStatus.rps).toFixed(2)} x the seed's stack`)
if (postgresRuns.length) {
  // PostgreSQL runs on the same cores as the replicas and the load generator here: the ratios say
  // what one machine does, not what separate nodes and RDS would.
  console.log(`PostgreSQL mode (PostgreSQL 15 in ${os.tmpdir()}, fsync on, on the same ${os.cpus().length} cores):`)
  for (const r of postgresRuns) {
    row(`postgres x${r.replicas}: POST /api/v1/jobs/trigger`, r.trigger)
    row(`postgres x${r.replicas}: GET /api/v1/jobs/status/:id`, r.status)
    console.log(`  durability: answered ${r.trigger.ok} x 202, ${r.committed} jobs in the database${r.committed < r.trigger.ok ? '  FAILED: fewer jobs than were acknowledged' : ''}`)
    console.log(`  trigger: ${(r.trigger.rps / trigger.rps).toFixed(2)} x SQLite mode; status: ${(r.status.rps / status.rps).toFixed(2)} x SQLite mode`)
  }
  const [one, three] = postgresRuns
  if (one && three) console.log(`  three replicas against one: trigger ${(three.trigger.rps / one.trigger.rps).toFixed(2)} x, status ${(three.status.rps / one.status.rps).toFixed(2)} x`)
}
