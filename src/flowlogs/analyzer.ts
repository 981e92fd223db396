import {TRAFFIC_PATH_GATEWAY_OR_ENDPOINT, TRAFFIC_PATH_INTERNET_GATEWAY} from './fields.js'
import {FIELD, type FlowLineParser, type FlowRecord, type ParseOutcome} from './record.js'
import {HeavyHitters, type SerializedHeavyHitters, SketchKey} from './heavy-hitters.js'

export type FindingId = 'internet-egress-not-via-nat' | 'public-inbound-accepted' | 'ssh-rdp-accepted' | 'ssh-rdp-attempted' | 'aws-service-via-nat'
export type FlowSeverity = 'critical' | 'high' | 'medium' | 'info'

const FINDINGS: Record<FindingId, {severity: FlowSeverity; title: string; fix: string}> = {
  'internet-egress-not-via-nat': {
    severity: 'critical',
    title: 'Traffic left through an internet gateway from an interface that is not a NAT gateway',
    fix: 'route the subnet to the NAT gateway, remove the public IP, or find what created the route',
  },
  'public-inbound-accepted': {
    severity: 'critical',
    title: 'A workload interface accepted a connection from a public address',
    fix: 'remove the public path (IGW route, public IP, load balancer) and the security group rule that allowed it',
  },
  'ssh-rdp-accepted': {severity: 'critical', title: 'SSH or RDP was accepted', fix: 'close port 22/3389; use Session Manager'},
  'ssh-rdp-attempted': {severity: 'info', title: 'SSH or RDP attempts were rejected', fix: 'nothing to do: the estate rejected them'},
  'aws-service-via-nat': {
    severity: 'medium',
    title: 'AWS service traffic went through the NAT gateway instead of a VPC endpoint',
    fix: 'add an interface or gateway endpoint for the service (see pkt-dst-aws-service), or check private DNS',
  },
}

const SAMPLES_PER_INTERFACE = 2
const MAX_INTERFACES = 20_000

interface InterfaceStats {
  count: number
  bytes: number
  first: number
  last: number
  samples: FlowRecord[]
}

export interface AnalyzerOptions {
  natEnis?: Iterable<string>
  /** Where natEnis came from: read from the account, or given with --nat-eni. */
  natSource?: 'account' | 'flag'
  endpointEnis?: Iterable<string>
  topN?: number
}

export interface Coverage {
  records: number
  nodata: number
  skipdata: number
  malformed: number
  headers: number
  firstSeen: number | null
  lastSeen: number | null
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
  interfaces: {interfaceId: string; count: number; bytes: number}[]
  samples: FlowRecord[]
}

export interface AnalysisResult {
  coverage: Coverage
  natInterfaces: {interfaceId: string; source: 'account' | 'flag' | 'inferred'}[]
  findings: FlowFinding[]
  rejected: {key: string; count: number}[]
  topTalkersByBytes: {key: string; count: number}[]
  topTalkersByPackets: {key: string; count: number}[]
  /** How far above the truth a top-N count may be (count-min sketch bound; usually far less). */
  topError: number
  /** Records per minute, for the traffic-over-time chart: [epoch minute, records, bytes]. */
  timeline: [number, number, number][]
  passed: boolean
}

