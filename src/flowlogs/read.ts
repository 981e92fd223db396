import {createReadStream} from 'node:fs'
import type {Readable} from 'node:stream'
import {createGunzip} from 'node:zlib'

import {InfraError} from '../output/errors.js'
import type {FlowAnalyzer} from './analyzer.js'
import {DEFAULT_FIELDS, FIELD_VERSIONS} from './fields.js'
import {FlowLineParser} from './record.js'

/** Reads flow log lines from a stream (gzip detected by its magic bytes) into the analyzer. */
export async function analyzeStream(source: Readable, analyzer: FlowAnalyzer, fields?: string[]): Promise<void> {
  const stream = await maybeGunzip(source)
  let parser: FlowLineParser | undefined = fields ? new FlowLineParser(fields) : undefined
  let carry = ''
  const handle = (line: string) => {
    if (!parser) {
      // An S3 delivery file names its fields on the first line; otherwise the default format.
      const first = line.trim().split(/\s+/)
      parser = first.every((token) => token in FIELD_VERSIONS) ? new FlowLineParser(first) : new FlowLineParser(DEFAULT_FIELDS)
    }
    const outcome = parser.parse(line)
    if (outcome === 'record') analyzer.add(parser.record)
    else analyzer.count(outcome)
  }
  for await (const chunk of stream) {
    const text = carry + (typeof chunk === 'string' ? chunk : (chunk as Buffer).toString('latin1'))
    let start = 0
    for (let newline = text.indexOf('\n', start); newline !== -1; newline = text.indexOf('\n', start)) {
      const end = newline > start && text.charCodeAt(newline - 1) === 13 ? newline - 1 : newline
      if (end > start) handle(text.slice(start, end))
      start = newline + 1
    }
    carry = text.slice(start)
  }
  if (carry.trim()) handle(carry)
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
    const gunzip = createGunzip()
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
  try {
    await analyzeStream(createReadStream(file, {highWaterMark: 1 << 20}), analyzer, fields)
  } catch (error) {
    const err = error as NodeJS.ErrnoException
    if (err.code === 'ENOENT') throw new InfraError(`flow log file ${file} does not exist`, 'check the path or glob', 'FILE_NOT_FOUND')
    if (err.code === 'Z_DATA_ERROR' || err.code === 'Z_BUF_ERROR') {
      throw new InfraError(`flow log file ${file} is not valid gzip: ${err.message}`, 'pass the file as delivered, or decompressed', 'BAD_GZIP')
    }
    throw error
  }
}
