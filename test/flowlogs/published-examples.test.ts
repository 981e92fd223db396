import {readFileSync} from 'node:fs'
import path from 'node:path'

import {describe, expect, it} from 'vitest'

import {type AnalyzerOptions, FlowAnalyzer} from '../../src/flowlogs/analyzer.js'
import {analyzeFile} from '../../src/flowlogs/read.js'

// Records AWS publishes in the VPC user guide ("Flow log record examples"), copied as they stand
// (see fixtures/aws-vpc-user-guide/README.md), each with the whole answer expected of it: every
// finding with its interfaces, counts and evidence, the NAT gateways and where they came from, the
// checks the format allows and the verdict. No finding on any reply.
const DIR = path.join(import.meta.dirname, 'fixtures', 'aws-vpc-user-guide')
const FORMATS = JSON.parse(readFileSync(path.join(DIR, 'formats.json'), 'utf8')) as Record<string, string>

async function analyze(file: string, options: AnalyzerOptions = {}) {
  const analyzer = new FlowAnalyzer(options)
  await analyzeFile(path.join(DIR, file), analyzer, FORMATS[file].split(' '))
  const result = analyzer.result()
  return {
    ...result,
    findings: result.findings.map(({id, severity, count, bytes, evidence, confidence, interfaces}) => ({id, severity, count, bytes, evidence, confidence, interfaces})),
    checks: Object.fromEntries(result.checks.map((check) => [check.id, check.missing.length ? `${check.status}: lacks ${check.missing.join(', ')}` : check.status])),
  }
}

const ENI = 'eni-1235b8ca123456789'

describe('accepted and rejected traffic (default format)', () => {
  it('SSH accepted is critical, RDP rejected is information; internet egress cannot be judged without traffic-path', async () => {
    const result = await analyze('accepted-rejected.log')
    expect(result.findings).toEqual([
      {id: 'ssh-rdp-accepted', severity: 'critical', count: 1, bytes: 4249, evidence: {'destination-port': 1}, confidence: 'high', interfaces: [{interfaceId: ENI, count: 1, bytes: 4249}]},
      {id: 'ssh-rdp-attempted', severity: 'info', count: 1, bytes: 4249, evidence: {'destination-port': 1}, confidence: 'high', interfaces: [{interfaceId: ENI, count: 1, bytes: 4249}]},
    ])
    expect(result.rejected).toEqual([{key: '172.31.9.69 -> 172.31.9.12:3389/tcp', count: 1}])
    expect(result.natInterfaces).toEqual([])
    expect(result.checks).toEqual({
      'internet-egress': 'unproven: lacks traffic-path',
      'public-inbound': 'ran',
      'ssh-rdp': 'ran',
      'unapproved-exit': 'unproven: lacks pkt-srcaddr, pkt-dstaddr',
      'aws-service-via-nat': 'unproven: lacks pkt-dst-aws-service, traffic-path',
    })
    // A critical finding fails the audit even where other checks could not run; the gap is still named.
    expect(result.verdict).toBe('failed')
    expect(result.unproven!.reasons).toEqual(['the internet-egress check could not run on 2 record(s): their format lacks traffic-path (version 5)'])
  })
})

describe('no data and skipped records', () => {
  it('proves nothing: no record was read', async () => {
    const result = await analyze('no-data-skipped.log')
    expect(result.findings).toEqual([])
    expect(result.coverage).toMatchObject({records: 0, nodata: 1, skipdata: 1})
    expect(result.verdict).toBe('unproven')
    expect(result.passed).toBe(false)
    expect(result.unproven!.reasons).toEqual(['no flow log record was read (only 1 NODATA, 1 SKIPDATA)'])
  })
})

describe('security group and network ACL rules (ping)', () => {
  it('an accepted ICMP record from a public address carries no evidence of direction: reported as such, with low confidence', async () => {
    const result = await analyze('security-group-ping.log')
    expect(result.findings).toEqual([
      {id: 'public-inbound-direction-unknown', severity: 'medium', count: 1, bytes: 336, evidence: {none: 1}, confidence: 'low', interfaces: [{interfaceId: ENI, count: 1, bytes: 336}]},
    ])
    expect(result.verdict).toBe('unproven')
  })
})

