import {AllocateAddressCommand, CreateFlowLogsCommand, CreateNatGatewayCommand, CreateSubnetCommand, CreateVpcCommand, EC2Client} from '@aws-sdk/client-ec2'
import {CreateBucketCommand, PutObjectCommand, S3Client} from '@aws-sdk/client-s3'
import {CloudWatchLogsClient, CreateLogGroupCommand, CreateLogStreamCommand, PutLogEventsCommand} from '@aws-sdk/client-cloudwatch-logs'
import {DeleteParameterCommand, PutParameterCommand, SSMClient} from '@aws-sdk/client-ssm'
import {gzipSync} from 'node:zlib'
import {beforeAll, describe, expect, inject, it} from 'vitest'

import {createClient} from '../../src/aws/clients.js'
import {findTarget, parseEstate} from '../../src/estate/load.js'
import type {Estate} from '../../src/estate/model.js'
import {auditFlowLogs} from '../../src/flowlogs/audit.js'
import {FLOW_LOG_FORMAT} from '../../src/stacks/security.js'

/** The flow-log audit against moto: real EC2, S3 and SSM APIs in an account of its own. */
let estate: Estate
const ACCOUNT = '555555555555'
const access = () => ({estate, target: findTarget(estate, 'audit'), purpose: 'test'})

beforeAll(() => {
  Object.assign(process.env, {AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_CA_BUNDLE: inject('motoCaBundle')})
  estate = parseEstate(
    {
      organization: {name: 'acme', managementAccountId: '999999999999'},
      endpoint: inject('motoEndpoint'),
      environments: {audit: {accountId: ACCOUNT, vpcCidr: '10.50.0.0/16'}},
    },
    'flow-log test estate',
  )
})

const options = (extra: Partial<Parameters<typeof auditFlowLogs>[0]> = {}) => ({
  estate,
  targets: [findTarget(estate, 'audit')],
  files: [],
  natEnis: [],
  topN: 10,
  parallel: 1,
  ...extra,
})

describe('configuration audit', () => {
  it('finds each VPC without a usable flow log, and passes the one with a correct flow log', async () => {
    const ec2 = await createClient(EC2Client, access())
    const s3 = await createClient(S3Client, access())
    await s3.send(new CreateBucketCommand({Bucket: 'audit-flows', CreateBucketConfiguration: {LocationConstraint: 'eu-west-1'}}))
    const vpc = async (cidr: string) => (await ec2.send(new CreateVpcCommand({CidrBlock: cidr}))).Vpc!.VpcId!
    const [good, none, rejectOnly, defaultFormat] = [await vpc('10.50.0.0/16'), await vpc('10.51.0.0/16'), await vpc('10.52.0.0/16'), await vpc('10.53.0.0/16')]
    const flowLog = (vpcId: string, trafficType: 'ALL' | 'REJECT', format?: string) =>
      ec2.send(new CreateFlowLogsCommand({ResourceIds: [vpcId], ResourceType: 'VPC', TrafficType: trafficType, LogDestinationType: 's3', LogDestination: 'arn:aws:s3:::audit-flows', LogFormat: format}))
    await flowLog(good, 'ALL', FLOW_LOG_FORMAT)
    await flowLog(rejectOnly, 'REJECT', FLOW_LOG_FORMAT)
    await flowLog(defaultFormat, 'ALL')

    const report = await auditFlowLogs(options())
    const [config] = report.configuration
    const byVpc = (vpcId: string) => config.findings.filter((f) => f.vpcId === vpcId).map((f) => f.problem)
    expect(byVpc(good)).toEqual([])
    expect(byVpc(none)).toEqual(['no-flow-log'])
    expect(byVpc(rejectOnly)).toEqual(['not-all-traffic'])
    expect(byVpc(defaultFormat)).toEqual(['format-missing-fields'])
    expect(config.findings.find((f) => f.vpcId === defaultFormat)!.detail).toContain('pkt-dst-aws-service')
    expect(config.findings.every((f) => f.accountId === ACCOUNT && f.fix.length > 0)).toBe(true)
    expect(report.passed).toBe(false)
    expect(report.records).toBeNull()
  })
})

