import {parseFormat} from './fields.js'

/** One flow log record, with the fields the analysis uses; absent ("-") fields are undefined. */
export interface FlowRecord {
  interfaceId?: string
  srcaddr?: string
  dstaddr?: string
  srcport?: number
  dstport?: number
  protocol?: number
  packets?: number
  bytes?: number
  /** Seconds since the epoch (millisecond values are converted). */
  start?: number
  end?: number
  action?: string
  logStatus?: string
  vpcId?: string
  pktSrcaddr?: string
  pktDstaddr?: string
  pktDstAwsService?: string
  flowDirection?: string
  trafficPath?: number
  accountId?: string
  rejectReason?: string
}

export type ParseOutcome = 'record' | 'nodata' | 'skipdata' | 'malformed' | 'header'

/** Slot of each field the analysis reads, in the parser's offset and value arrays. */
export const FIELD = {
  interfaceId: 0, srcaddr: 1, dstaddr: 2, srcport: 3, dstport: 4, protocol: 5, packets: 6, bytes: 7, start: 8, end: 9, action: 10,
  logStatus: 11, vpcId: 12, pktSrcaddr: 13, pktDstaddr: 14, pktDstAwsService: 15, flowDirection: 16, trafficPath: 17, accountId: 18,
  rejectReason: 19,
} as const satisfies Record<keyof FlowRecord, number>

const SLOTS = Object.keys(FIELD).length
const KEYS = Object.keys(FIELD) as (keyof FlowRecord)[]
const SLOT_OF: Record<string, number> = {
  'interface-id': FIELD.interfaceId, srcaddr: FIELD.srcaddr, dstaddr: FIELD.dstaddr, srcport: FIELD.srcport, dstport: FIELD.dstport,
  protocol: FIELD.protocol, packets: FIELD.packets, bytes: FIELD.bytes, start: FIELD.start, end: FIELD.end, action: FIELD.action,
  'log-status': FIELD.logStatus, 'vpc-id': FIELD.vpcId, 'pkt-srcaddr': FIELD.pktSrcaddr, 'pkt-dstaddr': FIELD.pktDstaddr,
  'pkt-dst-aws-service': FIELD.pktDstAwsService, 'flow-direction': FIELD.flowDirection, 'traffic-path': FIELD.trafficPath,
  'account-id': FIELD.accountId, 'reject-reason': FIELD.rejectReason,
}
const NUMERIC = new Set<number>([FIELD.srcport, FIELD.dstport, FIELD.protocol, FIELD.packets, FIELD.bytes, FIELD.start, FIELD.end, FIELD.trafficPath])
/** Slots only samples show: decoded on demand, not for every line. */
const SAMPLE_ONLY = new Set<number>([FIELD.srcport, FIELD.vpcId, FIELD.accountId, FIELD.rejectReason])

const SPACE = 32
const NEWLINE = 10
const DASH = 45
/** The word-at-a-time separator search reads bytes in little-endian order. */
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1
const MAX_FIELDS = 255

/** Where parsed lines go: the analyzer. */
export interface LineSink {
  add(parser: FlowLineParser): void
  count(outcome: Exclude<ParseOutcome, 'record'>): void
}

/**
 * Parses flow log lines where they lie, in the bytes read from the file: the hot loop makes no
 * string per field. Separators are found four bytes at a time and only the fields the analysis
 * reads are decoded. For the record being handed to the sink, `from`/`to` hold each slot's byte
 * range in `buf` (from = -1 when the field is absent or "-") and `value` each numeric slot's
 * number (-1 when absent), for every slot the analysis reads; `record` turns the whole line into
 * an object for samples and tests.
 */
export class FlowLineParser {
  readonly fields: string[]
  /** The slots this format carries and the field position of each; the hot ones are decoded per line. */
  private readonly slots: Int32Array
  private readonly positions: Int32Array
  private readonly hotSlots: Int32Array
  private readonly hotPositions: Int32Array
  /** Where the line being handed over starts. */
  private lineStart = 0
  private readonly numeric: Uint8Array
  private readonly header: Buffer
  /** Separator positions of the line being read (the last one is its newline). */
  private readonly separators = new Int32Array(MAX_FIELDS + 1)
  buf: Buffer = Buffer.alloc(0)
  readonly from = new Int32Array(SLOTS).fill(-1)
  readonly to = new Int32Array(SLOTS)
  readonly value = new Float64Array(SLOTS).fill(-1)

