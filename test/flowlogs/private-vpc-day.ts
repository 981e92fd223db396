import {FLOW_LOG_FIELDS} from '../../src/stacks/security.js'

/**
 * A day of flow log records of a private VPC (dev, 10.1.0.0/16), written the way VPC Flow Logs
 * writes them (VPC user guide: flow log records and their examples): one record per direction per
 * interface per one-minute window; dstaddr is the interface's own address on ingress and srcaddr
 * on egress, with pkt-srcaddr/pkt-dstaddr the packet's original ends; traffic-path only on egress;
 * tcp-flags ORed over the window (SYN 2 or SYN-ACK 18 in the first, FIN 1 in the last, 0 between).
 * Workloads reach the internet through the NAT gateway and AWS through interface endpoints, a
 * database in the VPC, scanners probe the NAT gateway; and one violation of each kind is planted.
 */
export const HEADER = FLOW_LOG_FIELDS.join(' ')
export const DAY_START = 1764547200 // 2025-12-01T00:00:00Z
const ACCOUNT = '111111111111'
const VPC = 'vpc-0dev'

interface Interface {
  eni: string
  ip: string
  instance: string
  subnet: string
}
const iface = (eni: string, ip: string, instance: string, subnet: string): Interface => ({eni, ip, instance, subnet})

export const NAT = iface('eni-0nat', '10.1.192.10', '-', 'subnet-nat-a')
const WORKLOADS = [1, 2, 3, 4, 5, 6].map((n) => iface(`eni-0w${n}`, `10.1.1.${10 + n}`, `i-0w${n}`, 'subnet-app-a'))
const ENDPOINTS = [iface('eni-0vpce-ssm', '10.1.0.100', '-', 'subnet-app-a'), iface('eni-0vpce-ssmmessages', '10.1.0.101', '-', 'subnet-app-a')]
const DATABASE = iface('eni-0db', '10.1.200.5', '-', 'subnet-data-a')
// Planted: a workload with an internet gateway route, a web server with a public path, a NAT instance.
export const LEAKY = iface('eni-0leaky', '10.1.2.50', 'i-0leaky', 'subnet-app-b')
export const WEB = iface('eni-0web', '10.1.3.30', 'i-0web', 'subnet-app-b')
export const NAT_INSTANCE = iface('eni-0nati', '10.1.4.40', 'i-0natinstance', 'subnet-app-b')

/** xorshift32: the same day every time. */
function random(seed: number) {
  let state = seed >>> 0 || 1
  return (n: number) => {
    state ^= state << 13
    state ^= state >>> 17
    state ^= state << 5
    return (state >>> 0) % n
  }
}

interface Leg {
  /** Where the record is taken, and which end of the leg this interface is. */
  at: Interface
  direction: 'ingress' | 'egress'
  src: string
  dst: string
  pktSrc: string
  pktDst: string
  sport: number
  dport: number
  /** Whether these packets come from the side that opened the connection. */
  fromOpener: boolean
  path: number | '-'
  dstService?: string
  srcService?: string
  action?: 'ACCEPT' | 'REJECT'
}

