// A day of VPC flow log records of a private VPC at scale (millions of records), written minute by
// minute the way VPC Flow Logs writes them (VPC user guide, "Flow log records" and "Flow log record
// examples"): one record per direction per interface per one-minute window; dstaddr is the
// interface's own address on ingress and srcaddr on egress, pkt-srcaddr/pkt-dstaddr the packet's
// original ends (a NAT gateway's records show the workload's address there); traffic-path only on
// egress; tcp-flags ORed over the window: SYN 2 (the opener's side) or SYN-ACK 18 (the other side)
// in the first window, FIN 1 in the last, 0 between, so the later windows of a long flow carry no
// SYN in either direction; flows still open at the day's end carry no FIN either.
//
// What it holds: many workloads calling out through the NAT gateway (mostly short HTTPS calls, some
// long-lived streams to ports that are not service ports, DNS and NTP over UDP), traffic inside the
// VPC (a database, interface endpoints), scanners probing the NAT gateway; and, when `plant` is set,
// violations of each kind on interfaces of their own, listed in PLANTED. Nothing here is tuned to
// the analyzer: ports and addresses are drawn as a Linux host and the internet would draw them
// (ephemeral ports 32768-60999, the NAT gateway's ports 1024-65535).
import {createWriteStream} from 'node:fs'
import {createGzip} from 'node:zlib'

export const DAY_FIELDS = 'version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status vpc-id subnet-id instance-id tcp-flags type pkt-srcaddr pkt-dstaddr region az-id sublocation-type sublocation-id pkt-src-aws-service pkt-dst-aws-service flow-direction traffic-path'
export const DAY_START = 1764547200 // 2025-12-01T00:00:00Z
const ACCOUNT = '111111111111'
const VPC = 'vpc-0dev'

const iface = (eni, ip, instance, subnet) => ({eni, ip, instance, subnet})
export const DAY_NAT = iface('eni-0a1b2c3d4e5f60001', '10.1.192.10', '-', 'subnet-nat-a')
const DATABASE = iface('eni-0a1b2c3d4e5f6db01', '10.1.200.5', '-', 'subnet-data-a')
const ENDPOINTS = [iface('eni-0a1b2c3d4e5f6e001', '10.1.0.100', '-', 'subnet-app-a'), iface('eni-0a1b2c3d4e5f6e002', '10.1.0.101', '-', 'subnet-app-a')]

/** The planted violations: the interface of each, and the critical finding it must appear in. */
export const PLANTED = {
  inbound: [1, 2, 3].map((n) => iface(`eni-0bad00000000web0${n}`, `10.1.3.${30 + n}`, `i-0web${n}`, 'subnet-app-b')),
  leaky: [1, 2].map((n) => iface(`eni-0bad0000000leaky${n}`, `10.1.2.${50 + n}`, `i-0leaky${n}`, 'subnet-app-b')),
  natInstance: iface('eni-0bad00000000nati1', '10.1.4.40', 'i-0natinstance', 'subnet-app-b'),
  ssh: iface('eni-0bad000000000ssh1', '10.1.5.60', 'i-0ssh', 'subnet-app-b'),
}
/** Which critical finding each planted interface must be named in. */
export const PLANTED_FINDINGS = [
  ...PLANTED.inbound.map((i) => ['public-inbound-accepted', i.eni]),
  ...PLANTED.leaky.map((i) => ['internet-egress-not-via-nat', i.eni]),
  ['internet-egress-not-via-nat', PLANTED.natInstance.eni],
  ['unapproved-exit', PLANTED.natInstance.eni],
  ['ssh-rdp-accepted', PLANTED.ssh.eni],
]
export const PLANTED_INTERFACES = new Set(PLANTED_FINDINGS.map(([, eni]) => eni))

/** xorshift32: the same day for the same seed. */
function random(seed) {
  let state = seed >>> 0 || 1
  return (n) => {
    state ^= state << 13
    state ^= state >>> 17
    state ^= state << 5
    return (state >>> 0) % n
  }
}

