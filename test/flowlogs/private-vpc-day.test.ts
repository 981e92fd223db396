import {Readable} from 'node:stream'

import {describe, expect, it} from 'vitest'

import {type AnalyzerOptions, FlowAnalyzer} from '../../src/flowlogs/analyzer.js'
import {analyzeStream} from '../../src/flowlogs/read.js'
import {DAY_START, HEADER, LEAKY, NAT, NAT_INSTANCE, WEB, privateVpcDay} from './private-vpc-day.js'

const lines = privateVpcDay()

/** The day as 24 hourly delivery files, each read by its own analyzer (as workers do), then merged. */
async function analyzeDay(options: AnalyzerOptions) {
  const hours = Array.from({length: 24}, () => [HEADER])
  for (const line of lines) hours[Math.min(23, Math.floor((Number(line.split(' ', 11)[10]) - DAY_START) / 3600))].push(line)
  const merged = new FlowAnalyzer(options)
  for (const hour of hours) {
    const analyzer = new FlowAnalyzer()
    await analyzeStream(Readable.from([Buffer.from(`${hour.join('\n')}\n`)]), analyzer)
    merged.merge(structuredClone(analyzer.serialize()))
  }
  return merged.result()
}

const summary = (result: Awaited<ReturnType<typeof analyzeDay>>) =>
  result.findings.map((f) => ({id: f.id, count: f.count, interfaces: f.interfaces.map((i) => `${i.interfaceId}${i.instanceId ? `(${i.instanceId})` : ''}:${i.count}`), evidence: f.evidence}))

describe('a day of a private VPC with one planted violation of each kind', () => {
  // What the day's scanners did to the NAT gateway, counted from the records themselves.
  const probes = lines.filter((line) => line.includes(` ${NAT.eni} 198.51.100.`))
  const accepted = probes.filter((line) => line.includes(' ACCEPT '))
  const rejectedSshRdp = probes.filter((line) => line.includes(' REJECT ') && / (22|3389) 6 /.test(line))

  it('finds the planted violations and nothing else, with the NAT gateway named by the account', async () => {
    expect(lines.length).toBeGreaterThan(20_000)
    expect(accepted.length).toBeGreaterThan(50)
    const result = await analyzeDay({natGateways: [{interfaceId: NAT.eni, source: 'ssm-parameter'}]})
    expect(result.coverage).toMatchObject({records: lines.length, malformed: 0})
    expect(result.natInterfaces).toEqual([{interfaceId: NAT.eni, source: 'ssm-parameter'}])
    expect(summary(result)).toEqual([
      // The leaky workload (2 windows), the web server's answers (3) and the NAT instance (1) all leave by the internet gateway.
      {id: 'internet-egress-not-via-nat', count: 6, interfaces: [`${WEB.eni}:3`, `${LEAKY.eni}:2`, `${NAT_INSTANCE.eni}:1`], evidence: {'traffic-path': 6}},
      // The first window by its SYN, the next two by that SYN (pairing): the server's answers are no finding.
      {id: 'public-inbound-accepted', count: 3, interfaces: [`${WEB.eni}:3`], evidence: {'tcp-flags': 1, pairing: 2}},
      // The NAT instance: the workload's packets for the internet arrive on it, the answers leave it.
      {id: 'unapproved-exit', count: 2, interfaces: [`${NAT_INSTANCE.eni}(i-0natinstance):2`], evidence: {'packet-addresses': 2}},
      {id: 'ssh-rdp-accepted', count: 1, interfaces: ['eni-0w2:1'], evidence: {'destination-port': 1}},
      {id: 'aws-service-via-nat', count: 1, interfaces: [`${NAT.eni}:1`], evidence: {'traffic-path': 1}},
      {id: 'nat-gateway-probed', count: accepted.length, interfaces: [`${NAT.eni}:${accepted.length}`], evidence: {'tcp-flags': accepted.length}},
      {id: 'ssh-rdp-attempted', count: rejectedSshRdp.length, interfaces: [`${NAT.eni}:${rejectedSshRdp.length}`], evidence: {'destination-port': rejectedSshRdp.length}},
    ])
    expect(result.checks.every((check) => check.status === 'ran')).toBe(true)
    expect(result.verdict).toBe('failed')
  })

  it('finds the same with nothing told: the NAT gateway inferred (no instance behind it), the NAT instance not excused', async () => {
    const told = await analyzeDay({natGateways: [{interfaceId: NAT.eni, source: 'ssm-parameter'}]})
    const inferred = await analyzeDay({})
    expect(inferred.natInterfaces).toEqual([{interfaceId: NAT.eni, source: 'inferred'}])
    expect(summary(inferred)).toEqual(summary(told))
  })

  it('passes the same day without the planted violations', async () => {
    const planted = new Set([LEAKY.eni, WEB.eni, NAT_INSTANCE.eni])
    const noon = DAY_START + 12 * 3600
    const clean = lines.filter((line) => {
      const [, , eni, , , , dport] = line.split(' ')
      const start = Number(line.split(' ', 11)[10])
      return !planted.has(eni) && !(start >= noon + 1200 && start < noon + 2460 && (dport === '22' || line.includes('52.218.10.10') || eni === 'eni-0w5'))
    })
    const analyzer = new FlowAnalyzer({natGateways: [{interfaceId: NAT.eni, source: 'flag'}]})
    await analyzeStream(Readable.from([Buffer.from(`${[HEADER, ...clean].join('\n')}\n`)]), analyzer)
    const result = analyzer.result()
    expect(result.findings.map((f) => f.id)).toEqual(['nat-gateway-probed', 'ssh-rdp-attempted'])
    expect(result.verdict).toBe('passed')
  })
})
