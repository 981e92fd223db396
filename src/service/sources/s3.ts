import {createHash} from 'node:crypto'
import type {Readable} from 'node:stream'

import {PermanentJobError, type Source} from './source.js'

const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/
/**
 * Objects up to this size are read whole (text comes out as text); bigger ones are streamed into
 * the result as base64 as they arrive, so memory stays at a few chunks whatever their size.
 */
const BUFFER_UP_TO = 1 << 20

/** Input bytes encoded per write: a multiple of 3, so every block but the object's last is padding-free base64. */
const BLOCK_BYTES = 48 * 1024
const BASE64 = Buffer.from('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/', 'latin1')

/**
 * Base64 of whole 3-byte groups from `source` written into `target` at `at`; returns where it
 * ended. No string and no buffer per call: the caller reuses `target`, so a streamed object makes
 * no garbage of its own beyond the chunks the socket hands over.
 */
function encodeGroups(source: Buffer, start: number, end: number, target: Buffer, at: number): number {
  let out = at
  for (let i = start; i + 2 < end; i += 3) {
    const group = (source[i] << 16) | (source[i + 1] << 8) | source[i + 2]
    target[out++] = BASE64[group >>> 18]
    target[out++] = BASE64[(group >>> 12) & 63]
    target[out++] = BASE64[(group >>> 6) & 63]
    target[out++] = BASE64[group & 63]
  }
  return out
}

/**
 * One object's line, written while it is read: the body as base64, then its SHA-256, known only
 * at the end. The base64 is built in one reused buffer and handed to the result only when full (a
 * 3-byte group split across chunks is carried over): memory stays at that buffer plus the chunks
 * in flight whatever the object's size, and the socket's spent chunks until V8 collects them
 * (about 32 MB at most: docs/service.md). Returns the bytes read. (Exported for its test.)
 */
export async function streamObject(stream: Readable, object: {Key?: string; Size?: number; LastModified?: Date}, ctx: Parameters<Source['run']>[1], allowance: number, tooBig: () => Error): Promise<number> {
  const hash = createHash('sha256')
  const encoded = Buffer.allocUnsafe((BLOCK_BYTES / 3) * 4)
  let used = 0
  const group = Buffer.alloc(3)
  let carried = 0
  let read = 0
  // ctx.write resolves once it has taken a Buffer's bytes: the buffer is ours to fill again.
  const flush = async () => {
    await ctx.write(encoded)
    return 0
  }
  try {
    await ctx.write(`{"key":${JSON.stringify(object.Key)},"size":${object.Size ?? 0},"last_modified":${JSON.stringify(object.LastModified?.toISOString() ?? null)},"body_base64":"`)
    for await (const chunk of stream) {
      const buffer = chunk as Buffer
      read += buffer.length
      if (read > allowance) throw tooBig()
      hash.update(buffer)
      let from = 0
      // The group the last chunk left open is completed first.
      while (carried > 0 && carried < 3 && from < buffer.length) group[carried++] = buffer[from++]
      if (carried === 3) {
        used = encodeGroups(group, 0, 3, encoded, used)
        carried = 0
        if (used === encoded.length) used = await flush()
      }
      const whole = buffer.length - ((buffer.length - from) % 3)
      while (from < whole) {
        const take = Math.min(whole - from, ((encoded.length - used) / 4) * 3)
        used = encodeGroups(buffer, from, from + take, encoded, used)
        from += take
        if (used === encoded.length) used = await flush()
      }
      while (from < buffer.length) group[carried++] = buffer[from++]
    }
  } finally {
    stream.destroy()
  }
  if (used > 0) await ctx.write(encoded.subarray(0, used))
  await ctx.write(`${group.subarray(0, carried).toString('base64')}","sha256":"${hash.digest('hex')}"}\n`)
  return read
}

type S3Module = typeof import('@aws-sdk/client-s3')
/** One client for the service, made on first use: jobs share its connections and credentials cache. */
let shared: Promise<{sdk: S3Module; client: InstanceType<S3Module['S3Client']>}> | undefined
function s3(): NonNullable<typeof shared> {
  shared ??= (async () => {
    const sdk = await import('@aws-sdk/client-s3')
    const {caBundleHandler} = await import('../../aws/clients.js')
    const client = new sdk.S3Client({requestHandler: caBundleHandler(), forcePathStyle: Boolean(process.env.AWS_ENDPOINT_URL), retryMode: 'adaptive', maxAttempts: 5})
    return {sdk, client}
  })()
  return shared
}