export function privateVpcDay(seed = 7): string[] {
  const rand = random(seed)
  const lines: string[] = []
  const record = (leg: Leg, start: number, flags: number) => {
    const packets = 1 + rand(40)
    const bytes = packets * (60 + rand(1400))
    lines.push(
      [
        5, ACCOUNT, leg.at.eni, leg.src, leg.dst, leg.sport, leg.dport, 6, packets, bytes, start, start + 59, leg.action ?? 'ACCEPT', 'OK',
        VPC, leg.at.subnet, leg.at.instance, flags, 'IPv4', leg.pktSrc, leg.pktDst, 'eu-west-1', 'euw1-az1', '-', '-',
        leg.srcService ?? '-', leg.dstService ?? '-', leg.direction, leg.direction === 'egress' ? leg.path : '-',
      ].join(' '),
    )
  }
  /** A TCP connection lasting `windows` minutes, seen on every leg given. */
  const connection = (start: number, windows: number, legs: Leg[]) => {
    for (let w = 0; w < windows; w++) {
      const last = w === windows - 1
      for (const leg of legs) {
        const opening = w === 0 ? (leg.fromOpener ? 2 : 18) : 0
        record(leg, start + w * 60, opening | (last ? 1 : 0))
      }
    }
  }
  const ephemeral = () => 32768 + rand(28000)
  const internetHost = () => `${[34, 35, 52, 104, 151][rand(5)]}.${rand(250) + 1}.${rand(250) + 1}.${rand(250) + 1}`

  /** A workload's HTTPS call through the NAT gateway: its own interface and both NAT legs. */
  const throughNat = (start: number, windows: number, w: Interface, host: string, service?: string) => {
    const port = ephemeral()
    const natPort = 1024 + rand(64000)
    connection(start, windows, [
      {at: w, direction: 'egress', src: w.ip, dst: host, pktSrc: w.ip, pktDst: host, sport: port, dport: 443, fromOpener: true, path: 1, dstService: service},
      {at: w, direction: 'ingress', src: host, dst: w.ip, pktSrc: host, pktDst: w.ip, sport: 443, dport: port, fromOpener: false, path: '-', srcService: service},
      {at: NAT, direction: 'ingress', src: w.ip, dst: NAT.ip, pktSrc: w.ip, pktDst: host, sport: port, dport: 443, fromOpener: true, path: '-', dstService: service},
      {at: NAT, direction: 'egress', src: NAT.ip, dst: host, pktSrc: NAT.ip, pktDst: host, sport: natPort, dport: 443, fromOpener: true, path: 8, dstService: service},
      {at: NAT, direction: 'ingress', src: host, dst: NAT.ip, pktSrc: host, pktDst: NAT.ip, sport: 443, dport: natPort, fromOpener: false, path: '-', srcService: service},
      {at: NAT, direction: 'egress', src: NAT.ip, dst: w.ip, pktSrc: host, pktDst: w.ip, sport: 443, dport: port, fromOpener: false, path: 1, srcService: service},
    ])
  }
  /** Private traffic between two interfaces of the VPC, seen on both. */
  const inside = (start: number, windows: number, client: Interface, server: Interface, dport: number) => {
    const port = ephemeral()
    connection(start, windows, [
      {at: client, direction: 'egress', src: client.ip, dst: server.ip, pktSrc: client.ip, pktDst: server.ip, sport: port, dport, fromOpener: true, path: 1},
      {at: client, direction: 'ingress', src: server.ip, dst: client.ip, pktSrc: server.ip, pktDst: client.ip, sport: dport, dport: port, fromOpener: false, path: '-'},
      {at: server, direction: 'ingress', src: client.ip, dst: server.ip, pktSrc: client.ip, pktDst: server.ip, sport: port, dport, fromOpener: true, path: '-'},
      {at: server, direction: 'egress', src: server.ip, dst: client.ip, pktSrc: server.ip, pktDst: client.ip, sport: dport, dport: port, fromOpener: false, path: 1},
    ])
  }

  for (let minute = 0; minute < 1440; minute++) {
    const t = DAY_START + minute * 60
    // Workloads calling out (some calls last minutes), SSM through its endpoints, the database.
    for (let k = 0; k < 2; k++) throughNat(t, rand(10) === 0 ? 2 + rand(10) : 1, WORKLOADS[rand(WORKLOADS.length)], internetHost())
    if (minute % 5 === 0) for (const w of WORKLOADS) inside(t, 5, w, ENDPOINTS[rand(2)], 443)
    inside(t, 1 + rand(3), WORKLOADS[rand(WORKLOADS.length)], DATABASE, 5432)
    // Scanners: the NAT gateway's network ACL logs ACCEPT for most, REJECT for some; a NAT gateway drops them all.
    if (rand(4) === 0) {
      const scanner = `198.51.100.${rand(250) + 1}`
      const dport = [22, 23, 80, 443, 3389, 8080][rand(6)]
      const action = rand(3) === 0 ? 'REJECT' : 'ACCEPT'
      record({at: NAT, direction: 'ingress', src: scanner, dst: NAT.ip, pktSrc: scanner, pktDst: NAT.ip, sport: ephemeral(), dport, fromOpener: true, path: '-', action}, t, 2)
    }
  }

  // Planted, once each.
  const noon = DAY_START + 12 * 3600
  // 1. A workload going out through an internet gateway (traffic-path 8 from its own interface).
  const host = '93.184.216.34'
  connection(noon, 2, [
    {at: LEAKY, direction: 'egress', src: LEAKY.ip, dst: host, pktSrc: LEAKY.ip, pktDst: host, sport: 41000, dport: 443, fromOpener: true, path: 8},
    {at: LEAKY, direction: 'ingress', src: host, dst: LEAKY.ip, pktSrc: host, pktDst: LEAKY.ip, sport: 443, dport: 41000, fromOpener: false, path: '-'},
  ])
  // 2. A connection from the internet accepted by a web server over three windows (its answers leave by the internet gateway).
  const client = '203.0.113.77'
  connection(noon + 600, 3, [
    {at: WEB, direction: 'ingress', src: client, dst: WEB.ip, pktSrc: client, pktDst: WEB.ip, sport: 51000, dport: 8443, fromOpener: true, path: '-'},
    {at: WEB, direction: 'egress', src: WEB.ip, dst: client, pktSrc: WEB.ip, pktDst: client, sport: 8443, dport: 51000, fromOpener: false, path: 8},
  ])
  // 3. A NAT instance someone started: a workload routed through it to the internet.
  const via = '151.101.1.69'
  const w5 = WORKLOADS[4]
  connection(noon + 1200, 1, [
    {at: w5, direction: 'egress', src: w5.ip, dst: via, pktSrc: w5.ip, pktDst: via, sport: 42000, dport: 443, fromOpener: true, path: 1},
    {at: w5, direction: 'ingress', src: via, dst: w5.ip, pktSrc: via, pktDst: w5.ip, sport: 443, dport: 42000, fromOpener: false, path: '-'},
    {at: NAT_INSTANCE, direction: 'ingress', src: w5.ip, dst: NAT_INSTANCE.ip, pktSrc: w5.ip, pktDst: via, sport: 42000, dport: 443, fromOpener: true, path: '-'},
    {at: NAT_INSTANCE, direction: 'egress', src: NAT_INSTANCE.ip, dst: via, pktSrc: NAT_INSTANCE.ip, pktDst: via, sport: 42000, dport: 443, fromOpener: true, path: 8},
    {at: NAT_INSTANCE, direction: 'ingress', src: via, dst: NAT_INSTANCE.ip, pktSrc: via, pktDst: NAT_INSTANCE.ip, sport: 443, dport: 42000, fromOpener: false, path: '-'},
    {at: NAT_INSTANCE, direction: 'egress', src: NAT_INSTANCE.ip, dst: w5.ip, pktSrc: via, pktDst: w5.ip, sport: 443, dport: 42000, fromOpener: false, path: 1},
  ])
  // 4. SSH accepted between two workloads.
  inside(noon + 1800, 1, WORKLOADS[0], WORKLOADS[1], 22)
  // 5. S3 reached through the NAT gateway instead of the gateway endpoint.
  throughNat(noon + 2400, 1, WORKLOADS[2], '52.218.10.10', 'S3')

  // Sorted by start, as a day of delivery files would be read.
  const startOf = (line: string) => Number(line.split(' ', 11)[10])
  return lines.sort((a, b) => startOf(a) - startOf(b))
}
