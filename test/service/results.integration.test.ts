import {mkdtempSync, readdirSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import {CreateBucketCommand, HeadObjectCommand, S3Client} from '@aws-sdk/client-s3'

import {SharedResults} from '../../src/service/results.js'
import {RetentionSweeper} from '../../src/service/retention.js'
import type {PostgresJobStore} from '../../src/service/store/postgres-store.js'
import {afterAll, beforeAll, describe, expect, inject, it} from 'vitest'

import {caBundleHandler} from '../../src/aws/clients.js'
import {type RunningService, startService} from '../../src/service/server.js'
import {createToken} from '../../src/service/tokens.js'
import {startPostgres, type TestPostgres} from '../support/postgres.js'

/**
 * Two replicas on one PostgreSQL share results: small ones in the database, large ones in S3
 * (moto) with SSE-KMS; each serves what the other ran, and no result stays on a replica's disk.
 */
describe('shared results', () => {
  let server: TestPostgres
  const replicas: RunningService[] = []
  const fileRoot = mkdtempSync(path.join(os.tmpdir(), 'infra-shared-files-'))
  const s3 = () => new S3Client({forcePathStyle: true, requestHandler: caBundleHandler()})

  beforeAll(async () => {
    Object.assign(process.env, {AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_REGION: 'eu-west-1', AWS_ENDPOINT_URL: inject('motoEndpoint'), AWS_CA_BUNDLE: inject('motoCaBundle')})
    await s3().send(new CreateBucketCommand({Bucket: 'dev-infra-results', CreateBucketConfiguration: {LocationConstraint: 'eu-west-1'}}))
    server = await startPostgres()
    const databaseUrl = await server.createDatabase()
    for (let i = 0; i < 2; i++) {
      replicas.push(
        await startService({
          host: '127.0.0.1',
          port: 0,
          dataDir: mkdtempSync(path.join(os.tmpdir(), `infra-shared-${i}-`)),
          databaseUrl,
          resultsBucket: 's3://dev-infra-results/jobs',
          resultsKmsKey: 'alias/infra-results',
          resultsInDatabaseBytes: 1000,
          concurrency: 2,
          jobTimeoutMs: 10_000,
          maxAttempts: 1,
          logLevel: 'silent',
          version: 'test',
          settings: {fileRoot, connections: {}, allowPrivateHttp: false, httpTimeoutMs: 5000, maxResultBytes: 1 << 20, maxRows: 1000},
        }),
      )
    }
  }, 120_000)
  afterAll(async () => {
    for (const replica of replicas) await replica.stop()
    await server?.stop()
    delete process.env.AWS_ENDPOINT_URL
  }, 60_000)

  it('keeps a small result in the database and a large one in S3 under KMS, and either replica serves both', async () => {
    writeFileSync(path.join(fileRoot, 'small.txt'), 'a small result\n')
    writeFileSync(path.join(fileRoot, 'large.txt'), 'x'.repeat(5000))
    const {token} = await createToken(replicas[0].store, 'shared')
    const call = async (replica: RunningService, method: string, route: string, body?: unknown) => {
      const response = await fetch(`${replica.url}${route}`, {method, headers: {authorization: `Bearer ${token}`, ...(body ? {'content-type': 'application/json'} : {})}, body: body ? JSON.stringify(body) : undefined})
      return {status: response.status, text: await response.text(), headers: response.headers}
    }
    const ids: Record<string, string> = {}
    for (const name of ['small.txt', 'large.txt']) ids[name] = JSON.parse((await call(replicas[0], 'POST', '/api/v1/jobs/trigger', {source_type: 'file', config: {path: name}})).text).job_id
    const deadline = Date.now() + 30_000
    for (const id of Object.values(ids)) {
      while ((await replicas[1].store.get(id))?.status !== 'succeeded') {
        expect(Date.now()).toBeLessThan(deadline)
        await new Promise((resolve) => setTimeout(resolve, 100))
      }
    }
    const small = (await replicas[1].store.get(ids['small.txt']))!.result!
    const large = (await replicas[1].store.get(ids['large.txt']))!.result!
    expect(small.path).toBe(`db:${ids['small.txt']}`)
    expect(large.path).toBe(`s3://dev-infra-results/jobs/${ids['large.txt']}.1.out`)
    const object = await s3().send(new HeadObjectCommand({Bucket: 'dev-infra-results', Key: `jobs/${ids['large.txt']}.1.out`}))
    expect(object).toMatchObject({ServerSideEncryption: 'aws:kms', ContentLength: 5000})
    expect(object.SSEKMSKeyId).toContain('alias/infra-results')
    for (const replica of replicas) {
      const smallBody = await call(replica, 'GET', `/api/v1/jobs/result/${ids['small.txt']}`)
      expect(smallBody).toMatchObject({status: 200, text: 'a small result\n'})
      expect(smallBody.headers.get('x-result-bytes')).toBe('15')
      expect((await call(replica, 'GET', `/api/v1/jobs/result/${ids['large.txt']}`)).text).toBe('x'.repeat(5000))
    }
    // Nothing stays on a replica's own disk.
    for (const replica of replicas) expect(readdirSync(replica.workers.options.resultsDir)).toEqual([])

    // Past the retention both jobs go, the database's result with its row and the S3 object.
    const store = replicas[1].store as PostgresJobStore
    const sweeper = new RetentionSweeper(store, new SharedResults(store, {databaseMaxBytes: 1000, bucketUrl: 's3://dev-infra-results/jobs'}), {retentionMs: 86_400_000})
    expect(await sweeper.sweep(new Date())).toBe(0)
    expect(await sweeper.sweep(new Date(Date.now() + 86_400_000 + 60_000))).toBe(2)
    expect(await store.readResult(ids['small.txt'])).toBeUndefined()
    await expect(s3().send(new HeadObjectCommand({Bucket: 'dev-infra-results', Key: `jobs/${ids['large.txt']}.1.out`}))).rejects.toMatchObject({name: 'NotFound'})
    expect((await call(replicas[0], 'GET', `/api/v1/jobs/status/${ids['large.txt']}`)).status).toBe(404)
  })
})