describe('TCP flag sequence', () => {
  it('finds the connections the client on the internet started (SYN), follows one into its next window (pairing), and never the SYN-ACK or FIN replies', async () => {
    const result = await analyze('tcp-flag-sequence.log')
    // 43416 and 43418 open with SYN (2); 43418's next window carries only FIN (1) and is known by
    // its SYN; 43638 opens and closes in one window (3). The server's 18, 1 and 19 are replies.
    expect(result.findings).toEqual([
      {
        id: 'public-inbound-accepted',
        severity: 'critical',
        count: 4,
        bytes: 568 + 100701 + 23294588 + 1260,
        evidence: {'tcp-flags': 3, pairing: 1},
        confidence: 'high',
        interfaces: [{interfaceId: ENI, count: 4, bytes: 568 + 100701 + 23294588 + 1260}],
      },
    ])
    expect(result.coverage).toMatchObject({records: 8, malformed: 0})
    expect(result.checks['public-inbound']).toBe('ran')
    expect(result.verdict).toBe('failed')
  })
})

describe('traffic through a NAT gateway, both interfaces', () => {
  it('knows the NAT gateway by its forwarding and its requester-managed interface (instance-id "-"); no finding, and no pass on a format without action or traffic-path', async () => {
    const result = await analyze('nat-gateway.log')
    expect(result.findings).toEqual([])
    expect(result.natInterfaces).toEqual([{interfaceId: ENI, source: 'inferred'}])
    expect(result.checks).toEqual({
      'internet-egress': 'unproven: lacks traffic-path',
      'public-inbound': 'unproven: lacks protocol, action, tcp-flags',
      'ssh-rdp': 'unproven: lacks dstport, protocol, action',
      'unapproved-exit': 'ran',
      'aws-service-via-nat': 'unproven: lacks pkt-dst-aws-service, traffic-path',
    })
    expect(result.verdict).toBe('unproven')
    expect(result.unproven!.missingFields).toEqual(['traffic-path', 'protocol', 'action', 'tcp-flags', 'dstport'])
    expect(result.unproven!.logFormat).toContain('${tcp-flags}')
  })

  it('says where a NAT gateway came from when it is told', async () => {
    const result = await analyze('nat-gateway.log', {natGateways: [{interfaceId: ENI, source: 'describe-nat-gateways'}]})
    expect(result.natInterfaces).toEqual([{interfaceId: ENI, source: 'describe-nat-gateways'}])
    expect(result.findings).toEqual([])
  })

  it('makes the same forwarding an unapproved exit when the account names another NAT gateway', async () => {
    const result = await analyze('nat-gateway.log', {natGateways: [{interfaceId: 'eni-0approved', source: 'ssm-parameter'}]})
    expect(result.natInterfaces).toEqual([{interfaceId: 'eni-0approved', source: 'ssm-parameter'}])
    // The instance-to-NAT line (pkt-dstaddr beyond it) and the NAT-to-instance line (pkt-srcaddr beyond it).
    expect(result.findings).toEqual([
      {id: 'unapproved-exit', severity: 'critical', count: 2, bytes: 0, evidence: {'packet-addresses': 2}, confidence: 'high', interfaces: [{interfaceId: ENI, count: 2, bytes: 0}]},
    ])
    expect(result.verdict).toBe('failed')
  })
})

describe('traffic through a transit gateway', () => {
  it('private addresses forwarded by the transit gateway are neither a NAT nor a finding', async () => {
    const result = await analyze('transit-gateway.log')
    expect(result.findings).toEqual([])
    expect(result.natInterfaces).toEqual([])
    expect(result.checks).toMatchObject({'internet-egress': 'unproven: lacks traffic-path', 'public-inbound': 'ran', 'ssh-rdp': 'ran', 'unapproved-exit': 'ran'})
    expect(result.verdict).toBe('unproven')
  })
})

describe('service name, traffic path and flow direction', () => {
  it('the instance calling S3 through an internet gateway is internet egress; the SYN-ACK answer from S3 is no finding', async () => {
    const result = await analyze('service-name-traffic-path.log')
    expect(result.findings).toEqual([
      {id: 'internet-egress-not-via-nat', severity: 'critical', count: 1, bytes: 471, evidence: {'traffic-path': 1}, confidence: 'high', interfaces: [{interfaceId: ENI, count: 1, bytes: 471}]},
    ])
    expect(Object.values(result.checks)).toEqual(['ran', 'ran', 'ran', 'ran', 'ran'])
    expect(result.verdict).toBe('failed')
    expect(result.unproven).toBeNull()
  })
})
