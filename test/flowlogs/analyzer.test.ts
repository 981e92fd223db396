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
const line = (eni: string, src: string, dst: string, dport: number, action: string, direction: string, path: string, extra: {pktSrc?: string; pktDst?: string; service?: string; bytes?: number; start?: number} = {}) =>
  `5 111111111111 ${eni} ${src} ${dst} 40000 ${dport} 6 10 ${extra.bytes ?? 1000} ${extra.start ?? T} ${(extra.start ?? T) + 60} ${action} OK ${extra.pktSrc ?? src} ${extra.pktDst ?? dst} ${extra.service ?? '-'} ${direction} ${path} 2`

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

  it('flags public connections accepted by a workload, and not by the NAT gateway', async () => {
    const result = await analyze([natEgress, line('eni-app', '203.0.113.5', '10.1.5.5', 8080, 'ACCEPT', 'ingress', '-'), line('eni-nat', '52.95.1.1', '10.1.224.10', 40000, 'ACCEPT', 'ingress', '-')])
    expect(result.findings.map((f) => [f.id, f.interfaces.map((i) => i.interfaceId)])).toEqual([['public-inbound-accepted', ['eni-app']]])
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
    // eni-nat is not a NAT gateway by what we were told: its internet egress is a finding.
    expect(result.findings.map((f) => f.id)).toEqual(['internet-egress-not-via-nat'])
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