/** Not RFC 1918, CGNAT, loopback, link-local or IPv6 ULA/link-local. */
export function isPublicAddress(address: string | undefined): boolean {
  if (address === undefined || address.length === 0) return false
  const bytes = Buffer.from(address, 'latin1')
  return isPublicBytes(bytes, 0, bytes.length)
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
const [INTERNET_EGRESS, PUBLIC_INBOUND, SSH_ACCEPTED, SSH_ATTEMPTED, SERVICE_VIA_NAT] = FINDING_IDS.map((_, index) => index)
const ACCEPT = 65 // "A"CCEPT
const REJECT = 82 // "R"EJECT
const EGRESS = 101 // "e"gress

/** Streams records in and keeps only bounded aggregates; results merge across files and workers. */
export class FlowAnalyzer {
  readonly coverage: Coverage = {records: 0, nodata: 0, skipdata: 0, malformed: 0, headers: 0, firstSeen: null, lastSeen: null}
  /** Per finding (in FINDING_IDS order): statistics by interface. */
  private readonly perFinding: Map<string, InterfaceStats>[] = FINDING_IDS.map(() => new Map())
  private readonly inferredNat = new Set<string>()
  private readonly rejected: HeavyHitters
  private readonly talkersBytes: HeavyHitters
  private readonly talkersPackets: HeavyHitters
  private readonly timeline = new Map<number, [number, number]>()
  private lastMinute = -1
  private lastSlot: [number, number] | undefined
  private readonly interfaces = new Interner()
  private readonly key = new SketchKey()
  private readonly natEnis: Set<string>
  private readonly endpointEnis: Set<string>

  constructor(private readonly options: AnalyzerOptions = {}) {
    this.natEnis = new Set(options.natEnis ?? [])
    this.endpointEnis = new Set(options.endpointEnis ?? [])
    const capacity = Math.max(50, (options.topN ?? 20) * 5)
    this.rejected = new HeavyHitters(capacity)
    this.talkersBytes = new HeavyHitters(capacity)
    this.talkersPackets = new HeavyHitters(capacity)
  }

  count(outcome: Exclude<ParseOutcome, 'record'>): void {
    if (outcome === 'nodata') this.coverage.nodata++
    else if (outcome === 'skipdata') this.coverage.skipdata++
    else if (outcome === 'malformed') this.coverage.malformed++
    else this.coverage.headers++
  }

  /** Takes the record the parser has just read, from its arrays; copies only what it keeps. */
  add(p: FlowLineParser): void {
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
      const minute = start - (start % 60)
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
    const srcFrom = from[FIELD.srcaddr]
    const srcTo = to[FIELD.srcaddr]
    const dstFrom = from[FIELD.dstaddr]
    const dstTo = to[FIELD.dstaddr]
    const pktSrcFrom = from[FIELD.pktSrcaddr]
    const pktDstFrom = from[FIELD.pktDstaddr]
    const direction = from[FIELD.flowDirection]
    const egress = direction >= 0 && buf[direction] === EGRESS
    const actionAt = from[FIELD.action]
    const accepted = actionAt >= 0 && buf[actionAt] === ACCEPT
    const rejected = actionAt >= 0 && buf[actionAt] === REJECT
    const dstPublic = isPublicBytes(buf, dstFrom, dstTo)

    // A NAT gateway's interface translates: what it sends carries another packet source.
    if (egress && pktSrcFrom >= 0 && srcFrom >= 0 && dstPublic && !sameBytes(buf, pktSrcFrom, to[FIELD.pktSrcaddr], srcFrom, srcTo)) {
      this.inferredNat.add(this.interfaces.get(buf, from[FIELD.interfaceId], to[FIELD.interfaceId]))
    }

    // Keys are hashed as their text will read ("src -> dst", "src -> dst:port/proto") without building it.
    const key = this.key.start()
    hashField(key, buf, srcFrom, srcTo)
    key.string(' -> ')
    hashField(key, buf, dstFrom, dstTo)
    key.end()
    const byBytes = this.talkersBytes.count(key, bytes)
    const byPackets = this.talkersPackets.count(key, value[FIELD.packets])
    const wantBytes = this.talkersBytes.wants(byBytes)
    const wantPackets = this.talkersPackets.wants(byPackets)
    if (wantBytes || wantPackets) {
      const talkers = `${text(buf, srcFrom, srcTo)} -> ${text(buf, dstFrom, dstTo)}`
      if (wantBytes) this.talkersBytes.offer(talkers, byBytes)
      if (wantPackets) this.talkersPackets.offer(talkers, byPackets)
    }

    const dport = value[FIELD.dstport]
    const protocol = value[FIELD.protocol]
    if (rejected) {
      const portFrom = from[FIELD.dstport]
      const portTo = to[FIELD.dstport]
      const protocolText = protocolName(protocol)
      key.byte(58 /* : */)
      hashField(key, buf, portFrom, portTo)
      key.byte(47 /* / */)
      key.string(protocolText)
      key.end()
      const estimate = this.rejected.count(key, 1)
      if (this.rejected.wants(estimate)) {
        this.rejected.offer(`${text(buf, srcFrom, srcTo)} -> ${text(buf, dstFrom, dstTo)}:${text(buf, portFrom, portTo)}/${protocolText}`, estimate)
      }
    }

    const path = value[FIELD.trafficPath]
    const viaInternet =
      path === TRAFFIC_PATH_INTERNET_GATEWAY ||
      (path === TRAFFIC_PATH_GATEWAY_OR_ENDPOINT && (pktDstFrom >= 0 ? isPublicBytes(buf, pktDstFrom, to[FIELD.pktDstaddr]) : dstPublic))
    if (egress && viaInternet) this.note(INTERNET_EGRESS, p)
    if (accepted && !egress && !dstPublic && (pktSrcFrom >= 0 ? isPublicBytes(buf, pktSrcFrom, to[FIELD.pktSrcaddr]) : isPublicBytes(buf, srcFrom, srcTo))) {
      this.note(PUBLIC_INBOUND, p)
    }
    if ((dport === 22 || dport === 3389) && protocol === 6 && !egress) this.note(accepted ? SSH_ACCEPTED : SSH_ATTEMPTED, p)
    if (from[FIELD.pktDstAwsService] >= 0 && egress && path >= 0 && path !== 1 && path !== 7) this.note(SERVICE_VIA_NAT, p)
  }

  private note(finding: number, p: FlowLineParser): void {
    const byInterface = this.perFinding[finding]
    const iface = this.interfaces.get(p.buf, p.from[FIELD.interfaceId], p.to[FIELD.interfaceId])
    let stats = byInterface.get(iface)
    if (!stats) {
      if (byInterface.size >= MAX_INTERFACES) return
      byInterface.set(iface, (stats = {count: 0, bytes: 0, first: Infinity, last: 0, samples: []}))
    }
    const start = p.value[FIELD.start]
    const finish = p.value[FIELD.end] >= 0 ? p.value[FIELD.end] : start
    stats.count++
    if (p.value[FIELD.bytes] > 0) stats.bytes += p.value[FIELD.bytes]
    if (start >= 0 && start < stats.first) stats.first = start
    if (finish > stats.last) stats.last = finish
    if (stats.samples.length < SAMPLES_PER_INTERFACE) stats.samples.push(p.record)
  }

  /** Folds another analyzer's state in (a worker's, or another file's). */
  merge(state: SerializedAnalyzer): void {
    const c = this.coverage
    for (const key of ['records', 'nodata', 'skipdata', 'malformed', 'headers'] as const) c[key] += state.coverage[key]
    if (state.coverage.firstSeen !== null) c.firstSeen = c.firstSeen === null ? state.coverage.firstSeen : Math.min(c.firstSeen, state.coverage.firstSeen)
    if (state.coverage.lastSeen !== null) c.lastSeen = c.lastSeen === null ? state.coverage.lastSeen : Math.max(c.lastSeen, state.coverage.lastSeen)
    for (const iface of state.inferredNat) this.inferredNat.add(iface)
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
    for (const [id, entries] of state.findings) {
      const byInterface = this.perFinding[FINDING_IDS.indexOf(id)]
      for (const [iface, stats] of entries) {
        const mine = byInterface.get(iface)
        if (!mine) byInterface.set(iface, stats)
        else {
          mine.count += stats.count
          mine.bytes += stats.bytes
          mine.first = Math.min(mine.first, stats.first)
          mine.last = Math.max(mine.last, stats.last)
          mine.samples = [...mine.samples, ...stats.samples].slice(0, SAMPLES_PER_INTERFACE)
        }
      }
    }
  }

  serialize(): SerializedAnalyzer {
    return {
      coverage: {...this.coverage},
      inferredNat: [...this.inferredNat],
      rejected: this.rejected.serialize(),
      talkersBytes: this.talkersBytes.serialize(),
      talkersPackets: this.talkersPackets.serialize(),
      timeline: [...this.timeline].map(([minute, [records, bytes]]) => [minute, records, bytes]),
      findings: this.perFinding.flatMap((byInterface, index) => (byInterface.size > 0 ? [[FINDING_IDS[index], [...byInterface]] as [FindingId, [string, InterfaceStats][]]] : [])),
    }
  }

  result(): AnalysisResult {
    const topN = this.options.topN ?? 20
    const nat = new Map<string, 'account' | 'flag' | 'inferred'>()
    for (const iface of this.natEnis) nat.set(iface, this.options.natSource ?? 'flag')
    // Inference stands in only when nothing told us which interfaces are NAT gateways.
    if (this.natEnis.size === 0) for (const iface of this.inferredNat) nat.set(iface, 'inferred')
    const exclude: Partial<Record<FindingId, Set<string>>> = {
      'internet-egress-not-via-nat': new Set(nat.keys()),
      'public-inbound-accepted': new Set([...nat.keys(), ...this.endpointEnis]),
    }
    const onlyNat: Partial<Record<FindingId, boolean>> = {'aws-service-via-nat': true}
    const findings: FlowFinding[] = []
    for (const [index, byInterface] of this.perFinding.entries()) {
      const id = FINDING_IDS[index]
      const entries = [...byInterface].filter(([iface]) => !exclude[id]?.has(iface) && (!onlyNat[id] || nat.has(iface)))
      if (entries.length === 0) continue
      const sum = (pick: (s: InterfaceStats) => number) => entries.reduce((total, [, stats]) => total + pick(stats), 0)
      const first = Math.min(...entries.map(([, s]) => s.first))
      const last = Math.max(...entries.map(([, s]) => s.last))
      findings.push({
        id,
        ...FINDINGS[id],
        count: sum((s) => s.count),
        bytes: sum((s) => s.bytes),
        firstSeen: Number.isFinite(first) ? first : null,
        lastSeen: last || null,
        interfaces: entries.sort((a, b) => b[1].count - a[1].count).slice(0, topN).map(([interfaceId, s]) => ({interfaceId, count: s.count, bytes: s.bytes})),
        samples: entries.flatMap(([, s]) => s.samples).slice(0, 3),
      })
    }
    const order: FlowSeverity[] = ['critical', 'high', 'medium', 'info']
    findings.sort((a, b) => order.indexOf(a.severity) - order.indexOf(b.severity) || b.count - a.count)
    return {
      coverage: {...this.coverage},
      natInterfaces: [...nat].map(([interfaceId, source]) => ({interfaceId, source})),
      findings,
      rejected: this.rejected.top(topN),
      topTalkersByBytes: this.talkersBytes.top(topN),
      topTalkersByPackets: this.talkersPackets.top(topN),
      topError: Math.max(this.rejected.errorBound, this.talkersBytes.errorBound, this.talkersPackets.errorBound),
      timeline: [...this.timeline].sort((a, b) => a[0] - b[0]).map(([minute, [records, bytes]]) => [minute, records, bytes]),
      passed: !findings.some((finding) => finding.severity === 'critical'),
    }
  }
}

export interface SerializedAnalyzer {
  coverage: Coverage
  inferredNat: string[]
  rejected: SerializedHeavyHitters
  talkersBytes: SerializedHeavyHitters
  talkersPackets: SerializedHeavyHitters
  timeline: [number, number, number][]
  findings: [FindingId, [string, InterfaceStats][]][]
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
