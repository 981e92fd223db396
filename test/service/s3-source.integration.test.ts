import {createHash, randomBytes} from 'node:crypto'
import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import {CreateBucketCommand, PutObjectCommand, S3Client} from '@aws-sdk/client-s3'
import {execa} from 'execa'
import {afterAll, beforeAll, describe, expect, inject, it} from 'vitest'

import {caBundleHandler} from '../../src/aws/clients.js'
import {startService} from '../../src/service/server.js'
import {BIN, runCli} from '../support/cli.js'
import {freePort} from '../support/net.js'
import {type TestService, startTestService, waitForJob} from '../support/service.js'

/** The s3 source against moto: the service's own AWS identity, objects under a prefix. */
let t: TestService
beforeAll(async () => {
  Object.assign(process.env, {AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_REGION: 'eu-west-1', AWS_ENDPOINT_URL: inject('motoEndpoint'), AWS_CA_BUNDLE: inject('motoCaBundle')})
  const s3 = new S3Client({forcePathStyle: true, requestHandler: caBundleHandler()})
  await s3.send(new CreateBucketCommand({Bucket: 'exports', CreateBucketConfiguration: {LocationConstraint: 'eu-west-1'}}))
  await s3.send(new PutObjectCommand({Bucket: 'exports', Key: 'daily/2026-11-27.csv', Body: 'id,total\n1,10\n'}))
  await s3.send(new PutObjectCommand({Bucket: 'exports', Key: 'daily/2026-11-28.bin', Body: Buffer.from([0, 1, 2, 255])}))
  await s3.send(new PutObjectCommand({Bucket: 'exports', Key: 'other/skip.txt', Body: 'no'}))
  await s3.send(new PutObjectCommand({Bucket: 'exports', Key: 'large/a.bin', Body: 'a'.repeat(3000)}))
  await s3.send(new PutObjectCommand({Bucket: 'exports', Key: 'large/b.bin', Body: 'b'.repeat(3000)}))
  // A bucket the service's identity can read (moto allows everything) but the estate does not list.
  await s3.send(new CreateBucketCommand({Bucket: 'acme-dev-service-results-111111111111', CreateBucketConfiguration: {LocationConstraint: 'eu-west-1'}}))
  await s3.send(new PutObjectCommand({Bucket: 'acme-dev-service-results-111111111111', Key: 'results/other-token.out', Body: 'someone else\'s data'}))
  t = await startTestService({maxRows: 100, s3Buckets: ['exports', 'no-such-bucket']})
})
afterAll(async () => {
  await t.service.stop()
  delete process.env.AWS_ENDPOINT_URL
})

