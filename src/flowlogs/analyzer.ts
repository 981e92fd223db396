import {TRAFFIC_PATH_GATEWAY_OR_ENDPOINT, TRAFFIC_PATH_INTERNET_GATEWAY} from './fields.js'
import type {FlowRecord, ParseOutcome} from './record.js'
import {HeavyHitters, type SerializedHeavyHitters, hashKey} from './heavy-hitters.js'

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

/** Not RFC 1918, CGNAT, loopback, link-local or IPv6 ULA/link-local; checked by hand: it runs per record. */
export function isPublicAddress(address: string | undefined): boolean {
  if (address === undefined || address.length === 0) return false
  const first = address.charCodeAt(0)
  if (address.includes(':')) {
    const lower = address.toLowerCase()
    return !(lower.startsWith('fc') || lower.startsWith('fd') || lower.startsWith('fe80:') || lower === '::1')
  }
  const dot = address.indexOf('.')
  const a = Number(address.slice(0, dot))
  if (a === 10 || a === 127) return false
  if (first < 48 || first > 57) return false
  const b = Number(address.slice(dot + 1, address.indexOf('.', dot + 1)))
  if (a === 192 && b === 168) return false
  if (a === 172 && b >= 16 && b <= 31) return false
  if (a === 100 && b >= 64 && b <= 127) return false
  if (a === 169 && b === 254) return false
  return true
}

/** Streams records in and keeps only bounded aggregates; results merge across files and workers. */
export class FlowAnalyzer {
  readonly coverage: Coverage = {records: 0, nodata: 0, skipdata: 0, malformed: 0, headers: 0, firstSeen: null, lastSeen: null}
  private readonly perFinding = new Map<FindingId, Map<string, InterfaceStats>>()
  private readonly inferredNat = new Set<string>()
  private readonly rejected: HeavyHitters
  private readonly talkersBytes: HeavyHitters
  private readonly talkersPackets: HeavyHitters
  private readonly timeline = new Map<number, [number, number]>()
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

  add(r: FlowRecord): void {
    const c = this.coverage
    c.records++
    const start = r.start ?? 0
    if (start) {
      if (c.firstSeen === null || start < c.firstSeen) c.firstSeen = start
      if (c.lastSeen === null || (r.end ?? start) > c.lastSeen) c.lastSeen = r.end ?? start
      const minute = start - (start % 60)
      const slot = this.timeline.get(minute)
      if (slot) {
        slot[0]++
        slot[1] += r.bytes ?? 0
      } else if (this.timeline.size < 100_000) this.timeline.set(minute, [1, r.bytes ?? 0])
    }
    const iface = r.interfaceId ?? '-'
    const bytes = r.bytes ?? 0
    const egress = r.flowDirection === 'egress'
    // A NAT gateway's interface translates: what it sends carries another packet source.
    if (egress && r.pktSrcaddr && r.srcaddr && r.pktSrcaddr !== r.srcaddr && isPublicAddress(r.dstaddr)) this.inferredNat.add(iface)

    const talkers = `${r.srcaddr ?? '-'} -> ${r.dstaddr ?? '-'}`
    hashKey(talkers)
    this.talkersBytes.addHashed(talkers, bytes)
    this.talkersPackets.addHashed(talkers, r.packets ?? 0)

    if (r.action === 'REJECT') this.rejected.add(`${r.srcaddr ?? '-'} -> ${r.dstaddr ?? '-'}:${r.dstport ?? '-'}/${protocolName(r.protocol)}`)

    const path = r.trafficPath
    const viaInternet = path === TRAFFIC_PATH_INTERNET_GATEWAY || (path === TRAFFIC_PATH_GATEWAY_OR_ENDPOINT && isPublicAddress(r.pktDstaddr ?? r.dstaddr))
    if (egress && viaInternet) this.note('internet-egress-not-via-nat', iface, r)
    if (r.action === 'ACCEPT' && r.flowDirection !== 'egress' && isPublicAddress(r.pktSrcaddr ?? r.srcaddr) && !isPublicAddress(r.dstaddr)) {
      this.note('public-inbound-accepted', iface, r)
    }
    if ((r.dstport === 22 || r.dstport === 3389) && r.protocol === 6 && r.flowDirection !== 'egress') {
      this.note(r.action === 'ACCEPT' ? 'ssh-rdp-accepted' : 'ssh-rdp-attempted', iface, r)
    }
    if (r.pktDstAwsService && egress && path !== undefined && path !== 1 && path !== 7) this.note('aws-service-via-nat', iface, r)
  }

  private note(id: FindingId, iface: string, r: FlowRecord): void {
    let byInterface = this.perFinding.get(id)
    if (!byInterface) this.perFinding.set(id, (byInterface = new Map()))
    let stats = byInterface.get(iface)
    if (!stats) {
      if (byInterface.size >= MAX_INTERFACES) return
      byInterface.set(iface, (stats = {count: 0, bytes: 0, first: Infinity, last: 0, samples: []}))
    }
    stats.count++
    stats.bytes += r.bytes ?? 0
    if (r.start !== undefined && r.start < stats.first) stats.first = r.start
    if ((r.end ?? r.start ?? 0) > stats.last) stats.last = r.end ?? r.start ?? 0
    if (stats.samples.length < SAMPLES_PER_INTERFACE) stats.samples.push({...r})
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
      let byInterface = this.perFinding.get(id)
      if (!byInterface) this.perFinding.set(id, (byInterface = new Map()))
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
      findings: [...this.perFinding].map(([id, byInterface]) => [id, [...byInterface]]),
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
    for (const [id, byInterface] of this.perFinding) {
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

function protocolName(protocol: number | undefined): string {
  return protocol === 6 ? 'tcp' : protocol === 17 ? 'udp' : protocol === 1 ? 'icmp' : String(protocol ?? '-')
}