/**
 * Objects under a prefix, one JSON line each (key, size, time, SHA-256, body as UTF-8 text or
 * base64). The service's own AWS identity is used (IRSA on EKS, the standard chain elsewhere).
 * Bodies are streamed and counted as they arrive: an object bigger than what is left of the byte
 * limit is refused from its listed size, and a body that runs past it is cut off mid-read.
 */
export const s3Source: Source = {
  type: 's3',
  contentType: 'application/x-ndjson',
  configSchema: (settings) => ({
    type: 'object',
    required: ['bucket'],
    properties: {
      bucket: {type: 'string', pattern: BUCKET.source, description: 'S3 bucket name'},
      prefix: {type: 'string', maxLength: 1024, description: 'key prefix (default: the whole bucket)'},
      max_objects: {type: 'integer', minimum: 1, maximum: settings.maxRows, description: 'read at most this many objects (the server\'s row ceiling applies regardless)'},
    },
  }),
  validate(config, settings) {
    if (typeof config.bucket !== 'string' || !BUCKET.test(config.bucket)) return 'config.bucket must be an S3 bucket name'
    // Only the buckets the estate lists for the service: its own identity could otherwise read
    // whatever it may (its results bucket holds every token's results).
    const allowed = settings.s3Buckets ?? []
    if (!allowed.includes(config.bucket)) {
      return `config.bucket ${config.bucket} is not one this service may read (${allowed.length ? `allowed: ${allowed.join(', ')}` : 'none is allowed: list buckets in the estate\'s service.s3Buckets'})`
    }
    if (config.prefix !== undefined && typeof config.prefix !== 'string') return 'config.prefix must be a string'
    if (config.max_objects !== undefined && (!Number.isInteger(config.max_objects) || (config.max_objects as number) < 1)) return 'config.max_objects must be a positive integer'
    return undefined
  },
  async run(config, ctx, settings) {
    // Checked again where it is read: a job queued before the list changed reads nothing it no longer names.
    if (!(settings.s3Buckets ?? []).includes(String(config.bucket))) throw new PermanentJobError(`config.bucket ${String(config.bucket)} is not one this service may read`)
    const {
      sdk: {GetObjectCommand, paginateListObjectsV2},
      client,
    } = await s3()
    const maxObjects = Math.min(Number(config.max_objects ?? Infinity), ctx.limits.maxRows)
    const maxBytes = ctx.limits.maxBytes
    const tooBig = () => new PermanentJobError(`objects under the prefix exceed ${maxBytes} bytes; narrow config.prefix or set config.max_objects`)
    let objects = 0
    let bytes = 0
    try {
      for await (const page of paginateListObjectsV2({client}, {Bucket: String(config.bucket), Prefix: (config.prefix as string | undefined) ?? ''})) {
        for (const object of page.Contents ?? []) {
          if (objects >= maxObjects) return {rows: objects}
          if (bytes + (object.Size ?? 0) > maxBytes) throw tooBig()
          const answer = await client.send(new GetObjectCommand({Bucket: String(config.bucket), Key: object.Key}), {abortSignal: ctx.signal})
          const stream = answer.Body as Readable
          if ((object.Size ?? 0) > BUFFER_UP_TO) {
            bytes += await streamObject(stream, object, ctx, maxBytes - bytes, tooBig)
            objects++
            continue
          }
          const chunks: Buffer[] = []
          try {
            for await (const chunk of stream) {
              bytes += (chunk as Buffer).length
              if (bytes > maxBytes) throw tooBig()
              chunks.push(chunk as Buffer)
            }
          } finally {
            stream.destroy()
          }
          const body = Buffer.concat(chunks)
          const text = body.toString('utf8')
          const isText = Buffer.from(text, 'utf8').equals(body) && !text.includes('\u0000')
          await ctx.write(
            `${JSON.stringify({
              key: object.Key,
              size: body.length,
              last_modified: object.LastModified?.toISOString() ?? null,
              sha256: createHash('sha256').update(body).digest('hex'),
              ...(isText ? {body: text} : {body_base64: body.toString('base64')}),
            })}\n`,
          )
          objects++
        }
      }
    } catch (error) {
      const name = (error as {name?: string}).name
      if (name === 'NoSuchBucket' || name === 'AccessDenied' || name === 'Forbidden') throw new PermanentJobError(`s3://${String(config.bucket)}: ${name}`)
      throw error
    }
    return {rows: objects}
  },
}