describe('the s3 source', () => {
  it('reads only the buckets the estate lists: any other is a 400 and no job, and the results bucket may not be listed', async () => {
    const refused = await t.call('POST', '/api/v1/jobs/trigger', {body: {source_type: 's3', config: {bucket: 'acme-dev-service-results-111111111111'}}})
    expect(refused.status).toBe(400)
    expect(refused.body.error).toMatchObject({code: 'VALIDATION', field: 'config.bucket', message: expect.stringContaining('allowed: exports, no-such-bucket')})
    expect((await t.call('GET', '/api/v1/jobs')).body.jobs.filter((job: any) => job.source_type === 's3' && job.status !== 'failed' && job.status !== 'succeeded')).toEqual([])
    await expect(startService({host: '127.0.0.1', port: 0, dataDir: mkdtempSync(path.join(os.tmpdir(), 'infra-s3-')), resultsBucket: 's3://acme-dev-service-results-111111111111/results', concurrency: 1, jobTimeoutMs: 1000, maxAttempts: 1, logLevel: 'silent', version: 'test',
      settings: {fileRoot: os.tmpdir(), connections: {}, allowPrivateHttp: false, httpTimeoutMs: 1000, maxResultBytes: 1000, maxRows: 10, s3Buckets: ['exports', 'acme-dev-service-results-111111111111']}})).rejects.toMatchObject({code: 'BAD_FLAG', message: expect.stringContaining('the results bucket')})
  })

  it('collects the objects under a prefix, text as text and binary as base64', async () => {
    const queued = await t.call('POST', '/api/v1/jobs/trigger', {body: {source_type: 's3', config: {bucket: 'exports', prefix: 'daily/'}}})
    const job = await waitForJob(t, queued.body.job_id)
    expect(job).toMatchObject({status: 'succeeded', result: {rows: 2}})
    const lines = (await t.call('GET', `/api/v1/jobs/result/${job.job_id}`)).text.trim().split('\n').map((line) => JSON.parse(line))
    expect(lines.map((line) => line.key)).toEqual(['daily/2026-11-27.csv', 'daily/2026-11-28.bin'])
    expect(lines[0].body).toBe('id,total\n1,10\n')
    expect(Buffer.from(lines[1].body_base64, 'base64')).toEqual(Buffer.from([0, 1, 2, 255]))
  })

  it('fails without retrying for a bucket that does not exist, and validates the name', async () => {
    const queued = await t.call('POST', '/api/v1/jobs/trigger', {body: {source_type: 's3', config: {bucket: 'no-such-bucket'}}})
    expect(await waitForJob(t, queued.body.job_id)).toMatchObject({status: 'failed', attempts: 1})
    const invalid = await t.call('POST', '/api/v1/jobs/trigger', {body: {source_type: 's3', config: {bucket: 'Bad_Bucket'}}})
    expect(invalid.status).toBe(400)
    expect(invalid.body.error.field).toBe('config.bucket')
    const tooMany = await t.call('POST', '/api/v1/jobs/trigger', {body: {source_type: 's3', config: {bucket: 'exports', max_objects: 101}}})
    expect(tooMany.body.error).toMatchObject({code: 'VALIDATION', field: 'config.max_objects'})
  })

  it('holds the byte limit while reading: an object past what is left is refused, nothing is stored', async () => {
    const capped = await t.call('POST', '/api/v1/jobs/trigger', {body: {source_type: 's3', config: {bucket: 'exports', prefix: 'large/', max_bytes: 5000}}})
    expect(await waitForJob(t, capped.body.job_id)).toMatchObject({status: 'failed', attempts: 1, result: null, error: 'objects under the prefix exceed 5000 bytes; narrow config.prefix or set config.max_objects'})
    const one = await t.call('POST', '/api/v1/jobs/trigger', {body: {source_type: 's3', config: {bucket: 'exports', prefix: 'large/', max_bytes: 5000, max_objects: 1}}})
    expect(await waitForJob(t, one.body.job_id)).toMatchObject({status: 'succeeded', result: {rows: 1}})
  })

  it('streams a 100 MB object into the result: the process\'s peak memory grows by less than 50 MB', async () => {
    const s3 = new S3Client({forcePathStyle: true, requestHandler: caBundleHandler()})
    await s3.send(new CreateBucketCommand({Bucket: 'big-exports', CreateBucketConfiguration: {LocationConstraint: 'eu-west-1'}}))
    const object = randomBytes(100 * 1024 * 1024)
    await s3.send(new PutObjectCommand({Bucket: 'big-exports', Key: 'big/one.bin', Body: object}))
    await s3.send(new PutObjectCommand({Bucket: 'big-exports', Key: 'small/one.txt', Body: 'warm-up'}))
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'infra-s3-big-'))
    const created = await runCli(['service', 'token', 'create', '--name', 'big', '--data-dir', dataDir, '--json'])
    const token = JSON.parse(created.stdout).token as string
    const port = await freePort()
    const child = execa('node', [BIN, 'service', 'start', '--port', String(port), '--data-dir', dataDir, '--s3-buckets', 'big-exports', '--max-result-bytes', String(200 * 1024 * 1024), '--log-level', 'silent'], {reject: false, stdin: 'ignore'})
    try {
      const base = `http://127.0.0.1:${port}`
      for (let i = 0; i < 100; i++) if (await fetch(`${base}/ready`).then((r) => r.ok, () => false)) break; else await new Promise((resolve) => setTimeout(resolve, 100))
      const run = async (prefix: string) => {
        const queued = await fetch(`${base}/api/v1/jobs/trigger`, {method: 'POST', headers: {authorization: `Bearer ${token}`, 'content-type': 'application/json'}, body: JSON.stringify({source_type: 's3', config: {bucket: 'big-exports', prefix}})})
        const {job_id: id} = (await queued.json()) as {job_id: string}
        for (let i = 0; i < 1200; i++) {
          const job = (await (await fetch(`${base}/api/v1/jobs/status/${id}`, {headers: {authorization: `Bearer ${token}`}})).json()) as any
          if (job.status === 'succeeded' || job.status === 'failed') return job
          await new Promise((resolve) => setTimeout(resolve, 100))
        }
        throw new Error('the job did not end')
      }
      // The SDK and the first connection are loaded by a small job first: only the big object's cost is measured.
      expect(await run('small/')).toMatchObject({status: 'succeeded'})
      // What the job adds: the process's peak RSS during it above its RSS when it started. The peak
      // is reset first (5 > /proc/PID/clear_refs, proc(5)), so a higher peak from start-up cannot
      // hide the job's growth.
      const kB = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))![1]) * 1024
      writeFileSync(`/proc/${child.pid}/clear_refs`, '5')
      const before = kB('VmRSS')
      const job = await run('big/')
      expect(job).toMatchObject({status: 'succeeded', result: {rows: 1}})
      const grew = kB('VmHWM') - before
      console.log(`s3 source, 100 MB object: peak RSS +${(grew / 1024 / 1024).toFixed(1)} MB`)
      expect(grew).toBeLessThan(50 * 1024 * 1024)
      // And it is the object, whole: its bytes and SHA-256.
      const line = JSON.parse(await (await fetch(`${base}/api/v1/jobs/result/${job.job_id}`, {headers: {authorization: `Bearer ${token}`}})).text())
      expect(line.sha256).toBe(createHash('sha256').update(object).digest('hex'))
      expect(Buffer.from(line.body_base64, 'base64').equals(object)).toBe(true)
    } finally {
      child.kill('SIGKILL')
      await child
    }
  }, 180_000)
})
