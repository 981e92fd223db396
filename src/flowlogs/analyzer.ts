import {FIELD_VERSIONS, RECOMMENDED_FORMAT, TRAFFIC_PATH_GATEWAY_OR_ENDPOINT, TRAFFIC_PATH_INTERNET_GATEWAY} from './fields.js'
import {FIELD, type FlowLineParser, type FlowRecord, type ParseOutcome} from './record.js'
import {HeavyHitters, type SerializedHeavyHitters, SketchKey} from './heavy-hitters.js'
import {type ConnectionTableStats, ConnectionKey, Connections, NOT_KNOWN, OPENED_BY_SOURCE, type SerializedConnections} from './connections.js'

export type FindingId =
  | 'internet-egress-not-via-nat'
  | 'public-inbound-accepted'
  | 'unapproved-exit'
  | 'ssh-rdp-accepted'
  | 'public-inbound-direction-unknown'
  | 'aws-service-via-nat'
  | 'nat-gateway-probed'
  | 'ssh-rdp-attempted'
export type FlowSeverity = 'critical' | 'high' | 'medium' | 'info'
/** What a finding's records were judged by. */
export type Evidence = 'tcp-flags' | 'pairing' | 'port-rule' | 'none' | 'traffic-path' | 'destination-address' | 'packet-addresses' | 'destination-port'
export type Confidence = 'high' | 'medium' | 'low'
/** Where a NAT gateway's interface id came from. */
export type NatSource = 'flag' | 'ssm-parameter' | 'describe-nat-gateways' | 'inferred'
export type Verdict = 'passed' | 'failed' | 'unproven'

const FINDINGS: Record<FindingId, {severity: FlowSeverity; title: string; fix: string}> = {
  'internet-egress-not-via-nat': {
    severity: 'critical',
    title: 'Traffic left through an internet gateway from an interface that is not a NAT gateway',
    fix: 'route the subnet to the NAT gateway, remove the public IP, or find what created the route',
  },
  'public-inbound-accepted': {
    severity: 'critical',
    title: 'A workload interface accepted a connection started from a public address',
    fix: 'remove the public path (IGW route, public IP, load balancer) and the security group rule that allowed it',
  },
  'unapproved-exit': {
    severity: 'critical',
    title: 'An interface that is not an approved NAT gateway forwards traffic to or from the internet (a NAT instance or proxy)',
    fix: 'remove the NAT instance or proxy and route through the NAT gateway; if it is a NAT gateway, pass it with --nat-eni or publish it in /infra/<env>/nat/eni-ids',
  },
  'ssh-rdp-accepted': {severity: 'critical', title: 'SSH or RDP was accepted', fix: 'close port 22/3389; use Session Manager'},
  'public-inbound-direction-unknown': {
    severity: 'medium',
    title: 'A workload interface accepted public traffic whose direction the records cannot tell (no TCP flags, no pairing, ports inconclusive)',
    fix: 'add tcp-flags (version 3) to the flow log format, then look again; until then check the samples by hand',
  },
  'aws-service-via-nat': {
    severity: 'medium',
    title: 'AWS service traffic went through the NAT gateway instead of a VPC endpoint',
    fix: 'add an interface or gateway endpoint for the service (see pkt-dst-aws-service), or check private DNS',
  },
  'nat-gateway-probed': {
    severity: 'info',
    title: 'Unsolicited public traffic reached a NAT gateway interface (a probe: a NAT gateway drops what it did not open, even when the network ACL logs ACCEPT)',
    fix: 'nothing to do: a NAT gateway forwards no connection it did not open',
  },
  'ssh-rdp-attempted': {severity: 'info', title: 'SSH or RDP attempts were rejected', fix: 'nothing to do: the estate rejected them'},
}

const EVIDENCE: Evidence[] = ['tcp-flags', 'pairing', 'port-rule', 'none', 'traffic-path', 'destination-address', 'packet-addresses', 'destination-port']
const [E_FLAGS, E_PAIRING, E_PORT_RULE, E_NONE, E_TRAFFIC_PATH, E_DESTINATION_ADDRESS, E_PACKET_ADDRESSES, E_DESTINATION_PORT] = EVIDENCE.map((_, index) => index)
const CONFIDENCE: Record<Evidence, Confidence> = {
  'tcp-flags': 'high',
  pairing: 'high',
  'traffic-path': 'high',
  'packet-addresses': 'high',
  'destination-port': 'high',
  'port-rule': 'medium',
  'destination-address': 'medium',
  none: 'low',
}

/**
 * Ports services listen on: below 1024, and the registered ones this estate's kind of workloads
 * use. For the port rule (formats without tcp-flags): a service port answering a port that is not
 * one is a reply; a record to a service port from a port that is not one is an initiation.
 */
const SERVICE_PORTS = new Set([1433, 1521, 2049, 2375, 2376, 2379, 3000, 3306, 3389, 5000, 5432, 5601, 5672, 5900, 5985, 5986, 6379, 6443, 8000, 8080, 8443, 8888, 9000, 9090, 9092, 9200, 9300, 11211, 27017])
const isServicePort = (port: number) => port >= 0 && (port < 1024 || SERVICE_PORTS.has(port))
const INITIATION = 1
const REPLY = 0
const UNDECIDED = -1

/** The port rule: who started a TCP or UDP flow, from its ports alone. */
export function portRule(srcport: number, dstport: number, protocol: number): typeof INITIATION | typeof REPLY | typeof UNDECIDED {
  if (protocol !== 6 && protocol !== 17) return UNDECIDED
  const fromService = isServicePort(srcport)
  const toService = isServicePort(dstport)
  if (fromService && !toService && dstport >= 1024) return REPLY
  if (toService && !fromService) return INITIATION
  return UNDECIDED
}

/**
 * Who started a TCP flow by its flags, from the side of the packets' sender: SYN without ACK (2, or
 * 3, 6 with FIN or RST in the same window) opens a connection; SYN-ACK (18, 19) answers one. Later
 * windows of a long flow carry 0, 1 or 4 and tell nothing.
 */
export function flagRule(flags: number, protocol: number): typeof INITIATION | typeof REPLY | typeof UNDECIDED {
  if (protocol !== 6 || flags < 0 || (flags & 2) === 0) return UNDECIDED
  return (flags & 16) === 0 ? INITIATION : REPLY
}

const SAMPLES_PER_INTERFACE = 2
const MAX_INTERFACES = 20_000
/** Inbound public records whose direction waits for the end of the input (the opposite record may come later). */
const MAX_PENDING = 10_000

interface InterfaceStats {
  count: number
  bytes: number
  first: number
  last: number
  samples: FlowRecord[]
  /** Records by the evidence that decided them, in EVIDENCE order. */
  evidence: number[]
  /** The instance behind the interface, when the records name one. */
  instanceId?: string
}

