import {createHash, randomBytes} from 'node:crypto'
import {Readable} from 'node:stream'

import {describe, expect, it} from 'vitest'

import {streamObject} from '../../../src/service/sources/s3.js'
import type {SourceContext} from '../../../src/service/sources/source.js'

/** The line streamObject writes, with each Buffer copied when written: the source may refill it once write resolves. */
async function lineFor(object: Buffer, chunkSizes: number[]): Promise<{line: Record<string, unknown>; writes: number}> {
  const chunks: Buffer[] = []
  for (let at = 0, i = 0; at < object.length; i++) {
    const size = chunkSizes[i % chunkSizes.length]
    chunks.push(object.subarray(at, at + size))
    at += size
  }
  const written: Buffer[] = []
  const ctx = {
    signal: new AbortController().signal,
    limits: {maxBytes: Infinity, maxRows: 1, timeoutMs: 1000},
    progress() {},
    async write(chunk: string | Buffer) {
      written.push(Buffer.from(chunk))
    },
  } satisfies SourceContext
  const read = await streamObject(Readable.from(chunks), {Key: 'k', Size: object.length}, ctx, Infinity, () => new Error('too big'))
  expect(read).toBe(object.length)
  return {line: JSON.parse(Buffer.concat(written).toString('utf8')), writes: written.length}
}

describe('the s3 source streaming an object', () => {
  it('writes the same base64 and SHA-256 as encoding it whole, wherever the chunks split its 3-byte groups', async () => {
    const small = randomBytes(10_001)
    const large = randomBytes(200_003)
    // Chunk sizes of every residue mod 3, single bytes, and chunks larger than one 48 KiB block.
    const cases: [Buffer, number[]][] = [[small, [1]], [small, [2]], [small, [1, 2]], [small, [4]], [large, [16_384]], [large, [65_537]], [large, [100_000, 1, 2]], [large, [200_003]]]
    for (const [object, sizes] of cases) {
      const {line} = await lineFor(object, sizes)
      expect(line).toMatchObject({key: 'k', size: object.length, body_base64: object.toString('base64'), sha256: createHash('sha256').update(object).digest('hex')})
    }
  })

  it('ends with the padding an object of each length needs, an empty one included', async () => {
    for (const length of [0, 1, 2, 3, 49_151, 49_152, 49_153]) {
      const object = randomBytes(length)
      expect((await lineFor(object, [7])).line.body_base64).toBe(object.toString('base64'))
    }
  })

  it('hands the result 64 KiB blocks, not one write per chunk', async () => {
    const {writes} = await lineFor(randomBytes(10 * 49_152), [1000])
    // The opening, ten full blocks and the closing (SHA-256): no partial block in between.
    expect(writes).toBe(12)
  })
})
