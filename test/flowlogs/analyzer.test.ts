import {mkdtempSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {Readable} from 'node:stream'
import {gzipSync} from 'node:zlib'

import {describe, expect, it} from 'vitest'

import {FlowAnalyzer, isPublicAddress} from '../../src/flowlogs/analyzer.js'
import {analyzeFile, analyzeFiles, analyzeStream} from '../../src/flowlogs/read.js'
import {HeavyHitters} from '../../src/flowlogs/heavy-hitters.js'

const HEADER = 'version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status pkt-srcaddr pkt-dstaddr pkt-dst-aws-service flow-direction traffic-path tcp-flags'
const T = 1764547200
const line = (eni: string, src: string, dst: string, dport: number, action: string, direction: string, path: string, extra: {pktSrc?: string; pktDst?: string; service?: string; bytes?: number; start?: number; sport?: number; flags?: number} = {}) =>
  `5 111111111111 ${eni} ${src} ${dst} ${extra.sport ?? 40000} ${dport} 6 10 ${extra.bytes ?? 1000} ${extra.start ?? T} ${(extra.start ?? T) + 60} ${action} OK ${extra.pktSrc ?? src} ${extra.pktDst ?? dst} ${extra.service ?? '-'} ${direction} ${path} ${extra.flags ?? 2}`

async function analyze(lines: string[], options: ConstructorParameters<typeof FlowAnalyzer>[0] = {}) {
  const analyzer = new FlowAnalyzer(options)
  await analyzeStream(Readable.from([Buffer.from(`${[HEADER, ...lines].join('\n')}\n`)]), analyzer)
  return analyzer.result()
}

// The NAT gateway translating a workload's HTTPS to the internet: the normal, promised path.
const natEgress = line('eni-nat', '10.1.224.10', '52.95.1.1', 443, 'ACCEPT', 'egress', '8', {pktSrc: '10.1.5.5'})

describe('findings on small files with known answers', () => {
  it('passes a clean estate: workloads talk inside the VPC and leave only through NAT', async () => {
    const result = await analyze([line('eni-app', '10.1.5.5', '10.1.70.2', 5432, 'ACCEPT', 'egress', '1'), natEgress])
    expect(result.findings).toEqual([])
    expect(result.passed).toBe(true)
    expect(result.natInterfaces).toEqual([{interfaceId: 'eni-nat', source: 'inferred'}])
    expect(result.coverage).toMatchObject({records: 2, headers: 1, firstSeen: T, lastSeen: T + 60})
  })

  it('flags internet egress from an interface that is not a NAT gateway', async () => {
    const result = await analyze([natEgress, line('eni-app', '10.1.5.5', '8.8.8.8', 53, 'ACCEPT', 'egress', '8', {bytes: 70}), line('eni-app', '10.1.5.5', '8.8.4.4', 53, 'ACCEPT', 'egress', '8', {bytes: 30, start: T + 300})])
    const [finding] = result.findings
    expect(finding).toMatchObject({id: 'internet-egress-not-via-nat', severity: 'critical', count: 2, bytes: 100, firstSeen: T, lastSeen: T + 360})
    expect(finding.interfaces).toEqual([{interfaceId: 'eni-app', count: 2, bytes: 100}])
    expect(finding.samples[0]).toMatchObject({dstaddr: '8.8.8.8'})
    expect(result.passed).toBe(false)
  })

  it('flags public connections accepted by a workload; the NAT gateway answered from the internet is no finding, probed it is information', async () => {
    const answered = line('eni-nat', '52.95.1.1', '10.1.224.10', 40000, 'ACCEPT', 'ingress', '-', {sport: 443, flags: 18})
    const answeredLater = line('eni-nat', '52.95.1.1', '10.1.224.10', 40000, 'ACCEPT', 'ingress', '-', {sport: 443, flags: 0, start: T + 60})
    const probe = line('eni-nat', '198.51.100.9', '10.1.224.10', 8443, 'ACCEPT', 'ingress', '-', {sport: 51234, flags: 2})
    const result = await analyze([natEgress, line('eni-app', '203.0.113.5', '10.1.5.5', 8080, 'ACCEPT', 'ingress', '-'), answered, answeredLater, probe])
    expect(result.findings.map((f) => [f.id, f.severity, f.interfaces.map((i) => i.interfaceId), f.count, f.evidence])).toEqual([
      ['public-inbound-accepted', 'critical', ['eni-app'], 1, {'tcp-flags': 1}],
      ['nat-gateway-probed', 'info', ['eni-nat'], 1, {'tcp-flags': 1}],
    ])
    expect(result.passed).toBe(false)
  })

  it('decides direction by flags, then by the opposite record, then by the ports', async () => {
    const reply = {sport: 443, flags: 18}
    const result = await analyze([
      // The workload's own HTTPS call answered (SYN-ACK): a reply, even to a port that looks like a service.
      line('eni-app', '52.95.1.1', '10.1.5.5', 8080, 'ACCEPT', 'ingress', '-', reply),
      // A long flow's later window (FIN only) whose first window showed the workload's SYN: a reply by pairing.
      line('eni-app', '10.1.5.5', '52.95.1.2', 443, 'ACCEPT', 'egress', '1', {sport: 40001, flags: 2}),
      line('eni-app', '52.95.1.2', '10.1.5.5', 40001, 'ACCEPT', 'ingress', '-', {sport: 443, flags: 1, start: T + 600}),
      // The same for a connection started outside: its later window is a finding by pairing.
      line('eni-app', '198.51.100.1', '10.1.5.5', 9443, 'ACCEPT', 'ingress', '-', {sport: 50000, flags: 2}),
      line('eni-app', '198.51.100.1', '10.1.5.5', 9443, 'ACCEPT', 'ingress', '-', {sport: 50000, flags: 0, start: T + 600}),
      // No SYN ever seen: the ports decide (a service port answering an ephemeral one is a reply).
      line('eni-app', '52.95.1.3', '10.1.5.5', 40002, 'ACCEPT', 'ingress', '-', {sport: 443, flags: 0}),
      line('eni-app', '198.51.100.2', '10.1.5.5', 443, 'ACCEPT', 'ingress', '-', {sport: 50001, flags: 0}),
      // Neither side a service port: nothing decides.
      line('eni-app', '198.51.100.3', '10.1.5.5', 40003, 'ACCEPT', 'ingress', '-', {sport: 50002, flags: 4}),
    ])
    expect(result.findings.map((f) => [f.id, f.count, f.evidence, f.confidence])).toEqual([
      ['public-inbound-accepted', 3, {'tcp-flags': 1, pairing: 1, 'port-rule': 1}, 'high'],
      ['public-inbound-direction-unknown', 1, {none: 1}, 'low'],
    ])
  })

  it('pairs a later window with its SYN read by another worker', async () => {
    const opened = line('eni-app', '198.51.100.1', '10.1.5.5', 9443, 'ACCEPT', 'ingress', '-', {sport: 50000, flags: 2})
    const later = line('eni-app', '198.51.100.1', '10.1.5.5', 9443, 'ACCEPT', 'ingress', '-', {sport: 50000, flags: 1, start: T + 600})
    const parts = await Promise.all([[later], [opened]].map(async (lines) => {
      const analyzer = new FlowAnalyzer()
      await analyzeStream(Readable.from([`${HEADER}\n${lines.join('\n')}\n`]), analyzer)
      return analyzer.serialize()
    }))
    const merged = new FlowAnalyzer()
    for (const part of parts) merged.merge(structuredClone(part))
    expect(merged.result().findings.map((f) => [f.id, f.count, f.evidence])).toEqual([['public-inbound-accepted', 2, {'tcp-flags': 1, pairing: 1}]])
  })

  it('uses the port rule where the format has no tcp-flags, and says how sure it is', async () => {
    const v2 = (src: string, dst: string, sport: number, dport: number) => `2 111111111111 eni-app ${src} ${dst} ${sport} ${dport} 6 10 1000 ${T} ${T + 60} ACCEPT OK`
    const analyzer = new FlowAnalyzer()
    await analyzeStream(Readable.from([[v2('52.95.1.1', '10.1.5.5', 443, 40000), v2('198.51.100.7', '10.1.5.5', 50000, 80), ''].join('\n')]), analyzer)
    const result = analyzer.result()
    expect(result.findings.map((f) => [f.id, f.count, f.evidence, f.confidence])).toEqual([['public-inbound-accepted', 1, {'port-rule': 1}, 'medium']])
    expect(result.verdict).toBe('failed')
  })

  it('an interface with an instance behind it that forwards to the internet is an unapproved exit, even with no NAT gateway named', async () => {
    const proxyHeader = `${HEADER} instance-id`
    const analyzer = new FlowAnalyzer()
    const lines = [`${natEgress} -`, `${line('eni-proxy', '10.1.9.9', '52.95.7.7', 443, 'ACCEPT', 'egress', '8', {pktSrc: '10.1.5.5'})} i-0proxy`]
    await analyzeStream(Readable.from([`${[proxyHeader, ...lines].join('\n')}\n`]), analyzer)
    const result = analyzer.result()
    expect(result.natInterfaces).toEqual([{interfaceId: 'eni-nat', source: 'inferred'}])
    expect(result.findings.map((f) => [f.id, f.interfaces])).toEqual([
      ['internet-egress-not-via-nat', [{interfaceId: 'eni-proxy', count: 1, bytes: 1000}]],
      ['unapproved-exit', [{interfaceId: 'eni-proxy', count: 1, bytes: 1000, instanceId: 'i-0proxy'}]],
    ])
  })

  it('makes accepted SSH critical and rejected RDP informational', async () => {
    const result = await analyze([line('eni-app', '10.1.9.9', '10.1.5.5', 22, 'ACCEPT', 'ingress', '-'), line('eni-app', '198.51.100.7', '10.1.5.5', 3389, 'REJECT', 'ingress', '-')])
    expect(result.findings.map((f) => [f.id, f.severity, f.count])).toEqual([
      ['ssh-rdp-accepted', 'critical', 1],
      ['ssh-rdp-attempted', 'info', 1],
    ])
    expect(result.rejected).toEqual([{key: '198.51.100.7 -> 10.1.5.5:3389/tcp', count: 1}])
  })

  it('flags AWS service traffic that went through the NAT instead of an endpoint', async () => {
    const s3ViaNat = line('eni-nat', '10.1.224.10', '52.218.1.1', 443, 'ACCEPT', 'egress', '8', {pktSrc: '10.1.5.5', service: 'S3'})
    const result = await analyze([s3ViaNat])
    expect(result.findings.map((f) => [f.id, f.severity])).toEqual([['aws-service-via-nat', 'medium']])
    expect(result.passed).toBe(true)
  })

  it('takes NAT interfaces from --nat-eni over inference, and says so', async () => {
    const result = await analyze([natEgress], {natEnis: ['eni-other'], natSource: 'flag'})
    expect(result.natInterfaces).toEqual([{interfaceId: 'eni-other', source: 'flag'}])
    // eni-nat is not a NAT gateway by what we were told: it is an unapproved exit, and its internet egress a finding.
    expect(result.findings.map((f) => [f.id, f.interfaces.map((i) => i.interfaceId)])).toEqual([
      ['internet-egress-not-via-nat', ['eni-nat']],
      ['unapproved-exit', ['eni-nat']],
    ])
  })

  it('counts malformed lines and gaps without stopping', async () => {
    const result = await analyze(['garbage', natEgress, '5 111111111111 eni-x - - - - - - - 1 2 - NODATA - - - - - -', 'x y'])
    expect(result.coverage).toMatchObject({records: 1, malformed: 2, nodata: 1})
  })

  it('reads gzip files and plain files alike, headerless ones with the default format', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'infra-flows-'))
    const gz = path.join(dir, 'a.log.gz')
    writeFileSync(gz, gzipSync(`${[HEADER, natEgress].join('\n')}\n`))
    const plain = path.join(dir, 'b.log')
    writeFileSync(plain, '2 111111111111 eni-1 10.1.1.1 10.1.2.2 1 2 6 1 10 1764547200 1764547260 ACCEPT OK\n')
    const analyzer = new FlowAnalyzer()
    await analyzeFile(gz, analyzer)
    await analyzeFile(plain, analyzer)
    expect(analyzer.result().coverage.records).toBe(2)
    await expect(analyzeFile(path.join(dir, 'none.gz'), analyzer)).rejects.toThrow('does not exist')
    writeFileSync(path.join(dir, 'bad.gz'), Buffer.from([0x1f, 0x8b, 1, 2, 3]))
    await expect(analyzeFile(path.join(dir, 'bad.gz'), analyzer)).rejects.toThrow('not valid gzip')
  })

  it('merges per-worker state into the same answer as one pass', async () => {
    const lines = [natEgress, line('eni-app', '10.1.5.5', '8.8.8.8', 53, 'ACCEPT', 'egress', '8'), line('eni-app', '198.51.100.7', '10.1.5.5', 22, 'REJECT', 'ingress', '-')]
    const whole = await analyze(lines)
    const parts = await Promise.all(lines.map(async (l) => {
      const analyzer = new FlowAnalyzer()
      await analyzeStream(Readable.from([`${HEADER}\n${l}\n`]), analyzer)
      return analyzer.serialize()
    }))
    const merged = new FlowAnalyzer()
    for (const part of parts) merged.merge(structuredClone(part))
    const {coverage: a, ...restA} = merged.result()
    const {coverage: b, ...restB} = whole
    expect(restA).toEqual(restB)
    expect({...a, headers: 1}).toEqual(b)
  })
})