export interface AnalyzerOptions {
  natEnis?: Iterable<string>
  /** Where natEnis came from (default: --nat-eni). */
  natSource?: NatSource
  /** NAT gateway interfaces with a source each; wins over natEnis. */
  natGateways?: {interfaceId: string; source: NatSource}[]
  endpointEnis?: Iterable<string>
  topN?: number
  /** Interfaces to say whether any record carries (the NAT gateways named; default: natGateways or natEnis). */
  watchInterfaces?: string[]
}

export interface Coverage {
  records: number
  nodata: number
  skipdata: number
  malformed: number
  headers: number
  firstSeen: number | null
  lastSeen: number | null
  /** The latest record start: where the last minute of the timeline really ends. */
  lastStart: number | null
}

export interface FlowFinding {
  id: FindingId
  severity: FlowSeverity
  title: string
  fix: string
  count: number
  bytes: number
  firstSeen: number | null
  lastSeen: number | null
  /** Records by what decided them (for direction: tcp-flags, then pairing, then the port rule). */
  evidence: Partial<Record<Evidence, number>>
  /** How sure the finding is: the strongest evidence behind any of its records. */
  confidence: Confidence
  interfaces: {interfaceId: string; count: number; bytes: number; instanceId?: string}[]
  samples: FlowRecord[]
}

export type CheckId = 'internet-egress' | 'public-inbound' | 'ssh-rdp' | 'unapproved-exit' | 'aws-service-via-nat'

export interface CheckStatus {
  id: CheckId
  /** Whether the isolation promise depends on it: a gating check that could not run makes the verdict UNPROVEN. */
  gating: boolean
  /** not-run: no record was read, so the check ran on nothing. */
  status: 'ran' | 'partial' | 'unproven' | 'not-run'
  /** Fields the formats of the unchecked records lack. */
  missing: string[]
  recordsUnchecked: number
}

/** Each check, and the fields it needs: any one of the alternatives. */
const CHECKS: {id: CheckId; gating: boolean; needs: string[][]}[] = [
  {id: 'internet-egress', gating: true, needs: [['interface-id', 'traffic-path']]},
  {
    id: 'public-inbound',
    gating: true,
    needs: [
      ['interface-id', 'srcaddr', 'dstaddr', 'protocol', 'action', 'tcp-flags', 'srcport', 'dstport'],
      ['interface-id', 'srcaddr', 'dstaddr', 'protocol', 'action', 'tcp-flags'],
      ['interface-id', 'srcaddr', 'dstaddr', 'protocol', 'action', 'srcport', 'dstport'],
    ],
  },
  {id: 'ssh-rdp', gating: true, needs: [['interface-id', 'dstport', 'protocol', 'action']]},
  {id: 'unapproved-exit', gating: false, needs: [['interface-id', 'srcaddr', 'dstaddr', 'pkt-srcaddr', 'pkt-dstaddr']]},
  {id: 'aws-service-via-nat', gating: false, needs: [['interface-id', 'pkt-dst-aws-service', 'traffic-path']]},
]

/**
 * Inbound public accepted records by what placed them (as started outside, or as replies): their
 * own tcp-flags, the exact connection seen opening (pairing), the port rule, or nothing.
 */
export interface DirectionEvidence {
  records: number
  placedBy: {'tcp-flags': number; pairing: number; 'port-rule': number; none: number}
  /** Records that could not wait for the end of the input for their opposite record (decided by their ports at once). */
  decidedWithoutWaiting: number
  /** Connections seen opening; of them, pushed out of the table by newer ones; and keys too long to hold. */
  connections: ConnectionTableStats
}

export interface AnalysisResult {
  coverage: Coverage
  natInterfaces: {interfaceId: string; source: NatSource}[]
  findings: FlowFinding[]
  rejected: {key: string; count: number}[]
  topTalkersByBytes: {key: string; count: number}[]
  topTalkersByPackets: {key: string; count: number}[]
  /** How far above the truth a top-N count may be (count-min sketch bound; usually far less). */
  topError: number
  /** Records per minute, for the traffic-over-time chart: [epoch minute, records, bytes]. */
  timeline: [number, number, number][]
  /** Which checks could run on the records read, and which fields were missing where not. */
  checks: CheckStatus[]
  /** How the direction of public traffic accepted into the VPC was decided, and what the connection table could not hold. */
  direction: DirectionEvidence
  /** What the reader should know before trusting the result: a named NAT interface no record carries, lines of another format. */
  warnings: string[]
  /** passed: every gating check ran and no critical finding; failed: a critical finding; unproven: neither can be said. */
  verdict: Verdict
  /** Why the verdict is unproven (empty otherwise), and the log format that would supply what is missing. */
  unproven: {reasons: string[]; missingFields: string[]; logFormat: string} | null
  passed: boolean
}

/** Not RFC 1918, CGNAT, loopback, link-local or IPv6 ULA/link-local. */
export function isPublicAddress(address: string | undefined): boolean {
  if (address === undefined || address.length === 0) return false
  const bytes = Buffer.from(address, 'latin1')
  return isPublicField(bytes, 0, bytes.length)
}

/** isPublicAddress on an address where it lies in the bytes read; runs per record, so by hand. */
export function isPublicBytes(buf: Uint8Array, from: number, to: number): boolean {
  if (from < 0 || from >= to) return false
  let a = 0
  let i = from
  for (; i < to; i++) {
    const c = buf[i]
    if (c === 46) break
    if (c < 48 || c > 57) return isPublicV6(buf, from, to)
    a = a * 10 + c - 48
  }
  if (i === from || i === to) return false
  if (a === 10 || a === 127) return false
  let b = 0
  for (i++; i < to && buf[i] !== 46; i++) b = b * 10 + buf[i] - 48
  if (a === 192 && b === 168) return false
  if (a === 172 && b >= 16 && b <= 31) return false
  if (a === 100 && b >= 64 && b <= 127) return false
  if (a === 169 && b === 254) return false
  return true
}

/**
 * isPublicBytes for the hot path: an address in 10.0.0.0/8 (where this estate's VPCs live, and so
 * most addresses of its records) is answered by three byte comparisons small enough to be inlined,
 * without a call. A field is followed by a separator, so reading two bytes past a short one is safe.
 */
function isPublicField(buf: Uint8Array, from: number, to: number): boolean {
  if (from >= 0 && buf[from] === 49 /* 1 */ && buf[from + 1] === 48 /* 0 */ && buf[from + 2] === 46 /* . */) return false
  return isPublicBytes(buf, from, to)
}

