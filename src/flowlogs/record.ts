import {parseFormat} from './fields.js'
import {SCAN_WASM} from './scan-wasm.js'

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
  /** SYN 2, SYN-ACK 18, FIN 1, RST 4, ORed over the aggregation window (version 3). */
  tcpFlags?: number
  instanceId?: string
}

export type ParseOutcome = 'record' | 'nodata' | 'skipdata' | 'malformed' | 'header'

/** Slot of each field the analysis reads, in the parser's offset and value arrays. */
export const FIELD = {
  interfaceId: 0, srcaddr: 1, dstaddr: 2, srcport: 3, dstport: 4, protocol: 5, packets: 6, bytes: 7, start: 8, end: 9, action: 10,
  logStatus: 11, vpcId: 12, pktSrcaddr: 13, pktDstaddr: 14, pktDstAwsService: 15, flowDirection: 16, trafficPath: 17, accountId: 18,
  rejectReason: 19, tcpFlags: 20, instanceId: 21,
} as const satisfies Record<keyof FlowRecord, number>

const SLOTS = Object.keys(FIELD).length
const KEYS = Object.keys(FIELD) as (keyof FlowRecord)[]
const SLOT_OF: Record<string, number> = {
  'interface-id': FIELD.interfaceId, srcaddr: FIELD.srcaddr, dstaddr: FIELD.dstaddr, srcport: FIELD.srcport, dstport: FIELD.dstport,
  protocol: FIELD.protocol, packets: FIELD.packets, bytes: FIELD.bytes, start: FIELD.start, end: FIELD.end, action: FIELD.action,
  'log-status': FIELD.logStatus, 'vpc-id': FIELD.vpcId, 'pkt-srcaddr': FIELD.pktSrcaddr, 'pkt-dstaddr': FIELD.pktDstaddr,
  'pkt-dst-aws-service': FIELD.pktDstAwsService, 'flow-direction': FIELD.flowDirection, 'traffic-path': FIELD.trafficPath,
  'account-id': FIELD.accountId, 'reject-reason': FIELD.rejectReason, 'tcp-flags': FIELD.tcpFlags, 'instance-id': FIELD.instanceId,
}
const NUMERIC = new Set<number>([FIELD.srcport, FIELD.dstport, FIELD.protocol, FIELD.packets, FIELD.bytes, FIELD.start, FIELD.end, FIELD.trafficPath, FIELD.tcpFlags])
/** Slots only samples and a few records need: decoded on demand (`fetch`), not for every line. */
const SAMPLE_ONLY = new Set<number>([FIELD.vpcId, FIELD.accountId, FIELD.rejectReason, FIELD.srcport, FIELD.tcpFlags, FIELD.instanceId])

const SPACE = 32
const NEWLINE = 10
const DASH = 45
const MAX_FIELDS = 255

/** The WebAssembly scanner's memory layout (scan.wat) and what `next` answers. */
const WASM = {from: 0, to: 128, value: 256, hotSlots: 512, hotPositions: 640, numeric: 768, separators: 1024, input: 4096, capacity: 1 << 20}
const OUTCOME_RECORD = 0
const OUTCOME_BLANK = 2

type ScanNext = (pos: number, end: number, fields: number, hot: number) => number
/** The part of the WebAssembly API used here (this project's TypeScript libraries do not declare it). */
interface WasmApi {
  Module: new (bytes: Uint8Array) => object
  Instance: new (module: object) => {exports: {memory: {buffer: ArrayBuffer}; next: ScanNext}}
}
const wasmApi = (globalThis as unknown as {WebAssembly?: WasmApi}).WebAssembly

/** Compiled once per thread; undefined where WebAssembly SIMD is not available (the byte loop stands in). */
let scanModule: object | null | undefined
function scanner(): object | undefined {
  if (scanModule === undefined) {
    try {
      scanModule = wasmApi ? new wasmApi.Module(Buffer.from(SCAN_WASM, 'base64')) : null
    } catch {
      scanModule = null
    }
  }
  return scanModule ?? undefined
}

/** Where parsed lines go: the analyzer. */
export interface LineSink {
  add(parser: FlowLineParser): void
  count(outcome: Exclude<ParseOutcome, 'record'>): void
  /** A line with `found` fields where the format has `expected` (it is also counted malformed). */
  fieldCount?(found: number, expected: number): void
  /** The bytes of the records handed over are about to be reused (or dropped): finish whatever still reads them. */
  flush?(): void
}

/**
 * Parses flow log lines with no string per field. The lines are copied into a WebAssembly
 * scanner's memory (scan.wat), which finds separators sixteen bytes at a time and decodes only the
 * fields the analysis reads; lines it cannot take as they are (tabs, CRs, runs of blanks,
 * non-numbers) go to a slow path that splits them properly. For the record being handed to the
 * sink, `from`/`to` hold each slot's byte range in `buf` (from = -1 when the field is absent or
 * "-") and `value` each numeric slot's number (-1 when absent), for every slot the analysis reads;
 * `record` turns the whole line into an object for samples and tests. Without WebAssembly (or with
 * `{wasm: false}`) a byte loop in JavaScript does the same.
 */
export class FlowLineParser {
  readonly fields: string[]
  /** The slots this format carries and the field position of each; the hot ones are decoded per line. */
  private readonly slots: Int32Array
  private readonly positions: Int32Array
  private readonly hotSlots: Int32Array
  private readonly hotPositions: Int32Array
  /** Each slot's field position in this format, -1 where the format lacks it. */
  private readonly positionOf: Int32Array
  /** Where the line being handed over starts. */
  private lineStart = 0
  private readonly numeric: Uint8Array
  private readonly header: Buffer
  /** Separator positions of the line being read (the last one is its newline). */
  private readonly separators: Int32Array
  buf: Buffer = Buffer.alloc(0)
  readonly from: Int32Array
  readonly to: Int32Array
  readonly value: Float64Array
  /** The scanner's `next` and its memory, when WebAssembly is used. */
  private readonly next?: ScanNext
  private readonly memory?: Buffer

