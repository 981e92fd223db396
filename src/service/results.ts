import {createReadStream, readFileSync, rmSync, statSync} from 'node:fs'
import {Readable} from 'node:stream'

import {caBundleHandler} from '../aws/clients.js'
import type {Job} from './store/job-store.js'
import type {PostgresJobStore} from './store/postgres-store.js'

/**
 * Where finished results are kept. A worker writes the result to a local file first (size limit,
 * SHA-256 on the way); `keep` then moves it where every replica can serve it and says where.
 * Locations: a file path (SQLite mode, one process), `db:JOB` (PostgreSQL, small results),
 * `s3://BUCKET/KEY` (PostgreSQL with a results bucket).
 */
export interface ResultStore {
  keep(job: Pick<Job, 'id' | 'attempts'>, file: string): Promise<string>
  open(location: string): Promise<Readable>
  /**
   * Deletes a kept result: a stale attempt's copy, or an expired job's. `db:` results go with their
   * job's row (ON DELETE CASCADE), so nothing is done for them here.
   */
  discard(location: string): Promise<void>
}

/** One process: the result stays in its data folder. */
export class LocalResults implements ResultStore {
  async keep(_job: Pick<Job, 'id' | 'attempts'>, file: string): Promise<string> {
    return file
  }

  async open(location: string): Promise<Readable> {
    return createReadStream(location)
  }

  async discard(location: string): Promise<void> {
    rmSync(location, {force: true})
  }
}

export interface SharedResultsOptions {
  /** Results up to this size go into the database (bytea); larger ones to S3. */
  databaseMaxBytes: number
  /** s3://bucket/prefix for results; without it every result goes into the database. */
  bucketUrl?: string
  /** KMS key for the objects (id, ARN or alias); without it the bucket's default encryption. */
  kmsKeyId?: string
}

type S3Module = typeof import('@aws-sdk/client-s3')
let s3Client: Promise<{sdk: S3Module; client: InstanceType<S3Module['S3Client']>}> | undefined

/** One S3 client for the process (credentials from the environment: IRSA on EKS). */
const s3 = () =>
  (s3Client ??= import('@aws-sdk/client-s3').then((sdk) => ({
    sdk,
    client: new sdk.S3Client({requestHandler: caBundleHandler(), forcePathStyle: Boolean(process.env.AWS_ENDPOINT_URL), retryMode: 'adaptive', maxAttempts: 5}),
  })))

/** Several replicas: a result is kept where any of them can serve it, and the local file goes. */
export class SharedResults implements ResultStore {
  constructor(
    private readonly store: PostgresJobStore,
    private readonly options: SharedResultsOptions,
  ) {}

  async keep(job: Pick<Job, 'id' | 'attempts'>, file: string): Promise<string> {
    const size = statSync(file).size
    let location: string
    if (this.options.bucketUrl && size > this.options.databaseMaxBytes) {
      const url = new URL(this.options.bucketUrl)
      // One key per attempt: a replica that lost the job writes beside the result, never over it.
      const key = `${url.pathname.replace(/^\/+|\/+$/g, '')}${url.pathname.length > 1 ? '/' : ''}${job.id}.${job.attempts}.out`
      const {sdk, client} = await s3()
      await client.send(
        new sdk.PutObjectCommand({
          Bucket: url.hostname,
          Key: key,
          Body: createReadStream(file),
          ContentLength: size,
          ServerSideEncryption: 'aws:kms',
          ...(this.options.kmsKeyId ? {SSEKMSKeyId: this.options.kmsKeyId} : {}),
        }),
      )
      location = `s3://${url.hostname}/${key}`
    } else {
      // Not saved means the job is no longer this replica's: its success is fenced out as well.
      await this.store.saveResult(job.id, readFileSync(file))
      location = `db:${job.id}`
    }
    rmSync(file, {force: true})
    return location
  }

  async open(location: string): Promise<Readable> {
    if (location.startsWith('db:')) {
      const data = await this.store.readResult(location.slice(3))
      if (!data) throw new Error(`result ${location} is missing from the database`)
      return Readable.from([data])
    }
    if (location.startsWith('s3://')) {
      const url = new URL(location)
      const {sdk, client} = await s3()
      const object = await client.send(new sdk.GetObjectCommand({Bucket: url.hostname, Key: url.pathname.slice(1)}))
      return object.Body as Readable
    }
    // A result kept before this process used shared results (or by a SQLite service).
    return createReadStream(location)
  }

  async discard(location: string): Promise<void> {
    if (location.startsWith('db:')) return
    if (location.startsWith('s3://')) {
      const url = new URL(location)
      const {sdk, client} = await s3()
      await client.send(new sdk.DeleteObjectCommand({Bucket: url.hostname, Key: url.pathname.slice(1)}))
      return
    }
    rmSync(location, {force: true})
  }
}