/**
 * Yields the day one minute at a time (an array of lines per minute, in time order). `records` is
 * the day's approximate size; `plant` adds the violations of PLANTED.
 */
export function* scaledDay({records = 4_000_000, seed = 11, plant = true, workloads: workloadCount = 200} = {}) {
  const rand = random(seed)
  const workloads = Array.from({length: workloadCount}, (_, n) =>
    iface(`eni-0f00${n.toString(16).padStart(6, '0')}a1b2c3d`, `10.1.${8 + (n >> 8)}.${(n & 255) || 1}`, `i-0${(n * 104729).toString(16).padStart(16, '0')}`, `subnet-app-${'abc'[n % 3]}`),
  )
  /** Connections open past their first minute: their later windows are written minute by minute. */
  let active = []
  let minuteLines = []
  let now = 0
  const record = (leg, minute, flags, protocol = 6) => {
    const start = DAY_START + minute * 60
    const packets = 1 + rand(40)
    const bytes = packets * (60 + rand(1400))
    minuteLines.push(
      `5 ${ACCOUNT} ${leg.at.eni} ${leg.src} ${leg.dst} ${leg.sport} ${leg.dport} ${protocol} ${packets} ${bytes} ${start} ${start + 59} ${leg.action ?? 'ACCEPT'} OK ${VPC} ${leg.at.subnet} ${leg.at.instance} ${protocol === 6 ? flags : 0} IPv4 ${leg.pktSrc} ${leg.pktDst} eu-west-1 euw1-az1 - - ${leg.srcService ?? '-'} ${leg.dstService ?? '-'} ${leg.direction} ${leg.direction === 'egress' ? leg.path : '-'}`,
    )
  }
  /** A connection lasting `windows` minutes from `minute` (now), seen on every leg; open at the day's end means no FIN. */
  const connection = (minute, windows, legs, protocol = 6) => {
    for (const leg of legs) record(leg, minute, (leg.fromOpener ? 2 : 18) | (windows === 1 ? 1 : 0), protocol)
    if (windows > 1) active.push({legs, protocol, last: minute + windows - 1})
  }
  const laterWindows = () => {
    const open = []
    for (const flow of active) {
      for (const leg of flow.legs) record(leg, now, now === flow.last ? 1 : 0, flow.protocol)
      if (now < flow.last) open.push(flow)
    }
    active = open
  }
  const ephemeral = () => 32768 + rand(28232)
  const internetHost = () => `${[3, 13, 18, 34, 35, 52, 54, 104, 142, 151, 172][rand(11)]}.${rand(250) + 1}.${rand(250) + 1}.${rand(250) + 1}`
  /** A workload's call to the internet through the NAT gateway: its own two legs and the NAT gateway's four. */
  const throughNat = (minute, windows, w, host, dport, protocol = 6, service) => {
    const port = ephemeral()
    const natPort = 1024 + rand(64512)
    connection(minute, windows, [
      {at: w, direction: 'egress', src: w.ip, dst: host, pktSrc: w.ip, pktDst: host, sport: port, dport, fromOpener: true, path: 1, dstService: service},
      {at: w, direction: 'ingress', src: host, dst: w.ip, pktSrc: host, pktDst: w.ip, sport: dport, dport: port, fromOpener: false, srcService: service},
      {at: DAY_NAT, direction: 'ingress', src: w.ip, dst: DAY_NAT.ip, pktSrc: w.ip, pktDst: host, sport: port, dport, fromOpener: true, dstService: service},
      {at: DAY_NAT, direction: 'egress', src: DAY_NAT.ip, dst: host, pktSrc: DAY_NAT.ip, pktDst: host, sport: natPort, dport, fromOpener: true, path: 8, dstService: service},
      {at: DAY_NAT, direction: 'ingress', src: host, dst: DAY_NAT.ip, pktSrc: host, pktDst: DAY_NAT.ip, sport: dport, dport: natPort, fromOpener: false, srcService: service},
      {at: DAY_NAT, direction: 'egress', src: DAY_NAT.ip, dst: w.ip, pktSrc: host, pktDst: w.ip, sport: dport, dport: port, fromOpener: false, path: 1, srcService: service},
    ], protocol)
  }
  const inside = (minute, windows, client, server, dport) => {
    const port = ephemeral()
    connection(minute, windows, [
      {at: client, direction: 'egress', src: client.ip, dst: server.ip, pktSrc: client.ip, pktDst: server.ip, sport: port, dport, fromOpener: true, path: 1},
      {at: client, direction: 'ingress', src: server.ip, dst: client.ip, pktSrc: server.ip, pktDst: client.ip, sport: dport, dport: port, fromOpener: false},
      {at: server, direction: 'ingress', src: client.ip, dst: server.ip, pktSrc: client.ip, pktDst: server.ip, sport: port, dport, fromOpener: true},
      {at: server, direction: 'egress', src: server.ip, dst: client.ip, pktSrc: server.ip, pktDst: client.ip, sport: dport, dport: port, fromOpener: false, path: 1},
    ])
  }
  // About 6 records per window of a call through NAT, 4 inside; a minute's share of the day.
  const perMinute = records / 1440
  const pick = () => workloads[rand(workloads.length)]
  for (now = 0; now < 1440; now++) {
    minuteLines = []
    laterWindows()
    let budget = perMinute - minuteLines.length
    while (budget > 0) {
      const kind = rand(100)
      if (kind < 55 || (kind < 57 && rand(40) !== 0)) {
        throughNat(now, 1, pick(), internetHost(), 443) // many short HTTPS calls
        budget -= 6
      } else if (kind < 57) {
        // Long-lived streams (minutes to hours) to ports that are not service ports: their later windows carry no flags.
        const windows = 30 + rand(600)
        throughNat(now, windows, pick(), internetHost(), [4443, 50051, 7443, 10250, 1883][rand(5)])
        budget -= 6
      } else if (kind < 67) {
        throughNat(now, 1, pick(), `${[8, 1][rand(2)]}.${rand(2) * 7 + 1}.${rand(2) * 7 + 1}.${rand(2) * 7 + 1}`, 53, 17) // DNS
        budget -= 6
      } else if (kind < 69) {
        throughNat(now, 1, pick(), internetHost(), 123, 17) // NTP
        budget -= 6
      } else if (kind < 90) {
        const windows = 1 + rand(3)
        inside(now, windows, pick(), rand(3) === 0 ? ENDPOINTS[rand(2)] : DATABASE, rand(3) === 0 ? 443 : 5432)
        budget -= 4
      } else if (kind < 92) {
        throughNat(now, 1, pick(), `52.218.${rand(250)}.${rand(250)}`, 443, 6, 'S3') // S3 through NAT (medium, not critical)
        budget -= 6
      } else {
        // A scanner: the NAT gateway's network ACL logs ACCEPT for most; a NAT gateway drops them all.
        const scanner = `198.51.100.${rand(250) + 1}`
        const action = rand(3) === 0 ? 'REJECT' : 'ACCEPT'
        record({at: DAY_NAT, direction: 'ingress', src: scanner, dst: DAY_NAT.ip, pktSrc: scanner, pktDst: DAY_NAT.ip, sport: ephemeral(), dport: [22, 23, 80, 443, 3389, 8080][rand(6)], action}, now, 2)
        budget -= 1
      }
    }
    if (plant) plantAt(now)
    yield minuteLines
  }

  function plantAt(minute) {
    // Connections started from the internet and accepted by web servers; long, so later windows carry no flags.
    for (const [n, web] of PLANTED.inbound.entries()) {
      if (minute !== 100 + n * 400) continue
      const client = `203.0.113.${77 + n}`
      const sport = ephemeral()
      const dport = [8443, 40443, 443][n]
      connection(minute, 120, [
        {at: web, direction: 'ingress', src: client, dst: web.ip, pktSrc: client, pktDst: web.ip, sport, dport, fromOpener: true},
        {at: web, direction: 'egress', src: web.ip, dst: client, pktSrc: web.ip, pktDst: client, sport: dport, dport: sport, fromOpener: false, path: 8},
      ])
    }
    for (const [n, leaky] of PLANTED.leaky.entries()) {
      if (minute !== 300 + n * 500) continue
      const host = internetHost()
      const sport = ephemeral()
      connection(minute, 3, [
        {at: leaky, direction: 'egress', src: leaky.ip, dst: host, pktSrc: leaky.ip, pktDst: host, sport, dport: 443, fromOpener: true, path: 8},
        {at: leaky, direction: 'ingress', src: host, dst: leaky.ip, pktSrc: host, pktDst: leaky.ip, sport: 443, dport: sport, fromOpener: false},
      ])
    }
    if (minute === 720) {
      const nati = PLANTED.natInstance
      const via = internetHost()
      const w = workloads[4]
      const sport = ephemeral()
      connection(minute, 2, [
        {at: w, direction: 'egress', src: w.ip, dst: via, pktSrc: w.ip, pktDst: via, sport, dport: 443, fromOpener: true, path: 1},
        {at: w, direction: 'ingress', src: via, dst: w.ip, pktSrc: via, pktDst: w.ip, sport: 443, dport: sport, fromOpener: false},
        {at: nati, direction: 'ingress', src: w.ip, dst: nati.ip, pktSrc: w.ip, pktDst: via, sport, dport: 443, fromOpener: true},
        {at: nati, direction: 'egress', src: nati.ip, dst: via, pktSrc: nati.ip, pktDst: via, sport, dport: 443, fromOpener: true, path: 8},
        {at: nati, direction: 'ingress', src: via, dst: nati.ip, pktSrc: via, pktDst: nati.ip, sport: 443, dport: sport, fromOpener: false},
        {at: nati, direction: 'egress', src: nati.ip, dst: w.ip, pktSrc: via, pktDst: w.ip, sport: 443, dport: sport, fromOpener: false, path: 1},
      ])
    }
    if (minute === 900) inside(minute, 1, workloads[0], PLANTED.ssh, 22)
  }
}