  constructor(fields: string[]) {
    this.fields = fields
    const present = fields.flatMap((field, position) => (SLOT_OF[field] === undefined ? [] : [[SLOT_OF[field], position]]))
    this.slots = Int32Array.from(present, ([slot]) => slot)
    this.positions = Int32Array.from(present, ([, position]) => position)
    const hot = present.filter(([slot]) => !SAMPLE_ONLY.has(slot))
    this.hotSlots = Int32Array.from(hot, ([slot]) => slot)
    this.hotPositions = Int32Array.from(hot, ([, position]) => position)
    this.numeric = Uint8Array.from({length: SLOTS}, (_, slot) => (NUMERIC.has(slot) ? 1 : 0))
    this.header = Buffer.from(fields[0], 'latin1')
  }

  static forFormat(format: string): FlowLineParser {
    return new FlowLineParser(parseFormat(format))
  }

  /** Parses one line given as text and says what it was (the record stays readable until the next parse). */
  parse(line: string): ParseOutcome {
    const buf = Buffer.from(`${line}\n`, 'latin1')
    let outcome: ParseOutcome = 'malformed'
    this.scanLines(buf, 0, buf.length, {add: () => (outcome = 'record'), count: (other) => (outcome = other)})
    return outcome
  }

  /**
   * Parses every line of buf[start, end), which must end with a newline, into the sink. Blank lines
   * are skipped.
   */
  scanLines(buf: Buffer, start: number, end: number, sink: LineSink): void {
    if (start >= end) return
    if (buf[end - 1] !== NEWLINE) throw new Error('scanLines needs whole lines')
    const aligned = (buf.byteOffset + start) & ~3
    const wordsEnd = (buf.byteOffset + end + 3) & ~3
    if (!LITTLE_ENDIAN) return this.scanBytes(buf, start, end, sink)
    if (wordsEnd > buf.buffer.byteLength) {
      // The last word would reach past the memory: work on a copy that has room (rare).
      const copy = Buffer.allocUnsafeSlow(end - start + 4)
      buf.copy(copy, 0, start, end)
      return this.scanLines(copy.subarray(0, end - start), 0, end - start, sink)
    }
    const words = new Uint32Array(buf.buffer, aligned, (wordsEnd - aligned) >> 2)
    const base = aligned - buf.byteOffset
    const separators = this.separators
    let count = 0
    let previous = start - 1
    let lineStart = start
    let odd = false
    for (let w = 0; w < words.length; w++) {
      const x = words[w]
      // High bit of each byte below 0x21 (blank or control); bytes above a hit may be false hits.
      let hits = (x - 0x21212121) & ~x & 0x80808080
      while (hits !== 0) {
        const at = base + (w << 2) + ((31 - Math.clz32(hits & -hits)) >> 3)
        hits &= hits - 1
        const c = buf[at]
        if (c > SPACE || at < start) continue
        if (at === previous + 1) odd = true
        previous = at
        if (count < MAX_FIELDS) separators[count++] = at
        else odd = true
        if (c === NEWLINE) {
          if (at > lineStart) {
            this.buf = buf
            this.line(lineStart, at, count, odd, sink)
          }
          if (at + 1 >= end) return
          lineStart = at + 1
          previous = at
          count = 0
          odd = false
        } else if (c !== SPACE) odd = true
      }
    }
  }

  /** The same as scanLines one byte at a time, for big-endian machines. */
  private scanBytes(buf: Buffer, start: number, end: number, sink: LineSink): void {
    let count = 0
    let previous = start - 1
    let lineStart = start
    let odd = false
    for (let at = start; at < end; at++) {
      const c = buf[at]
      if (c > SPACE) continue
      if (at === previous + 1) odd = true
      previous = at
      if (count < MAX_FIELDS) this.separators[count++] = at
      else odd = true
      if (c === NEWLINE) {
        if (at > lineStart) {
          this.buf = buf
          this.line(lineStart, at, count, odd, sink)
        }
        lineStart = at + 1
        count = 0
        odd = false
      } else if (c !== SPACE) odd = true
    }
  }