function isPublicV6(buf: Uint8Array, from: number, to: number): boolean {
  const address = Buffer.from(buf.buffer, buf.byteOffset + from, to - from).toString('latin1').toLowerCase()
  if (!address.includes(':')) return false
  return !(address.startsWith('fc') || address.startsWith('fd') || address.startsWith('fe80:') || address === '::1')
}

function sameBytes(buf: Uint8Array, aFrom: number, aTo: number, bFrom: number, bTo: number): boolean {
  if (aTo - aFrom !== bTo - bFrom) return false
  for (let i = 0; i < aTo - aFrom; i++) if (buf[aFrom + i] !== buf[bFrom + i]) return false
  return true
}

/** Whether buf from `from` holds text[start, end) (all of text by default). */
function sameText(buf: Uint8Array, from: number, text: string, start = 0, end = text.length): boolean {
  for (let i = start; i < end; i++) if (buf[from + i - start] !== text.charCodeAt(i)) return false
  return true
}

/** Interface ids recur on every record: keep one string per id instead of making one per record. */
class Interner {
  private readonly table: (string | undefined)[] = new Array(4096).fill(undefined)
  private readonly key = new SketchKey()

  get(buf: Buffer, from: number, to: number): string {
    if (from < 0) return '-'
    this.key.start().bytes(buf, from, to)
    const index = this.key.hash & 4095
    const known = this.table[index]
    if (known !== undefined && known.length === to - from) {
      let same = true
      for (let i = 0; i < known.length; i++) {
        if (known.charCodeAt(i) !== buf[from + i]) {
          same = false
          break
        }
      }
      if (same) return known
    }
    return (this.table[index] = buf.toString('latin1', from, to))
  }
}

const FINDING_IDS = Object.keys(FINDINGS) as FindingId[]
/** What the hot path notes, per interface; findings are made from these when the NAT gateways are known. */
const BUCKETS = ['egress-via-internet', 'inbound-initiated', 'inbound-undecided', 'translating', 'ssh-rdp-accepted', 'ssh-rdp-rejected', 'service-via-nat'] as const
const [B_EGRESS, B_INITIATED, B_UNDECIDED, B_TRANSLATING, B_SSH_ACCEPTED, B_SSH_REJECTED, B_SERVICE] = BUCKETS.map((_, index) => index)
const ACCEPT = 65 // "A"CCEPT
const REJECT = 82 // "R"EJECT
const EGRESS = 101 // "e"gress
/** An inbound public record whose flags did not decide it, waiting for the opposite record. */
interface PendingRecord {
  /** The exact key of its connection (empty when too long to hold), its hash, and which end its source is. */
  key: Uint8Array
  keyLength: number
  hash: number
  sourceIsLower: boolean
  ports: number
  iface: string
  bytes: number
  start: number
  finish: number
  sample: FlowRecord
}

const TALKERS_BATCH = 256

/**
 * Talkers records hashed but not yet counted. Counting touches four random cache lines of the two
 * interleaved 2 MB sketches (HeavyHitters.paired), and a record's misses stall it: counted in a tight loop over a batch, the loads
 * of several records are in flight at once. The order of counting is the records' order, so every
 * estimate and candidate is as if each record were counted when read. A rejected record's key for
 * the rejected sketch (four more random lines) rides in the same batch, for the same reason.
 */
class TalkersBatch {
  readonly key = new SketchKey()
  /** The sketch cells of each queued key, four per record. */
  readonly cells = new Int32Array(TALKERS_BATCH * 4)
  /** Bytes and packets of each queued record. */
  readonly amounts = new Float64Array(TALKERS_BATCH * 2)
  /** Where srcaddr and dstaddr lie in `buf` (from, to, from, to), to spell the key when it is wanted. */
  readonly at = new Int32Array(TALKERS_BATCH * 4)
  /** Per queued record: whether it was rejected; for a rejected one, its protocol, its rejected key's cells and where dstport lies. */
  readonly rejected = new Uint8Array(TALKERS_BATCH)
  readonly rejectedProtocol = new Int32Array(TALKERS_BATCH)
  readonly rejectedCells = new Int32Array(TALKERS_BATCH * 4)
  readonly rejectedPortAt = new Int32Array(TALKERS_BATCH * 2)
  size = 0
  buf: Buffer | undefined

  /** Queues a record; true when the batch is full. */
  queue(key: SketchKey, bytes: number, packets: number, srcFrom: number, srcTo: number, dstFrom: number, dstTo: number): boolean {
    const i = this.size++
    this.cells[4 * i] = key.cell0
    this.cells[4 * i + 1] = key.cell1
    this.cells[4 * i + 2] = key.cell2
    this.cells[4 * i + 3] = key.cell3
    this.amounts[2 * i] = bytes
    this.amounts[2 * i + 1] = packets
    this.at[4 * i] = srcFrom
    this.at[4 * i + 1] = srcTo
    this.at[4 * i + 2] = dstFrom
    this.at[4 * i + 3] = dstTo
    this.rejected[i] = 0
    return this.size === TALKERS_BATCH
  }

  /** Marks the record queued last as rejected, with its rejected key (hashed on from the talkers key). */
  queueRejected(key: SketchKey, protocol: number, portFrom: number, portTo: number): void {
    const i = this.size - 1
    this.rejected[i] = 1
    this.rejectedProtocol[i] = protocol
    this.rejectedCells[4 * i] = key.cell0
    this.rejectedCells[4 * i + 1] = key.cell1
    this.rejectedCells[4 * i + 2] = key.cell2
    this.rejectedCells[4 * i + 3] = key.cell3
    this.rejectedPortAt[2 * i] = portFrom
    this.rejectedPortAt[2 * i + 1] = portTo
  }
}

const TALKERS_TEXT_SLOTS = 4096

/**
 * The talkers keys ("src -> dst") last spelled, by their first sketch cell. A heavy hitter's records
 * recur, and each is offered to the candidates: spelling its key each time (two strings, their
 * join, the join hashed again by the candidate map) cost more than finding the same string again.
 * A cached key is taken only when every byte of both addresses matches it.
 */
class TalkersText {
  private readonly keys: (string | undefined)[] = new Array(TALKERS_TEXT_SLOTS).fill(undefined)
  private readonly sourceLengths = new Int32Array(TALKERS_TEXT_SLOTS)