describe('records from S3', () => {
  it('reads gzip objects in the delivery layout, only inside --since/--until', async () => {
    const s3 = await createClient(S3Client, access())
    const ssm = await createClient(SSMClient, access())
    await s3.send(new CreateBucketCommand({Bucket: 'audit-evidence', CreateBucketConfiguration: {LocationConstraint: 'eu-west-1'}}))
    await ssm.send(new PutParameterCommand({Name: '/infra/audit/flow-logs/s3-destination', Type: 'String', Value: 'arn:aws:s3:::audit-evidence', Overwrite: true}))
    const header = 'version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status flow-direction traffic-path pkt-srcaddr pkt-dstaddr pkt-dst-aws-service'
    const put = async (day: string, stamp: string, lines: string[]) => {
      const [y, m, d] = day.split('-')
      const key = `AWSLogs/${ACCOUNT}/vpcflowlogs/eu-west-1/${y}/${m}/${d}/${ACCOUNT}_vpcflowlogs_eu-west-1_fl-0abc_${stamp}_0a1b2c3d.log.gz`
      await s3.send(new PutObjectCommand({Bucket: 'audit-evidence', Key: key, Body: gzipSync(`${[header, ...lines].join('\n')}\n`)}))
    }
    const t = (iso: string) => Math.floor(Date.parse(iso) / 1000)
    const rec = (start: number, dst: string, path: string) => `5 ${ACCOUNT} eni-app 10.50.1.5 ${dst} 40000 443 6 5 500 ${start} ${start + 60} ACCEPT OK egress ${path} 10.50.1.5 ${dst} -`
    await put('2026-11-24', '20261124T1005Z', [rec(t('2026-11-24T10:00:00Z'), '10.50.2.2', '1')])
    await put('2026-11-25', '20261125T1005Z', [rec(t('2026-11-25T10:00:00Z'), '10.50.2.2', '1'), rec(t('2026-11-25T10:01:00Z'), '1.1.1.1', '8')])
    await put('2026-11-26', '20261126T2305Z', [rec(t('2026-11-26T23:00:00Z'), '10.50.2.2', '1')])
    await put('2026-11-27', '20261127T1005Z', [rec(t('2026-11-27T10:00:00Z'), '10.50.2.2', '1')])

    const report = await auditFlowLogs(options({since: new Date('2026-11-25T00:00:00Z'), until: new Date('2026-11-26T23:59:59Z')}))
    expect(report.sources.s3Objects).toBe(2)
    expect(report.records!.coverage.records).toBe(3)
    expect(report.records!.coverage.firstSeen).toBe(t('2026-11-25T10:00:00Z'))
    expect(report.records!.findings.map((f) => f.id)).toEqual(['internet-egress-not-via-nat'])
  })
})

describe('which interfaces are NAT gateways', () => {
  it('takes them from /infra/<env>/nat/eni-ids, else from DescribeNatGateways, and says which; an interface forwarding to the internet that is neither is an unapproved exit', async () => {
    const ec2 = await createClient(EC2Client, access())
    const s3 = await createClient(S3Client, access())
    const ssm = await createClient(SSMClient, access())
    const vpcId = (await ec2.send(new CreateVpcCommand({CidrBlock: '10.55.0.0/16'}))).Vpc!.VpcId!
    const subnetId = (await ec2.send(new CreateSubnetCommand({VpcId: vpcId, CidrBlock: '10.55.0.0/24'}))).Subnet!.SubnetId!
    const allocationId = (await ec2.send(new AllocateAddressCommand({Domain: 'vpc'}))).AllocationId!
    const gateway = (await ec2.send(new CreateNatGatewayCommand({SubnetId: subnetId, AllocationId: allocationId}))).NatGateway!
    const natEni = gateway.NatGatewayAddresses![0].NetworkInterfaceId!
    expect(natEni).toMatch(/^eni-/)
    await s3.send(new CreateBucketCommand({Bucket: 'audit-nat', CreateBucketConfiguration: {LocationConstraint: 'eu-west-1'}}))
    await ssm.send(new PutParameterCommand({Name: '/infra/audit/flow-logs/s3-destination', Type: 'String', Value: 'arn:aws:s3:::audit-nat', Overwrite: true}))
    // The NAT gateway's two legs of a workload's HTTPS call, as the VPC user guide shows them, and a proxy doing the same.
    const header = 'version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status flow-direction traffic-path pkt-srcaddr pkt-dstaddr tcp-flags instance-id'
    const at = Math.floor(Date.parse('2026-11-28T10:00:00Z') / 1000)
    const legs = (eni: string, ip: string, instance: string) => [
      `5 ${ACCOUNT} ${eni} 10.55.1.5 ${ip} 40000 443 6 5 500 ${at} ${at + 60} ACCEPT OK ingress - 10.55.1.5 52.95.1.1 2 ${instance}`,
      `5 ${ACCOUNT} ${eni} ${ip} 52.95.1.1 40000 443 6 5 500 ${at} ${at + 60} ACCEPT OK egress 8 ${ip} 52.95.1.1 2 ${instance}`,
    ]
    const key = `AWSLogs/${ACCOUNT}/vpcflowlogs/eu-west-1/2026/11/28/${ACCOUNT}_vpcflowlogs_eu-west-1_fl-0abc_20261128T1005Z_0a1b2c3d.log.gz`
    await s3.send(new PutObjectCommand({Bucket: 'audit-nat', Key: key, Body: gzipSync(`${[header, ...legs(natEni, '10.55.0.10', '-'), ...legs('eni-0proxy', '10.55.1.99', 'i-0proxy')].join('\n')}\n`)}))
    const range = {since: new Date('2026-11-28T00:00:00Z'), until: new Date('2026-11-28T23:59:59Z')}

    await ssm.send(new PutParameterCommand({Name: '/infra/audit/nat/eni-ids', Type: 'StringList', Value: natEni, Overwrite: true}))
    const published = await auditFlowLogs(options(range))
    expect(published.records!.natInterfaces).toEqual([{interfaceId: natEni, source: 'ssm-parameter'}])
    expect(published.records!.findings.map((f) => [f.id, f.interfaces.map((i) => i.interfaceId)])).toEqual([
      ['internet-egress-not-via-nat', ['eni-0proxy']],
      ['unapproved-exit', ['eni-0proxy']],
    ])

    await ssm.send(new DeleteParameterCommand({Name: '/infra/audit/nat/eni-ids'}))
    const described = await auditFlowLogs(options(range))
    expect(described.records!.natInterfaces).toEqual([{interfaceId: natEni, source: 'describe-nat-gateways'}])
    expect(described.records!.findings.map((f) => f.id)).toEqual(['internet-egress-not-via-nat', 'unapproved-exit'])

    const told = await auditFlowLogs(options({...range, natEnis: ['eni-0proxy']}))
    expect(told.records!.natInterfaces).toEqual([{interfaceId: 'eni-0proxy', source: 'flag'}])
    expect(told.records!.findings.map((f) => [f.id, f.interfaces.map((i) => i.interfaceId)])).toEqual([
      ['internet-egress-not-via-nat', [natEni]],
      ['unapproved-exit', [natEni]],
    ])
  })
})