describe('reading bytes as they arrive', () => {
  const lines = [
    natEgress,
    line('eni-app', '10.1.5.5', '8.8.8.8', 53, 'ACCEPT', 'egress', '8', {bytes: 70}),
    line('eni-app', '198.51.100.7', '10.1.5.5', 22, 'REJECT', 'ingress', '-'),
    line('eni-app', '203.0.113.5', '10.1.5.5', 8080, 'ACCEPT', 'ingress', '-'),
    '5 111111111111 eni-x - - - - - - - 1 2 - NODATA - - - - - -',
  ]
  const text = `${[HEADER, ...lines].join('\n')}\n`

  /** The same bytes cut into chunks at the given offsets, each chunk placed at a given misalignment. */
  const chunked = (cuts: number[], shift: number) => {
    const bytes = Buffer.from(text, 'latin1')
    const edges = [0, ...cuts, bytes.length]
    return edges.slice(1).map((end, i) => {
      const piece = bytes.subarray(edges[i], end)
      // Misaligned in memory, and ending exactly at its memory's end: the word-at-a-time reader must cope.
      const room = Buffer.alloc(piece.length + shift)
      piece.copy(room, shift)
      return room.subarray(shift)
    })
  }

  it('gives the same answer however the lines are cut into chunks and wherever they lie in memory', async () => {
    const whole = await analyze(lines)
    for (let cut = 1; cut < text.length - 1; cut += 7) {
      for (const shift of [0, 1, 2, 3]) {
        const analyzer = new FlowAnalyzer()
        await analyzeStream(Readable.from(chunked([cut, Math.min(text.length - 1, cut + 5)], shift)), analyzer)
        expect(analyzer.result(), `cut at ${cut}, shift ${shift}`).toEqual(whole)
      }
    }
  })

  it('reads CRLF files and a last line without a newline', async () => {
    const whole = await analyze(lines)
    const analyzer = new FlowAnalyzer()
    await analyzeStream(Readable.from([Buffer.from(text.replaceAll('\n', '\r\n').trimEnd(), 'latin1')]), analyzer)
    expect(analyzer.result()).toEqual(whole)
  })

  it('reads several files with the next one opened early, and names the one that fails', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'infra-flows-'))
    const files = [0, 1, 2].map((i) => path.join(dir, `${i}.log.gz`))
    for (const file of files) writeFileSync(file, gzipSync(text))
    const analyzer = new FlowAnalyzer()
    await analyzeFiles(files, analyzer)
    expect(analyzer.result().coverage).toMatchObject({records: 4 * 3, nodata: 3, headers: 3})
    const missing = path.join(dir, 'missing.log.gz')
    await expect(analyzeFiles([files[0], missing, files[1]], new FlowAnalyzer())).rejects.toThrow(`flow log file ${missing} does not exist`)
  })
})