  get(buf: Buffer, srcFrom: number, srcTo: number, dstFrom: number, dstTo: number, cell: number): string {
    if (srcFrom < 0 || dstFrom < 0) return `${text(buf, srcFrom, srcTo)} -> ${text(buf, dstFrom, dstTo)}`
    const slot = cell & (TALKERS_TEXT_SLOTS - 1)
    const known = this.keys[slot]
    const sourceLength = srcTo - srcFrom
    if (known !== undefined && this.sourceLengths[slot] === sourceLength && known.length === sourceLength + 4 + dstTo - dstFrom && sameText(buf, srcFrom, known, 0, sourceLength) && sameText(buf, dstFrom, known, sourceLength + 4, known.length)) {
      return known
    }
    const spelled = `${buf.toString('latin1', srcFrom, srcTo)} -> ${buf.toString('latin1', dstFrom, dstTo)}`
    this.keys[slot] = spelled
    this.sourceLengths[slot] = sourceLength
    return spelled
  }
}

/** A field layout seen in the input, and how many records came in it. */
interface FormatSeen {
  fields: string[]
  records: number
}

/** Streams records in and keeps only bounded aggregates; results merge across files and workers. */
export class FlowAnalyzer {
  readonly coverage: Coverage = {records: 0, nodata: 0, skipdata: 0, malformed: 0, headers: 0, firstSeen: null, lastSeen: null, lastStart: null}
  /** Per bucket (in BUCKETS order): statistics by interface. */
  private readonly buckets: Map<string, InterfaceStats>[] = BUCKETS.map(() => new Map())
  private readonly rejected: HeavyHitters
  private readonly talkersBytes: HeavyHitters
  private readonly talkersPackets: HeavyHitters
  private readonly timeline = new Map<number, [number, number]>()
  private lastMinute = -1
  private lastSlot: [number, number] | undefined
  private readonly interfaces = new Interner()
  private readonly key = new SketchKey()
  private readonly talkers = new TalkersBatch()
  private readonly talkersText = new TalkersText()
  private readonly natGateways = new Map<string, NatSource>()
  private readonly endpointEnis: Set<string>
  private connections = new Connections()
  private readonly connectionKey = new ConnectionKey()
  /** Inbound public accepted records by what placed them (EVIDENCE order), and those that found no room to wait. */
  private readonly placed = EVIDENCE.map(() => 0)
  private pendingOverflow = 0
  /** The interfaces watched (NAT gateways named), and those some record carried. */
  private readonly watched: Buffer[]
  private readonly seenWatched = new Set<string>()
  /** Lines whose field count is not the format's: how many, the most fields seen, and the format's count. */
  private readonly wrongFieldCount = {lines: 0, found: 0, expected: 0}
  private pending: PendingRecord[] = []
  private readonly formats = new Map<string, FormatSeen>()
  private lastParser: FlowLineParser | undefined
  /**
   * Per bucket, the busiest interface noted so far: a NAT gateway's interface takes most of the
   * egress and translating records, between other interfaces' records, so it is recognised by its
   * bytes before any hashing or map lookup.
   */
  private readonly busiest: ({name: string; stats: InterfaceStats} | undefined)[] = BUCKETS.map(() => undefined)
  private lastFormat: FormatSeen | undefined

  constructor(private readonly options: AnalyzerOptions = {}) {
    for (const {interfaceId, source} of options.natGateways ?? []) this.natGateways.set(interfaceId, source)
    if (!options.natGateways) for (const iface of options.natEnis ?? []) this.natGateways.set(iface, options.natSource ?? 'flag')
    this.endpointEnis = new Set(options.endpointEnis ?? [])
    this.watched = (options.watchInterfaces ?? [...this.natGateways.keys()]).map((id) => Buffer.from(id, 'latin1'))
    const capacity = Math.max(50, (options.topN ?? 20) * 5)
    this.rejected = new HeavyHitters(capacity)
    const [byBytes, byPackets] = HeavyHitters.paired(capacity)
    this.talkersBytes = byBytes
    this.talkersPackets = byPackets
  }

  fieldCount(found: number, expected: number): void {
    this.wrongFieldCount.lines++
    this.wrongFieldCount.found = Math.max(this.wrongFieldCount.found, found)
    this.wrongFieldCount.expected = expected
  }

  /** Notes a watched interface the record carries; stops looking once all are seen. */
  private watch(buf: Buffer, from: number, to: number): void {
    if (from < 0) return
    for (const id of this.watched) {
      if (id.length === to - from && buf.compare(id, 0, id.length, from, to) === 0) this.seenWatched.add(id.toString('latin1'))
    }
  }

  count(outcome: Exclude<ParseOutcome, 'record'>): void {
    if (outcome === 'nodata') this.coverage.nodata++
    else if (outcome === 'skipdata') this.coverage.skipdata++
    else if (outcome === 'malformed') this.coverage.malformed++
    else this.coverage.headers++
  }

  private formatOf(fields: string[]): FormatSeen {
    const name = fields.join(' ')
    let format = this.formats.get(name)
    if (!format) this.formats.set(name, (format = {fields, records: 0}))
    return format
  }