describe('records from CloudWatch Logs', () => {
  it('reads the events of the range with the field order of the flow log that delivers them', async () => {
    const ec2 = await createClient(EC2Client, access())
    const logs = await createClient(CloudWatchLogsClient, access())
    const ssm = await createClient(SSMClient, access())
    const group = '/infra/audit/vpc-flow-logs'
    await logs.send(new CreateLogGroupCommand({logGroupName: group}))
    await logs.send(new CreateLogStreamCommand({logGroupName: group, logStreamName: 'eni-app-all'}))
    const vpcId = (await ec2.send(new CreateVpcCommand({CidrBlock: '10.54.0.0/16'}))).Vpc!.VpcId!
    // A custom order, so a parser using the default format would misread every event.
    const format = '${interface-id} ${srcaddr} ${dstaddr} ${dstport} ${protocol} ${action} ${flow-direction} ${traffic-path} ${start} ${end} ${bytes} ${packets} ${log-status}'
    await ec2.send(new CreateFlowLogsCommand({ResourceIds: [vpcId], ResourceType: 'VPC', TrafficType: 'ALL', LogDestinationType: 'cloud-watch-logs', LogGroupName: group, DeliverLogsPermissionArn: `arn:aws:iam::${ACCOUNT}:role/flow-logs`, LogFormat: format}))
    await ssm.send(new PutParameterCommand({Name: '/infra/audit/flow-logs/log-group', Type: 'String', Value: group, Overwrite: true}))
    const at = Date.parse('2026-11-27T12:00:00Z')
    await logs.send(
      new PutLogEventsCommand({
        logGroupName: group,
        logStreamName: 'eni-app-all',
        logEvents: [
          {timestamp: at, message: `eni-app 10.54.1.5 10.54.2.2 5432 6 ACCEPT egress 1 ${at / 1000} ${at / 1000 + 60} 900 9 OK`},
          {timestamp: at + 1000, message: `eni-app 203.0.113.9 10.54.1.5 22 6 ACCEPT ingress - ${at / 1000} ${at / 1000 + 60} 80 1 OK`},
          {timestamp: at + 86_400_000 * 3, message: `eni-app 10.54.1.5 10.54.2.2 5432 6 ACCEPT egress 1 ${at / 1000} ${at / 1000 + 60} 900 9 OK`},
        ],
      }),
    )
    const report = await auditFlowLogs(options({since: new Date(at - 3_600_000), until: new Date(at + 3_600_000), recordsFrom: 'cloudwatch'}))
    expect(report.sources.cloudwatchEvents).toBe(2)
    expect(report.records!.coverage).toMatchObject({records: 2, malformed: 0})
    expect(report.records!.findings.map((f) => f.id).sort()).toEqual(['public-inbound-accepted', 'ssh-rdp-accepted'])
  })
})
