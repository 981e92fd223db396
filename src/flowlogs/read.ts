import {closeSync, createReadStream, fstatSync, openSync, readSync, statSync} from 'node:fs'
import type {Readable} from 'node:stream'
import {type ZlibOptions, createGunzip, gunzipSync} from 'node:zlib'

import {EXIT, InfraError, fromSystemError} from '../errors.js'
import type {FlowAnalyzer} from './analyzer.js'
import {DEFAULT_FIELDS, FIELD_VERSIONS} from './fields.js'
import {FlowLineParser} from './record.js'

/** Reads flow log lines from a stream (gzip detected by its magic bytes) into the analyzer. */
export async function analyzeStream(source: Readable, analyzer: FlowAnalyzer, fields?: string[]): Promise<void> {
  await analyzeChunks(await maybeGunzip(source), analyzer, fields)
}

/**
 * Parsers by field layout, kept for the next file of the same layout: S3 delivers one small file
 * per five minutes, and each new parser is a new WebAssembly instance. A parser holds no state
 * between whole lines, so files read one after another can share it.
 */
const parsers = new Map<string, FlowLineParser>()
function parserFor(fields: string[]): FlowLineParser {
  const name = fields.join(' ')
  let parser = parsers.get(name)
  if (!parser) {
    if (parsers.size >= 16) parsers.clear()
    parsers.set(name, (parser = new FlowLineParser(fields)))
  }
  return parser
}

async function analyzeChunks(stream: AsyncIterable<Buffer | string> | Iterable<Buffer>, analyzer: FlowAnalyzer, fields?: string[]): Promise<void> {
  let parser: FlowLineParser | undefined = fields ? parserFor(fields) : undefined
  let carry: Buffer | undefined
  /** Parses the complete lines in buf[start, end); every line there ends with a newline. */
  const lines = (buf: Buffer, start: number, end: number) => {
    if (!parser) {
      // An S3 delivery file names its fields on the first line; otherwise the default format.
      const newline = buf.indexOf(10, start)
      const first = buf.toString('latin1', start, newline === -1 || newline > end ? end : newline).trim().split(/\s+/)
      parser = parserFor(first.every((token) => token in FIELD_VERSIONS) ? first : DEFAULT_FIELDS)
    }
    parser.scanLines(buf, start, end, analyzer)
  }
  for await (const chunk of stream) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk, 'latin1') : (chunk as Buffer)
    let start = 0
    if (carry) {
      // The line cut by the previous chunk's end: join it with this chunk's first line.
      const newline = buf.indexOf(10)
      if (newline === -1) {
        carry = Buffer.concat([carry, buf])
        continue
      }
      const joined = Buffer.concat([carry, buf.subarray(0, newline + 1)])
      carry = undefined
      lines(joined, 0, joined.length)
      start = newline + 1
    }
    const last = buf.lastIndexOf(10)
    if (last >= start) {
      lines(buf, start, last + 1)
      start = last + 1
    }
    if (start < buf.length) carry = Buffer.from(buf.subarray(start))
  }
  if (carry && carry.toString('latin1', 0, carry.length).trim()) {
    const ended = Buffer.concat([carry, Buffer.from('\n')])
    lines(ended, 0, ended.length)
  }
}

async function maybeGunzip(source: Readable): Promise<AsyncIterable<Buffer | string>> {
  const iterator = source[Symbol.asyncIterator]()
  const first = await iterator.next()
  if (first.done) return (async function* () {})()
  const head = first.value as Buffer
  async function* replay() {
    yield head
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) yield next.value
  }
  if (Buffer.isBuffer(head) && head[0] === 0x1f && head[1] === 0x8b) {
    // 256 KB output chunks: each chunk is a round trip through libuv's thread pool (a futex wake
    // and a completion), and 64 KB chunks cost about 10% of a run (measured). Room for zlib's
    // thread to inflate ahead while this one parses.
    const gunzip = createGunzip({chunkSize: 1 << 18, readableHighWaterMark: 1 << 22} as ZlibOptions)
    ;(async () => {
      try {
        for await (const chunk of replay()) if (!gunzip.write(chunk)) await new Promise((resolve) => gunzip.once('drain', resolve))
        gunzip.end()
      } catch (error) {
        gunzip.destroy(error as Error)
      }
    })()
    return gunzip
  }
  return replay()
}

export async function analyzeFile(file: string, analyzer: FlowAnalyzer, fields?: string[]): Promise<void> {
  await analyzeFiles([file], analyzer, fields)
}