  /** Takes the record the parser has just read, from its arrays; copies only what it keeps. */
  add(p: FlowLineParser): void {
    if (p !== this.lastParser) {
      this.lastParser = p
      this.lastFormat = this.formatOf(p.fields)
    }
    this.lastFormat!.records++
    const buf = p.buf
    const from = p.from
    const to = p.to
    const value = p.value
    const c = this.coverage
    c.records++
    const start = value[FIELD.start]
    const finish = value[FIELD.end] >= 0 ? value[FIELD.end] : start
    const bytes = value[FIELD.bytes] > 0 ? value[FIELD.bytes] : 0
    if (start > 0) {
      if (c.firstSeen === null || start < c.firstSeen) c.firstSeen = start
      if (c.lastSeen === null || finish > c.lastSeen) c.lastSeen = finish
      if (c.lastStart === null || start > c.lastStart) c.lastStart = start
      // Integer remainder where the time fits 31 bits (until 2038): a double's remainder costs more, on every record.
      const minute = start < 2147483647 ? start - ((start | 0) % 60) : start - (start % 60)
      // Records arrive roughly in time order: the last minute's slot is usually the one.
      let slot = minute === this.lastMinute ? this.lastSlot : this.timeline.get(minute)
      if (slot === undefined && this.timeline.size < 100_000) this.timeline.set(minute, (slot = [0, 0]))
      if (slot !== undefined) {
        slot[0]++
        slot[1] += bytes
        this.lastMinute = minute
        this.lastSlot = slot
      }
    }
    if (this.seenWatched.size < this.watched.length) this.watch(buf, from[FIELD.interfaceId], to[FIELD.interfaceId])
    const srcFrom = from[FIELD.srcaddr]
    const srcTo = to[FIELD.srcaddr]
    const dstFrom = from[FIELD.dstaddr]
    const dstTo = to[FIELD.dstaddr]
    const pktSrcFrom = from[FIELD.pktSrcaddr]
    const pktDstFrom = from[FIELD.pktDstaddr]
    const path = value[FIELD.trafficPath]
    const direction = from[FIELD.flowDirection]
    // traffic-path is only ever set on egress records, so it tells the direction where flow-direction is missing.
    const egress = direction >= 0 ? buf[direction] === EGRESS : path >= 0
    const actionAt = from[FIELD.action]
    const accepted = actionAt >= 0 && buf[actionAt] === ACCEPT
    const rejected = actionAt >= 0 && buf[actionAt] === REJECT
    // Public or not, of each address: most records of a private VPC touch none, and take none of
    // the paths below that direction, forwarding and pairing need.
    const dstPublic = isPublicField(buf, dstFrom, dstTo)
    const srcPublic = isPublicField(buf, srcFrom, srcTo)
    const pktSrcPublic = pktSrcFrom >= 0 ? isPublicField(buf, pktSrcFrom, to[FIELD.pktSrcaddr]) : srcPublic
    const pktDstPublic = pktDstFrom >= 0 ? isPublicField(buf, pktDstFrom, to[FIELD.pktDstaddr]) : dstPublic

    // Keys are hashed as their text will read ("src -> dst", "src -> dst:port/proto") without building it.
    const key = this.key.start()
    hashField(key, buf, srcFrom, srcTo)
    key.string(' -> ')
    hashField(key, buf, dstFrom, dstTo)
    key.end()
    // Counted in batches (see TalkersBatch); the record's bytes stay readable until the parser's flush.
    const talkers = this.talkers
    if (buf !== talkers.buf) {
      this.flush()
      talkers.buf = buf
    }
    const full = talkers.queue(key, bytes, value[FIELD.packets], srcFrom, srcTo, dstFrom, dstTo)
    // The rejected key continues the talkers key just hashed.
    if (rejected) this.queueRejected(p, key)
    if (full) this.flush()

    if (dstPublic || srcPublic || pktSrcPublic || pktDstPublic) this.addPublic(p, egress, accepted, srcPublic, dstPublic, pktSrcPublic, pktDstPublic)

    const viaInternet =
      path === TRAFFIC_PATH_INTERNET_GATEWAY || (path === TRAFFIC_PATH_GATEWAY_OR_ENDPOINT && pktDstPublic)
    if (egress && viaInternet) this.note(B_EGRESS, p, path === TRAFFIC_PATH_INTERNET_GATEWAY ? E_TRAFFIC_PATH : E_DESTINATION_ADDRESS)
    const dport = value[FIELD.dstport]
    if ((dport === 22 || dport === 3389) && value[FIELD.protocol] === 6 && !egress && !pktDstPublic) {
      if (accepted) this.note(B_SSH_ACCEPTED, p, E_DESTINATION_PORT)
      else if (rejected) this.note(B_SSH_REJECTED, p, E_DESTINATION_PORT)
    }
    if (from[FIELD.pktDstAwsService] >= 0 && egress && path >= 0 && path !== 1 && path !== 7) this.note(B_SERVICE, p, E_TRAFFIC_PATH)
  }

  /**
   * Counts the talkers queued since the last flush, in the order they came. The parser calls this
   * before it reuses the bytes of the records it handed over; result, serialize and merge call it too.
   */
  flush(): void {
    const batch = this.talkers
    const count = batch.size
    if (count === 0) return
    batch.size = 0
    const cells = batch.cells
    const amounts = batch.amounts
    const at = batch.at
    const key = batch.key
    const byBytes = this.talkersBytes
    const byPackets = this.talkersPackets
    const rejected = batch.rejected
    for (let i = 0; i < count; i++) {
      if (rejected[i] !== 0) this.countRejected(i)
      key.cell0 = cells[4 * i]
      key.cell1 = cells[4 * i + 1]
      key.cell2 = cells[4 * i + 2]
      key.cell3 = cells[4 * i + 3]
      const bytesEstimate = byBytes.count(key, amounts[2 * i])
      const packetsEstimate = byPackets.count(key, amounts[2 * i + 1])
      const wantBytes = byBytes.wants(bytesEstimate)
      const wantPackets = byPackets.wants(packetsEstimate)
      if (wantBytes || wantPackets) {
        const talkers = this.talkersText.get(batch.buf!, at[4 * i], at[4 * i + 1], at[4 * i + 2], at[4 * i + 3], key.cell0)
        if (wantBytes) byBytes.offer(talkers, bytesEstimate)
        if (wantPackets) byPackets.offer(talkers, packetsEstimate)
      }
    }
  }

  /** A rejected record: keyed by "src -> dst:port/proto", the talkers key being hashed further; counted at the flush. */
  private queueRejected(p: FlowLineParser, key: SketchKey): void {
    const protocol = p.value[FIELD.protocol]
    key.byte(58 /* : */)
    hashField(key, p.buf, p.from[FIELD.dstport], p.to[FIELD.dstport])
    key.byte(47 /* / */)
    key.string(protocolName(protocol))
    key.end()
    this.talkers.queueRejected(key, protocol, p.from[FIELD.dstport], p.to[FIELD.dstport])
  }

  /** Counts the queued rejected record i (of the batch being flushed). */
  private countRejected(i: number): void {
    const batch = this.talkers
    const key = batch.key
    const cells = batch.rejectedCells
    key.cell0 = cells[4 * i]
    key.cell1 = cells[4 * i + 1]
    key.cell2 = cells[4 * i + 2]
    key.cell3 = cells[4 * i + 3]
    const estimate = this.rejected.count(key, 1)
    if (this.rejected.wants(estimate)) {
      const buf = batch.buf!
      const at = batch.at
      const port = text(buf, batch.rejectedPortAt[2 * i], batch.rejectedPortAt[2 * i + 1])
      this.rejected.offer(`${text(buf, at[4 * i], at[4 * i + 1])} -> ${text(buf, at[4 * i + 2], at[4 * i + 3])}:${port}/${protocolName(batch.rejectedProtocol[i])}`, estimate)
    }
  }

