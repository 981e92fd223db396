import {randomFillSync} from 'node:crypto'

const HEX = Array.from({length: 256}, (_, byte) => byte.toString(16).padStart(2, '0'))
const pool = Buffer.alloc(16 * 256)
let offset = pool.length

/**
 * A new job id: a UUID version 7 (RFC 9562), whose first 48 bits are the time in milliseconds.
 * Ids created close in time sort together, so the primary-key index takes each insert at its end:
 * a group commit dirties a few index pages instead of one page per job (random v4 ids).
 */
export function newJobId(now = Date.now()): string {
  if (offset === pool.length) {
    randomFillSync(pool)
    offset = 0
  }
  const b = pool.subarray(offset, (offset += 16))
  // 48-bit big-endian milliseconds; the division keeps the top 16 bits exact beyond 2^32.
  const high = Math.floor(now / 2 ** 32)
  const low = now >>> 0
  b[0] = high >>> 8
  b[1] = high & 0xff
  b[2] = low >>> 24
  b[3] = (low >>> 16) & 0xff
  b[4] = (low >>> 8) & 0xff
  b[5] = low & 0xff
  b[6] = 0x70 | (b[6] & 0x0f)
  b[8] = 0x80 | (b[8] & 0x3f)
  return `${HEX[b[0]]}${HEX[b[1]]}${HEX[b[2]]}${HEX[b[3]]}-${HEX[b[4]]}${HEX[b[5]]}-${HEX[b[6]]}${HEX[b[7]]}-${HEX[b[8]]}${HEX[b[9]]}-${HEX[b[10]]}${HEX[b[11]]}${HEX[b[12]]}${HEX[b[13]]}${HEX[b[14]]}${HEX[b[15]]}`
}