describe('bounded aggregates', () => {
  it('keeps a fixed number of candidates and finds the heavy hitters within the error bound', () => {
    const top = new HeavyHitters(20)
    for (let i = 0; i < 200_000; i++) {
      top.add(`noise-${i}`)
      if (i % 10 === 0) top.add('heavy', 5)
      if (i % 20 === 0) top.add('second', 3)
    }
    expect(top.size).toBe(20)
    const [first, second] = top.top(2)
    expect(first.key).toBe('heavy')
    expect(first.count).toBeGreaterThanOrEqual(100_000)
    expect(first.count).toBeLessThanOrEqual(100_000 + top.errorBound)
    expect(second).toMatchObject({key: 'second'})
    expect(second.count).toBeGreaterThanOrEqual(30_000)
  })

  it('merges sketches from workers', () => {
    const a = new HeavyHitters(10)
    const b = new HeavyHitters(10)
    for (let i = 0; i < 1000; i++) a.add('x')
    for (let i = 0; i < 500; i++) b.add('x')
    b.add('y', 2000)
    a.merge(structuredClone(b.serialize()))
    expect(a.top(2)).toEqual([{key: 'y', count: 2000}, {key: 'x', count: 1500}])
  })

  it('tells public from private addresses', () => {
    for (const address of ['10.0.0.1', '172.16.5.5', '172.31.255.255', '192.168.1.1', '100.64.0.1', '169.254.169.254', '127.0.0.1', 'fd00::1', 'fe80::1']) expect(isPublicAddress(address)).toBe(false)
    for (const address of ['8.8.8.8', '172.32.0.1', '52.95.1.1', '100.128.0.1', '2600:1f18::1']) expect(isPublicAddress(address)).toBe(true)
  })
})