  /**
   * A record with a public address among its four: whether its interface forwards to or from the
   * internet, who opened its connection (flags, else the opposite record, else the port rule) and,
   * when it came in from outside, whether that is a finding. Kept apart from `add` so the common
   * private record stays a short function.
   */
  private addPublic(p: FlowLineParser, egress: boolean, accepted: boolean, srcPublic: boolean, dstPublic: boolean, pktSrcPublic: boolean, pktDstPublic: boolean): void {
    const buf = p.buf
    const from = p.from
    const to = p.to
    const value = p.value
    const srcFrom = from[FIELD.srcaddr]
    const dstFrom = from[FIELD.dstaddr]
    const pktSrcFrom = from[FIELD.pktSrcaddr]
    const pktDstFrom = from[FIELD.pktDstaddr]

    // An interface that forwards packets it neither sent nor receives for itself, to or from the
    // internet: a NAT gateway, or a NAT instance or proxy (pkt-* differ from the addresses on the wire).
    if (
      (pktSrcFrom >= 0 && (dstPublic || pktSrcPublic) && srcFrom >= 0 && !sameBytes(buf, pktSrcFrom, to[FIELD.pktSrcaddr], srcFrom, to[FIELD.srcaddr])) ||
      (pktDstFrom >= 0 && (pktDstPublic || srcPublic) && dstFrom >= 0 && !sameBytes(buf, pktDstFrom, to[FIELD.pktDstaddr], dstFrom, to[FIELD.dstaddr]))
    ) {
      this.noteTranslating(p)
    }

    // Public traffic accepted into the VPC: a connection started outside, or the answer to one started inside?
    const inbound = accepted && !egress && !dstPublic && pktSrcPublic
    const protocol = value[FIELD.protocol]
    // Who opened an accepted TCP connection that touches a public address, by its flags: remembered
    // for the records that cannot tell (tcp-flags and srcport are decoded only here).
    let byFlags = UNDECIDED
    const connections = this.connections
    const key = this.connectionKey
    if (accepted && protocol === 6) {
      p.fetch(FIELD.tcpFlags)
      byFlags = flagRule(value[FIELD.tcpFlags], protocol)
      // A connection opened and closed (FIN or RST) in the same window has no later window to
      // decide: most connections are short, and keeping them out leaves the table to long flows.
      if (byFlags !== UNDECIDED && (value[FIELD.tcpFlags] & 5) === 0) {
        p.fetch(FIELD.srcport)
        connections.note(key.of(buf, from, to, value), byFlags === INITIATION)
      }
    }
    if (!inbound) return
    if (byFlags !== UNDECIDED) {
      this.placed[E_FLAGS]++
      if (byFlags === INITIATION) this.note(B_INITIATED, p, E_FLAGS)
      return
    }
    p.fetch(FIELD.srcport)
    const ports = portRule(value[FIELD.srcport], value[FIELD.dstport], protocol)
    // Only TCP connections are seen opening (SYN): a record of another protocol has nothing to pair with.
    if (protocol !== 6) return this.byPorts(p, ports)
    key.of(buf, from, to, value)
    const paired = connections.lookup(key.bytes, key.length, key.hash, key.sourceIsLower)
    if (paired !== NOT_KNOWN) {
      this.placed[E_PAIRING]++
      if (paired === OPENED_BY_SOURCE) this.note(B_INITIATED, p, E_PAIRING)
    } else if (this.pending.length < MAX_PENDING) {
      const start = value[FIELD.start]
      const waiting = key.copy()
      this.pending.push({
        key: waiting.bytes,
        keyLength: key.length,
        hash: waiting.hash,
        sourceIsLower: waiting.sourceIsLower,
        ports,
        iface: this.interfaces.get(buf, from[FIELD.interfaceId], to[FIELD.interfaceId]),
        bytes: value[FIELD.bytes] > 0 ? value[FIELD.bytes] : 0,
        start,
        finish: value[FIELD.end] >= 0 ? value[FIELD.end] : start,
        sample: p.record,
      })
    } else {
      // No room to wait for the opposite record: the ports decide now.
      this.pendingOverflow++
      this.byPorts(p, ports)
    }
  }

  /** An inbound public record placed by the port rule, or undecided when the ports say nothing. */
  private byPorts(p: FlowLineParser, ports: number): void {
    this.placed[ports === UNDECIDED ? E_NONE : E_PORT_RULE]++
    if (ports === INITIATION) this.note(B_INITIATED, p, E_PORT_RULE)
    else if (ports === UNDECIDED) this.note(B_UNDECIDED, p, E_NONE)
  }

  /** A record whose interface translates; the first record naming an instance behind it tells which. */
  private noteTranslating(p: FlowLineParser): void {
    const stats = this.note(B_TRANSLATING, p, E_PACKET_ADDRESSES)
    if (stats && stats.instanceId === undefined) {
      p.fetch(FIELD.instanceId)
      const from = p.from[FIELD.instanceId]
      if (from >= 0) stats.instanceId = p.buf.toString('latin1', from, p.to[FIELD.instanceId])
    }
  }

  private note(bucket: number, p: FlowLineParser, evidence: number): InterfaceStats | undefined {
    const start = p.value[FIELD.start]
    const finish = p.value[FIELD.end] >= 0 ? p.value[FIELD.end] : start
    const buf = p.buf
    const ifaceFrom = p.from[FIELD.interfaceId]
    const ifaceTo = p.to[FIELD.interfaceId]
    const busiest = this.busiest[bucket]
    let stats: InterfaceStats | undefined
    if (busiest !== undefined && ifaceFrom >= 0 && busiest.name.length === ifaceTo - ifaceFrom && sameText(buf, ifaceFrom, busiest.name)) stats = busiest.stats
    else {
      const iface = this.interfaces.get(buf, ifaceFrom, ifaceTo)
      stats = this.statsOf(bucket, iface)
      if (!stats) return undefined
      if (busiest === undefined || stats.count >= busiest.stats.count) this.busiest[bucket] = {name: iface, stats}
    }
    this.tally(stats, p.value[FIELD.bytes], start, finish, evidence)
    if (stats.samples.length < SAMPLES_PER_INTERFACE) stats.samples.push(p.record)
    return stats
  }

  private statsOf(bucket: number, iface: string): InterfaceStats | undefined {
    const byInterface = this.buckets[bucket]
    let stats = byInterface.get(iface)
    if (!stats) {
      if (byInterface.size >= MAX_INTERFACES) return undefined
      byInterface.set(iface, (stats = {count: 0, bytes: 0, first: Infinity, last: 0, samples: [], evidence: EVIDENCE.map(() => 0)}))
    }
    return stats
  }

  private tally(stats: InterfaceStats, bytes: number, start: number, finish: number, evidence: number): void {
    stats.count++
    if (bytes > 0) stats.bytes += bytes
    if (start >= 0 && start < stats.first) stats.first = start
    if (finish > stats.last) stats.last = finish
    stats.evidence[evidence]++
  }

  /** Decides the waiting records: by the opposite record of their connection if any input held it, else by the port rule. */
  private settle(): void {
    for (const record of this.pending) {
      const found = this.connections.lookup(record.key, record.keyLength, record.hash, record.sourceIsLower)
      const paired = found === NOT_KNOWN ? UNDECIDED : found === OPENED_BY_SOURCE ? INITIATION : REPLY
      const verdict = paired !== UNDECIDED ? paired : record.ports
      const evidence = paired !== UNDECIDED ? E_PAIRING : verdict === UNDECIDED ? E_NONE : E_PORT_RULE
      this.placed[evidence]++
      if (verdict === REPLY) continue
      const bucket = verdict === INITIATION ? B_INITIATED : B_UNDECIDED
      const stats = this.statsOf(bucket, record.iface)
      if (!stats) continue
      this.tally(stats, record.bytes, record.start, record.finish, evidence)
      if (stats.samples.length < SAMPLES_PER_INTERFACE) stats.samples.push(record.sample)
    }
    this.pending = []
  }