/**
 * Reads files one after another. A large file is opened and starts inflating (on zlib's thread)
 * while the one before is parsed, so the parser does not wait at each file's start. A small file
 * is read and inflated in this thread when its turn comes: reading it early gains nothing, and
 * would keep its buffer alive across the collection `afterFile` may run, into V8's old generation.
 */
export async function analyzeFiles(files: string[], analyzer: FlowAnalyzer, fields?: string[], afterFile?: () => void): Promise<void> {
  type Chunks = AsyncIterable<Buffer | string> | Iterable<Buffer>
  const stream = (file: string): Promise<Chunks> => maybeGunzip(createReadStream(file, {highWaterMark: 1 << 20}))
  const open = (file: string): {file: string; source?: Readable; chunks: () => Promise<Chunks>} => {
    if (isSmall(file)) return {file, chunks: async () => {
      const whole = readSmall(file)
      return whole ? [whole] : stream(file)
    }}
    const source = createReadStream(file, {highWaterMark: 1 << 20})
    const chunks: Promise<Chunks> = maybeGunzip(source)
    chunks.catch(() => {}) // handled where awaited; opened early, it may fail before then
    return {file, source, chunks: () => chunks}
  }
  const failed = (file: string, error: unknown) => {
    const chunks = Promise.reject(error)
    chunks.catch(() => {})
    return {file, chunks: () => chunks}
  }
  // The first file's error is raised now; a later file's when its turn comes.
  let next: ReturnType<typeof open> | undefined
  try {
    next = files.length > 0 ? open(files[0]) : undefined
  } catch (error) {
    throw readError(files[0], error)
  }
  // One file's buffers live only in this function's frame, gone when it returns.
  const analyzeOne = async (current: ReturnType<typeof open>, index: number): Promise<void> => {
    const chunks = await current.chunks()
    if (index + 1 < files.length) {
      try {
        next = open(files[index + 1])
      } catch (error) {
        next = failed(files[index + 1], error)
      }
    }
    await analyzeChunks(chunks, analyzer, fields)
  }
  try {
    for (let index = 0; next; index++) {
      const current: ReturnType<typeof open> = next
      next = undefined
      await analyzeOne(current, index).catch((error) => {
        throw readError(current.file, error)
      })
      afterFile?.()
    }
  } finally {
    ;(next as ReturnType<typeof open> | undefined)?.source?.destroy()
  }
}

/**
 * Files up to this size are read and inflated whole, in this thread: S3 delivers a file per five
 * minutes per interface group (a few hundred KB of gzip), and streaming each one through zlib's
 * thread pool costs more than the inflating itself (a round trip per output chunk, the readable
 * stream joining chunks). The workers give the parallelism. Larger files stream, bounding memory.
 */
const WHOLE_FILE_BYTES = 8 << 20

function isSmall(file: string): boolean {
  const size = statSync(file).size
  return size > 0 && size <= WHOLE_FILE_BYTES
}

/** A small file's lines (inflated when gzip), or undefined for a large one (to stream). */
function readSmall(file: string): Buffer | undefined {
  const fd = openSync(file, 'r')
  try {
    const size = fstatSync(fd).size
    if (size > WHOLE_FILE_BYTES || size === 0) return undefined
    const raw = Buffer.allocUnsafe(size)
    let read = 0
    while (read < size) {
      const got = readSync(fd, raw, read, size - read, null)
      if (got === 0) break
      read += got
    }
    const data = raw.subarray(0, read)
    if (data[0] !== 0x1f || data[1] !== 0x8b) return data
    // The gzip trailer's ISIZE (RFC 1952 section 2.3.1) is the inflated size of the last member
    // (mod 2^32): one output chunk a byte larger holds it all, where smaller chunks are joined by a
    // copy of the whole. A wrong or multi-member size only costs that copy.
    const inflated = data.length >= 18 ? data.readUInt32LE(data.length - 4) : 0
    return gunzipSync(data, {chunkSize: Math.min(Math.max(inflated + 1, 1 << 16), 1 << 26)})
  } finally {
    closeSync(fd)
  }
}

function readError(file: string, error: unknown): unknown {
  const err = error as NodeJS.ErrnoException
  if (err.code === 'ENOENT') return new InfraError(`flow log file ${file} does not exist`, 'check the path or glob', 'FILE_NOT_FOUND', EXIT.usage)
  if (err.code === 'Z_DATA_ERROR' || err.code === 'Z_BUF_ERROR') {
    return new InfraError(`flow log file ${file} is not valid gzip: ${err.message}`, 'pass the file as delivered, or decompressed', 'BAD_GZIP')
  }
  // A read of a folder (EISDIR) or a file without permission: Node's error may not name the path.
  if (err.code && !err.path) err.path = file
  return fromSystemError(err) ?? error
}
