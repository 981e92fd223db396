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

const NUMERIC = new Set(['srcport', 'dstport', 'protocol', 'packets', 'bytes', 'start', 'end', 'traffic-path'])
const KEYS: Record<string, keyof FlowRecord> = {
  'interface-id': 'interfaceId', srcaddr: 'srcaddr', dstaddr: 'dstaddr', srcport: 'srcport', dstport: 'dstport', protocol: 'protocol',
  packets: 'packets', bytes: 'bytes', start: 'start', end: 'end', action: 'action', 'log-status': 'logStatus', 'vpc-id': 'vpcId',
  'pkt-srcaddr': 'pktSrcaddr', 'pkt-dstaddr': 'pktDstaddr', 'pkt-dst-aws-service': 'pktDstAwsService', 'flow-direction': 'flowDirection',
  'traffic-path': 'trafficPath', 'account-id': 'accountId', 'reject-reason': 'rejectReason',
}

const RECORD_KEYS = Object.values(KEYS)

/** Every key present from the start, so the hot loop writes to one object shape. */
function emptyRecord(): FlowRecord {
  const record: Record<string, undefined> = {}
  for (const key of RECORD_KEYS) record[key] = undefined
  return record as FlowRecord
}

/** Writes by slot code with fixed property names, which keeps property access monomorphic. */
function assign(r: FlowRecord, code: number, value: any): void {
  switch (code) {
    case 0: r.interfaceId = value; break
    case 1: r.srcaddr = value; break
    case 2: r.dstaddr = value; break
    case 3: r.srcport = value; break
    case 4: r.dstport = value; break
    case 5: r.protocol = value; break
    case 6: r.packets = value; break
    case 7: r.bytes = value; break
    case 8: r.start = value; break
    case 9: r.end = value; break
    case 10: r.action = value; break
    case 11: r.logStatus = value; break
    case 12: r.vpcId = value; break
    case 13: r.pktSrcaddr = value; break
    case 14: r.pktDstaddr = value; break
    case 15: r.pktDstAwsService = value; break
    case 16: r.flowDirection = value; break
    case 17: r.trafficPath = value; break
    case 18: r.accountId = value; break
    case 19: r.rejectReason = value; break
  }
}

/**
 * A line parser for one field order. It keeps only the fields the analysis reads and reuses one
 * record object per call: callers copy what they keep (samples), which keeps the hot loop allocation-light.
 */
export class FlowLineParser {
  readonly fields: string[]
  private readonly slots: {index: number; key: keyof FlowRecord; code: number; numeric: boolean}[]
  private readonly logStatusIndex: number
  private readonly firstField: string
  readonly record: FlowRecord = emptyRecord()

  constructor(fields: string[]) {
    this.fields = fields
    this.slots = fields.flatMap((field, index) =>
      KEYS[field] ? [{index, key: KEYS[field], code: RECORD_KEYS.indexOf(KEYS[field]), numeric: NUMERIC.has(field)}] : [],
    )
    this.logStatusIndex = fields.indexOf('log-status')
    this.firstField = fields[0]
  }

  static forFormat(format: string): FlowLineParser {
    return new FlowLineParser(parseFormat(format))
  }

  /** Parses one line into `this.record`; says what the line was. */
  parse(line: string): ParseOutcome {
    // Fast path: walk the single-space-separated fields once, materializing only the ones read.
    const record = this.record
    const count = this.fields.length
    let field = 0
    let from = 0
    let slot = 0
    const slots = this.slots
    let status: string | undefined
    while (field < count) {
      let to = line.indexOf(' ', from)
      if (to === -1) to = line.length
      if (field === 0 && to - from === this.firstField.length && line.startsWith(this.firstField, from)) return 'header'
      if (field === this.logStatusIndex) {
        status = line.slice(from, to)
        if (status === 'NODATA') return 'nodata'
        if (status === 'SKIPDATA') return 'skipdata'
      }
      const current = slots[slot]
      if (current !== undefined && current.index === field) {
        slot++
        if (to - from === 1 && line.charCodeAt(from) === 45) assign(record as FlowRecord, current.code, undefined)
        else if (current.numeric) {
          let value = 0
          for (let i = from; i < to; i++) {
            const digit = line.charCodeAt(i) - 48
            if (digit < 0 || digit > 9) return this.slowParse(line)
            value = value * 10 + digit
          }
          if (to === from) return this.slowParse(line)
          // Some exports carry millisecond timestamps.
          if ((current.key === 'start' || current.key === 'end') && value > 1e11) value = Math.floor(value / 1000)
          assign(record as FlowRecord, current.code, value)
        } else assign(record as FlowRecord, current.code, line.slice(from, to))
      }
      field++
      from = to + 1
      if (to === line.length) break
    }
    if (field !== count || from <= line.length) return this.slowParse(line)
    return 'record'
  }

  /** Lines with other whitespace, CRs or trailing blanks: split them properly, or call them malformed. */
  private slowParse(line: string): ParseOutcome {
    const parts = line.trim().split(/\s+/)
    if (parts.length !== this.fields.length || parts[0] === '') return 'malformed'
    return this.fill(parts)
  }

  private fill(parts: string[]): ParseOutcome {
    if (parts[0] === this.firstField) return 'header'
    if (this.logStatusIndex >= 0) {
      const status = parts[this.logStatusIndex]
      if (status === 'NODATA') return 'nodata'
      if (status === 'SKIPDATA') return 'skipdata'
    }
    const record = this.record as Record<string, unknown>
    for (const slot of this.slots) {
      const raw = parts[slot.index]
      if (raw === '-') {
        record[slot.key] = undefined
        continue
      }
      if (slot.numeric) {
        let value = Number(raw)
        if (!Number.isInteger(value) || value < 0) return 'malformed'
        if ((slot.key === 'start' || slot.key === 'end') && value > 1e11) value = Math.floor(value / 1000)
        record[slot.key] = value
      } else {
        record[slot.key] = raw
      }
    }
    return 'record'
  }
}