  /** Folds another analyzer's state in (a worker's, or another file's). */
  merge(state: SerializedAnalyzer): void {
    this.flush()
    const c = this.coverage
    for (const key of ['records', 'nodata', 'skipdata', 'malformed', 'headers'] as const) c[key] += state.coverage[key]
    for (const key of ['firstSeen', 'lastSeen', 'lastStart'] as const) {
      const theirs = state.coverage[key]
      if (theirs === null) continue
      c[key] = c[key] === null ? theirs : key === 'firstSeen' ? Math.min(c[key]!, theirs) : Math.max(c[key]!, theirs)
    }
    this.rejected.merge(state.rejected)
    this.talkersBytes.merge(state.talkersBytes)
    this.talkersPackets.merge(state.talkersPackets)
    for (const [minute, records, bytes] of state.timeline) {
      const slot = this.timeline.get(minute)
      if (slot) {
        slot[0] += records
        slot[1] += bytes
      } else this.timeline.set(minute, [records, bytes])
    }
    for (const {fields, records} of state.formats) this.formatOf(fields).records += records
    this.connections.merge(state.connections)
    for (const [index, n] of state.placed.entries()) this.placed[index] += n
    this.pendingOverflow += state.pendingOverflow
    for (const id of state.seenInterfaces) this.seenWatched.add(id)
    const wrong = this.wrongFieldCount
    wrong.lines += state.wrongFieldCount.lines
    wrong.found = Math.max(wrong.found, state.wrongFieldCount.found)
    wrong.expected ||= state.wrongFieldCount.expected
    for (const record of state.pending) this.pending.push(record)
    for (const [name, entries] of state.buckets) {
      const byInterface = this.buckets[BUCKETS.indexOf(name)]
      for (const [iface, stats] of entries) {
        const mine = byInterface.get(iface)
        if (!mine) byInterface.set(iface, stats)
        else {
          mine.count += stats.count
          mine.bytes += stats.bytes
          mine.first = Math.min(mine.first, stats.first)
          mine.last = Math.max(mine.last, stats.last)
          mine.samples = [...mine.samples, ...stats.samples].slice(0, SAMPLES_PER_INTERFACE)
          mine.evidence = mine.evidence.map((n, i) => n + stats.evidence[i])
          mine.instanceId ??= stats.instanceId
        }
      }
    }
  }

  serialize(): SerializedAnalyzer {
    this.flush()
    return {
      coverage: {...this.coverage},
      rejected: this.rejected.serialize(),
      talkersBytes: this.talkersBytes.serialize(),
      talkersPackets: this.talkersPackets.serialize(),
      timeline: [...this.timeline].map(([minute, [records, bytes]]) => [minute, records, bytes]),
      formats: [...this.formats.values()],
      connections: this.connections.serialize(),
      placed: [...this.placed],
      pendingOverflow: this.pendingOverflow,
      seenInterfaces: [...this.seenWatched],
      wrongFieldCount: {...this.wrongFieldCount},
      pending: this.pending,
      buckets: this.buckets.flatMap((byInterface, index) => (byInterface.size > 0 ? [[BUCKETS[index], [...byInterface]] as [(typeof BUCKETS)[number], [string, InterfaceStats][]]] : [])),
    }
  }

  result(): AnalysisResult {
    this.flush()
    this.settle()
    const topN = this.options.topN ?? 20
    // NAT gateways: as told (--nat-eni, the account), else inferred from the records. An interface
    // that translates is a NAT gateway only if told so, or, with nothing told, if no instance is
    // behind it (a NAT gateway's interface is requester-managed: instance-id "-").
    const nat = new Map(this.natGateways)
    const unapproved = new Set<string>()
    for (const [iface, stats] of this.buckets[B_TRANSLATING]) {
      if (nat.has(iface)) continue
      if (this.natGateways.size > 0 || stats.instanceId !== undefined) unapproved.add(iface)
      else nat.set(iface, 'inferred')
    }
    const workload = (iface: string) => !nat.has(iface) && !this.endpointEnis.has(iface)
    const sources: Record<FindingId, [number, (iface: string) => boolean]> = {
      'internet-egress-not-via-nat': [B_EGRESS, (iface) => !nat.has(iface)],
      'public-inbound-accepted': [B_INITIATED, workload],
      'unapproved-exit': [B_TRANSLATING, (iface) => unapproved.has(iface)],
      // A NAT gateway forwards no connection it did not open: SSH to it is a probe (counted there).
      'ssh-rdp-accepted': [B_SSH_ACCEPTED, (iface) => !nat.has(iface)],
      'public-inbound-direction-unknown': [B_UNDECIDED, workload],
      'aws-service-via-nat': [B_SERVICE, (iface) => nat.has(iface)],
      'nat-gateway-probed': [B_INITIATED, (iface) => nat.has(iface)],
      'ssh-rdp-attempted': [B_SSH_REJECTED, () => true],
    }
    const findings: FlowFinding[] = []
    for (const id of FINDING_IDS) {
      const [bucket, keep] = sources[id]
      const entries = [...this.buckets[bucket]].filter(([iface]) => keep(iface))
      if (entries.length === 0) continue
      const sum = (pick: (s: InterfaceStats) => number) => entries.reduce((total, [, stats]) => total + pick(stats), 0)
      const first = Math.min(...entries.map(([, s]) => s.first))
      const last = Math.max(...entries.map(([, s]) => s.last))
      const evidence: Partial<Record<Evidence, number>> = {}
      EVIDENCE.forEach((name, index) => {
        const n = sum((s) => s.evidence[index])
        if (n > 0) evidence[name] = n
      })
      const rank = {high: 0, medium: 1, low: 2}
      const confidence = (Object.keys(evidence) as Evidence[]).map((name) => CONFIDENCE[name]).sort((a, b) => rank[a] - rank[b])[0] ?? 'low'
      findings.push({
        id,
        ...FINDINGS[id],
        count: sum((s) => s.count),
        bytes: sum((s) => s.bytes),
        firstSeen: Number.isFinite(first) ? first : null,
        lastSeen: last || null,
        evidence,
        confidence,
        interfaces: entries
          .sort((a, b) => b[1].count - a[1].count)
          .slice(0, topN)
          .map(([interfaceId, s]) => ({interfaceId, count: s.count, bytes: s.bytes, ...(s.instanceId && id === 'unapproved-exit' ? {instanceId: s.instanceId} : {})})),
        samples: entries.flatMap(([, s]) => s.samples).slice(0, 3),
      })
    }
    const order: FlowSeverity[] = ['critical', 'high', 'medium', 'info']
    findings.sort((a, b) => order.indexOf(a.severity) - order.indexOf(b.severity) || b.count - a.count)
    const checks = this.checks()
    const warnings = this.warnings()
    const {verdict, unproven} = judge(this.coverage, findings, checks, this.wrongFieldCount)
    return {
      coverage: {...this.coverage},
      natInterfaces: [...nat].map(([interfaceId, source]) => ({interfaceId, source})),
      findings,
      rejected: this.rejected.top(topN),
      topTalkersByBytes: this.talkersBytes.top(topN),
      topTalkersByPackets: this.talkersPackets.top(topN),
      topError: Math.max(this.rejected.errorBound, this.talkersBytes.errorBound, this.talkersPackets.errorBound),
      timeline: [...this.timeline].sort((a, b) => a[0] - b[0]).map(([minute, [records, bytes]]) => [minute, records, bytes]),
      checks,
      direction: this.direction(),
      warnings,
      verdict,
      unproven,
      passed: verdict === 'passed',
    }
  }

