#!/usr/bin/env node
// The s3 source's memory for one 100 MB object (issue 24: "a 100 MB object adds less than 50 MB of
// memory, measured"), measured as test/service/s3-source.integration.test.ts measures it: the real
// `infra service start` process reads the object from moto (over TLS, as from S3) into a result;
// the figure is that process's peak RSS during the job (VmHWM in /proc/PID/status, reset as the job
// starts) above its RSS when it started, after a small job has loaded the SDK and opened the first
// connection.
import {execFileSync, spawn} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

import {CreateBucketCommand, PutObjectCommand, S3Client} from '@aws-sdk/client-s3'

const bin = fileURLToPath(new URL('../bin/run.js', import.meta.url))
const launcher = fileURLToPath(new URL('../test/support/moto_server.py', import.meta.url))
const OBJECT_BYTES = 100 * 1024 * 1024
const BUDGET_BYTES = 50 * 1024 * 1024
const work = mkdtempSync(path.join(os.tmpdir(), 'infra-bench-s3-'))
const children = []
process.on('exit', () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL')
})

const freePort = () =>
  new Promise((resolve, reject) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const {port} = server.address()
      server.close(() => resolve(port))
    })
    server.on('error', reject)
  })
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
async function until(what, check, timeoutMs) {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return
    await sleep(200)
  }
  throw new Error(`bench: ${what} within ${timeoutMs / 1000} s`)
}

// moto over TLS for the service (AWS_CA_BUNDLE, as the test), and plain HTTP for the bench's uploads.
const cert = path.join(work, 'cert.pem')
const key = path.join(work, 'key.pem')
execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'], {stdio: 'ignore'})
const [motoPort, plainPort, servicePort] = [await freePort(), await freePort(), await freePort()]
const moto = spawn(process.env.INFRA_TEST_PYTHON ?? 'python3', [launcher, '-H', '127.0.0.1', '-p', String(motoPort), '-c', cert, '-k', key, '--plain-port', String(plainPort)], {stdio: 'ignore'})
children.push(moto)
const plain = `http://127.0.0.1:${plainPort}`
await until('moto did not answer', async () => (await fetch(`${plain}/moto-api/`)).status < 500, 30_000)

const s3 = new S3Client({endpoint: plain, region: 'eu-west-1', forcePathStyle: true, credentials: {accessKeyId: 'test', secretAccessKey: 'test'}})
await s3.send(new CreateBucketCommand({Bucket: 'bench-exports', CreateBucketConfiguration: {LocationConstraint: 'eu-west-1'}}))
await s3.send(new PutObjectCommand({Bucket: 'bench-exports', Key: 'small/one.txt', Body: 'warm-up'}))
await s3.send(new PutObjectCommand({Bucket: 'bench-exports', Key: 'big/one.bin', Body: randomBytes(OBJECT_BYTES)}))

const env = {...process.env, AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_REGION: 'eu-west-1', AWS_ENDPOINT_URL: `https://127.0.0.1:${motoPort}`, AWS_CA_BUNDLE: cert}
const dataDir = path.join(work, 'data')
const {token} = JSON.parse(execFileSync('node', [bin, 'service', 'token', 'create', '--name', 'bench', '--data-dir', dataDir, '--json'], {env, encoding: 'utf8'}))
const service = spawn('node', [bin, 'service', 'start', '--port', String(servicePort), '--data-dir', dataDir, '--s3-buckets', 'bench-exports', '--max-result-bytes', String(2 * OBJECT_BYTES), '--log-level', 'silent'], {env, stdio: 'ignore'})
children.push(service)
const base = `http://127.0.0.1:${servicePort}`
await until('the service was not ready', async () => (await fetch(`${base}/ready`)).ok, 60_000)

const auth = {authorization: `Bearer ${token}`}
async function job(prefix) {
  const queued = await fetch(`${base}/api/v1/jobs/trigger`, {method: 'POST', headers: {...auth, 'content-type': 'application/json'}, body: JSON.stringify({source_type: 's3', config: {bucket: 'bench-exports', prefix}})})
  const {job_id: id} = await queued.json()
  for (;;) {
    const status = await (await fetch(`${base}/api/v1/jobs/status/${id}`, {headers: auth})).json()
    if (status.status === 'succeeded') return status
    if (status.status === 'failed') throw new Error(`bench: the s3 job failed: ${status.error}`)
    await sleep(100)
  }
}
const kB = (field) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${service.pid}/status`, 'utf8'))[1]) * 1024
await job('small/')
// The peak is reset (5 > /proc/PID/clear_refs, proc(5)) so that start-up's cannot hide the job's.
writeFileSync(`/proc/${service.pid}/clear_refs`, '5')
const before = kB('VmRSS')
const started = Date.now()
const done = await job('big/')
const grew = kB('VmHWM') - before
const seconds = (Date.now() - started) / 1000
const mb = (bytes) => (bytes / 1024 / 1024).toFixed(1)
console.log(`s3 source, one 100 MB object from moto (${done.result.bytes ?? 'n/a'} result bytes, ${seconds.toFixed(1)} s, load average ${os.loadavg()[0].toFixed(2)}):`)
console.log(`  peak RSS of the service process +${mb(grew)} MB = ${(grew / OBJECT_BYTES).toFixed(2)} x the object, ${(grew / BUDGET_BYTES).toFixed(2)} x the 50 MB budget${grew < BUDGET_BYTES ? '' : '  OVER BUDGET'}`)
service.kill('SIGTERM')
moto.kill('SIGTERM')