/**
 * Writes the day as gzip files of `perFile` records each with the S3 header line (S3's delivery
 * layout: many small objects); resolves with the file names and the number of lines written.
 */
export async function writeScaledDay(dir, {perFile = 25_000, ...options} = {}) {
  const files = []
  let lines = 0
  let batch = []
  let out
  const open = () => {
    const file = `${dir}/${ACCOUNT}_vpcflowlogs_eu-west-1_fl-0day_${String(files.length).padStart(5, '0')}.log.gz`
    const gzip = createGzip({level: 6})
    const stream = createWriteStream(file)
    gzip.pipe(stream)
    gzip.write(`${DAY_FIELDS}\n`)
    files.push(file)
    return {gzip, done: new Promise((resolve, reject) => stream.on('finish', resolve).on('error', reject)), count: 0}
  }
  const close = async () => {
    if (!out) return
    if (batch.length) out.gzip.write(`${batch.join('\n')}\n`)
    batch = []
    out.gzip.end()
    await out.done
    out = undefined
  }
  for (const minute of scaledDay(options)) {
    for (const line of minute) {
      out ??= open()
      batch.push(line)
      lines++
      if (batch.length >= 2000) {
        if (!out.gzip.write(`${batch.join('\n')}\n`)) await new Promise((resolve) => out.gzip.once('drain', resolve))
        batch = []
      }
      if (++out.count >= perFile) await close()
    }
  }
  await close()
  return {files, lines}
}