  private warnings(): string[] {
    const warnings: string[] = []
    for (const [iface, source] of this.natGateways) {
      if (this.seenWatched.has(iface)) continue
      warnings.push(
        `NAT gateway interface ${iface} (from ${source === 'flag' ? '--nat-eni' : source}) appears in no record read, so the NAT gateway is not recognised: check the id (aws ec2 describe-nat-gateways --query 'NatGateways[].NatGatewayAddresses[].NetworkInterfaceId') and that the records cover its VPC`,
      )
    }
    const wrong = this.wrongFieldCount
    if (wrong.lines > 0) warnings.push(fieldCountText(wrong))
    return warnings
  }

  private direction(): DirectionEvidence {
    const placed = this.placed
    return {
      records: placed[E_FLAGS] + placed[E_PAIRING] + placed[E_PORT_RULE] + placed[E_NONE],
      placedBy: {'tcp-flags': placed[E_FLAGS], pairing: placed[E_PAIRING], 'port-rule': placed[E_PORT_RULE], none: placed[E_NONE]},
      decidedWithoutWaiting: this.pendingOverflow,
      connections: this.connections.stats(),
    }
  }

  /** Which checks the formats of the records read allow, and what the others lack. */
  private checks(): CheckStatus[] {
    const formats = [...this.formats.values()].filter((format) => format.records > 0)
    const total = formats.reduce((sum, format) => sum + format.records, 0)
    return CHECKS.map(({id, gating, needs}) => {
      const missing = new Set<string>()
      let recordsUnchecked = 0
      for (const format of formats) {
        const lacking = needs.map((fields) => fields.filter((field) => !format.fields.includes(field)))
        if (lacking.some((fields) => fields.length === 0)) continue
        recordsUnchecked += format.records
        for (const field of lacking.reduce((fewest, fields) => (fields.length < fewest.length ? fields : fewest))) missing.add(field)
      }
      const status = total === 0 ? 'not-run' : recordsUnchecked === 0 ? 'ran' : recordsUnchecked === total ? 'unproven' : 'partial'
      return {id, gating, status, missing: [...missing], recordsUnchecked}
    })
  }
}

/** The verdict: never a pass that the records read cannot support. */
/** Lines with more (or fewer) fields than the format read: most often files without a header line in a custom format. */
function fieldCountText(wrong: {lines: number; found: number; expected: number}): string {
  return (
    `${wrong.lines.toLocaleString('en')} line(s) have ${wrong.found > wrong.expected ? 'more' : 'fewer'} fields (up to ${wrong.found}) than the format read (${wrong.expected}; without a header line that is the default version 2 format): ` +
    "if the files have no header line, pass --log-format with the flow log's LogFormat (aws ec2 describe-flow-logs --query 'FlowLogs[].LogFormat')"
  )
}

function judge(coverage: Coverage, findings: FlowFinding[], checks: CheckStatus[], wrong: {lines: number; found: number; expected: number}): {verdict: Verdict; unproven: AnalysisResult['unproven']} {
  const reasons: string[] = []
  const missing = new Set<string>()
  if (coverage.records === 0) {
    const read = [
      coverage.malformed && `${coverage.malformed} malformed line(s)`,
      coverage.nodata && `${coverage.nodata} NODATA`,
      coverage.skipdata && `${coverage.skipdata} SKIPDATA`,
    ].filter(Boolean)
    reasons.push(`no flow log record was read${read.length ? ` (only ${read.join(', ')})` : ''}`)
    if (wrong.lines > 0) reasons.push(fieldCountText(wrong))
  }
  for (const check of checks) {
    if (!check.gating || check.status === 'ran' || check.status === 'not-run') continue
    for (const field of check.missing) missing.add(field)
    reasons.push(`the ${check.id} check could not run on ${check.recordsUnchecked.toLocaleString('en')} record(s): their format lacks ${check.missing.map((field) => `${field} (version ${FIELD_VERSIONS[field]})`).join(', ')}`)
  }
  const failed = findings.some((finding) => finding.severity === 'critical')
  const verdict: Verdict = failed ? 'failed' : reasons.length > 0 ? 'unproven' : 'passed'
  return {verdict, unproven: reasons.length > 0 ? {reasons, missingFields: [...missing], logFormat: RECOMMENDED_FORMAT} : null}
}

export interface SerializedAnalyzer {
  coverage: Coverage
  rejected: SerializedHeavyHitters
  talkersBytes: SerializedHeavyHitters
  talkersPackets: SerializedHeavyHitters
  timeline: [number, number, number][]
  formats: FormatSeen[]
  connections: SerializedConnections
  placed: number[]
  pendingOverflow: number
  seenInterfaces: string[]
  wrongFieldCount: {lines: number; found: number; expected: number}
  pending: PendingRecord[]
  buckets: [(typeof BUCKETS)[number], [string, InterfaceStats][]][]
}

/** A field's bytes, or "-" when absent, as `text` will spell it. */
function hashField(key: SketchKey, buf: Uint8Array, from: number, to: number): void {
  if (from < 0) key.byte(45)
  else key.bytes(buf, from, to)
}

function text(buf: Buffer, from: number, to: number): string {
  return from < 0 ? '-' : buf.toString('latin1', from, to)
}

function protocolName(protocol: number): string {
  return protocol === 6 ? 'tcp' : protocol === 17 ? 'udp' : protocol === 1 ? 'icmp' : protocol < 0 ? '-' : String(protocol)
}