  constructor(fields: string[], options: {wasm?: boolean} = {}) {
    this.fields = fields
    const present = fields.flatMap((field, position) => (SLOT_OF[field] === undefined ? [] : [[SLOT_OF[field], position]]))
    this.slots = Int32Array.from(present, ([slot]) => slot)
    this.positions = Int32Array.from(present, ([, position]) => position)
    const hot = present.filter(([slot]) => !SAMPLE_ONLY.has(slot))
    this.hotSlots = Int32Array.from(hot, ([slot]) => slot)
    this.hotPositions = Int32Array.from(hot, ([, position]) => position)
    this.positionOf = new Int32Array(SLOTS).fill(-1)
    for (const [slot, position] of present) this.positionOf[slot] = position
    this.numeric = Uint8Array.from({length: SLOTS}, (_, slot) => (NUMERIC.has(slot) ? 1 : 0))
    this.header = Buffer.from(fields[0], 'latin1')
    const module = options.wasm === false ? undefined : scanner()
    if (module) {
      const instance = new wasmApi!.Instance(module)
      const memory = instance.exports.memory.buffer
      this.next = instance.exports.next
      this.memory = Buffer.from(memory)
      this.from = new Int32Array(memory, WASM.from, SLOTS)
      this.to = new Int32Array(memory, WASM.to, SLOTS)
      this.value = new Float64Array(memory, WASM.value, SLOTS)
      this.separators = new Int32Array(memory, WASM.separators, MAX_FIELDS + 1)
      new Int32Array(memory, WASM.hotSlots, this.hotSlots.length).set(this.hotSlots)
      new Int32Array(memory, WASM.hotPositions, this.hotPositions.length).set(this.hotPositions)
      new Uint8Array(memory, WASM.numeric, SLOTS).set(this.numeric)
    } else {
      this.from = new Int32Array(SLOTS)
      this.to = new Int32Array(SLOTS)
      this.value = new Float64Array(SLOTS)
      this.separators = new Int32Array(MAX_FIELDS + 1)
    }
    this.from.fill(-1)
    this.value.fill(-1)
  }

  static forFormat(format: string, options: {wasm?: boolean} = {}): FlowLineParser {
    return new FlowLineParser(parseFormat(format), options)
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
    const next = this.next
    const memory = this.memory
    if (!next || !memory) {
      this.scanBytes(buf, start, end, sink)
      sink.flush?.()
      return
    }
    const fields = this.fields.length
    const hot = this.hotSlots.length
    while (start < end) {
      // As many whole lines as the scanner's memory holds; a line longer than all of it takes the byte loop.
      let stop = end
      if (end - start > WASM.capacity) {
        stop = buf.lastIndexOf(NEWLINE, start + WASM.capacity - 1) + 1
        if (stop <= start) {
          const newline = buf.indexOf(NEWLINE, start)
          this.scanBytes(buf, start, newline + 1, sink)
          sink.flush?.()
          start = newline + 1
          continue
        }
      }
      buf.copy(memory, WASM.input, start, stop)
      const limit = WASM.input + stop - start
      for (let pos = WASM.input; pos < limit; ) {
        const answer = next(pos, limit, fields, hot)
        const newline = answer >>> 2
        const outcome = answer & 3
        // The slow path parses a normalized copy and leaves buf on it, for the record it handed over.
        this.buf = memory
        if (outcome !== OUTCOME_BLANK) {
          if (memory[pos] === this.header[0] && this.isHeader(pos, newline)) sink.count('header')
          else if (outcome === OUTCOME_RECORD) this.decoded(pos, sink)
          else this.slowLine(pos, newline, sink)
        }
        pos = newline + 1
      }
      // The next copy overwrites these lines.
      sink.flush?.()
      start = stop
    }
  }

  /** The same as the scanner one byte at a time, where WebAssembly is not used, and for the slow path. */
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
    this.decoded(start, sink)
  }

  /** The line at `start` has its fields decoded: coverage gaps are counted, records handed over. */
  private decoded(start: number, sink: LineSink): void {
    const from = this.from
    const to = this.to
    const values = this.value
    const buf = this.buf
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
    if (malformed) {
      if (parts.length !== this.fields.length && parts[0] !== '') sink.fieldCount?.(parts.length, this.fields.length)
      return sink.count('malformed')
    }
    const normalized = Buffer.from(`${parts.join(' ')}\n`, 'latin1')
    this.scanBytes(normalized, 0, normalized.length, sink)
  }

  /**
   * Decodes a slot that is not decoded for every line (srcport, tcp-flags, instance-id), for the
   * record being handed over: sets its from/to and, for a number, its value (-1 when absent, "-"
   * or not a number).
   */
  fetch(slot: number): void {
    const position = this.positionOf[slot]
    const from = this.from
    const values = this.value
    if (position < 0) {
      from[slot] = -1
      values[slot] = -1
      return
    }
    const buf = this.buf
    const first = position === 0 ? this.lineStart : this.separators[position - 1] + 1
    const last = this.separators[position]
    if (last - first === 1 && buf[first] === DASH) {
      from[slot] = -1
      values[slot] = -1
      return
    }
    from[slot] = first
    this.to[slot] = last
    if (this.numeric[slot] !== 1) return
    let value = 0
    for (let j = first; j < last; j++) {
      const digit = buf[j] - 48
      if (digit < 0 || digit > 9) {
        values[slot] = -1
        return
      }
      value = value * 10 + digit
    }
    values[slot] = value
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