  /** One line: buf[start, newline) with its separators found; `odd` when blanks were not single spaces. */
  private line(start: number, newline: number, count: number, odd: boolean, sink: LineSink): void {
    const buf = this.buf
    if (buf[start] === this.header[0] && this.isHeader(start, newline)) return sink.count('header')
    if (odd || count !== this.fields.length) return this.slowLine(start, newline, sink)
    const separators = this.separators
    const slots = this.hotSlots
    const positions = this.hotPositions
    const numeric = this.numeric
    const from = this.from
    const to = this.to
    const values = this.value
    for (let k = 0; k < slots.length; k++) {
      const slot = slots[k]
      const position = positions[k]
      const first = position === 0 ? start : separators[position - 1] + 1
      const last = separators[position]
      if (last - first === 1 && buf[first] === DASH) {
        from[slot] = -1
        values[slot] = -1
        continue
      }
      from[slot] = first
      to[slot] = last
      if (numeric[slot] === 1) {
        let value = 0
        for (let j = first; j < last; j++) {
          const digit = buf[j] - 48
          if (digit < 0 || digit > 9) return this.slowLine(start, newline, sink)
          value = value * 10 + digit
        }
        values[slot] = value
      }
    }
    const status = from[FIELD.logStatus]
    if (status >= 0) {
      const length = to[FIELD.logStatus] - status
      if (length === 6 && buf[status] === 78 /* N */) return sink.count('nodata')
      if (length === 8 && buf[status] === 83 /* S */) return sink.count('skipdata')
    }
    // Some exports carry millisecond timestamps.
    if (values[FIELD.start] > 1e11) values[FIELD.start] = Math.floor(values[FIELD.start] / 1000)
    if (values[FIELD.end] > 1e11) values[FIELD.end] = Math.floor(values[FIELD.end] / 1000)
    this.lineStart = start
    sink.add(this)
  }

  /** A header line names the fields: its first word is the first field's name. */
  private isHeader(start: number, newline: number): boolean {
    const header = this.header
    const after = start + header.length
    return after <= newline && this.buf.compare(header, 0, header.length, start, after) === 0 && (after === newline || this.buf[after] <= SPACE)
  }

  /** Tabs, CRs, runs of blanks, non-numbers: split the line properly, then parse it again or call it malformed. */
  private slowLine(start: number, newline: number, sink: LineSink): void {
    const buf = this.buf
    const parts = buf.toString('latin1', start, newline).trim().split(/\s+/)
    // Control characters other than blanks belong in no field (and would bring the line back here).
    const malformed =
      parts.length !== this.fields.length ||
      parts[0] === '' ||
      parts.some((part) => /[\x00-\x1f]/.test(part)) ||
      parts.some((part, position) => NUMERIC.has(SLOT_OF[this.fields[position]] ?? -1) && part !== '-' && !/^\d+$/.test(part))
    if (malformed) return sink.count('malformed')
    const normalized = Buffer.from(`${parts.join(' ')}\n`, 'latin1')
    this.scanBytes(normalized, 0, normalized.length, sink)
  }

  /** The record being handed over, as an object (for samples and tests: the hot path reads the arrays). */
  get record(): FlowRecord {
    const record: FlowRecord = {}
    for (let k = 0; k < this.slots.length; k++) {
      const slot = this.slots[k]
      const position = this.positions[k]
      const first = position === 0 ? this.lineStart : this.separators[position - 1] + 1
      const text = this.buf.toString('latin1', first, this.separators[position])
      let value: string | number | undefined = text === '-' ? undefined : text
      if (value !== undefined && this.numeric[slot] === 1) value = (slot === FIELD.start || slot === FIELD.end) && Number(value) > 1e11 ? Math.floor(Number(value) / 1000) : Number(value)
      ;(record as Record<string, unknown>)[KEYS[slot]] = value
    }
    return record
  }
}
