import os from 'node:os'
import type {Readable} from 'node:stream'
import {Worker} from 'node:worker_threads'

import type {EnvironmentSpec, Estate} from '../estate/model.js'
import {EXIT, InfraError} from '../errors.js'
import {type AnalysisResult, FlowAnalyzer, type NatSource, type SerializedAnalyzer, type Verdict} from './analyzer.js'
import type {ConfigAuditResult} from './config-audit.js'
import {DEFAULT_FIELDS, parseFormat} from './fields.js'
import {FlowLineParser} from './record.js'
import {analyzeStream} from './read.js'
import {flowLogPrefixes, keyInRange} from './sources.js'

export interface FlowAuditOptions {
  estate: Estate
  /** Accounts to audit (configuration, and records from S3 when a time range is given). */
  targets: EnvironmentSpec[]
  files: string[]
  /** Field order for files without a header line ("${a} ${b}" or "a b"). */
  logFormat?: string
  natEnis: string[]
  since?: Date
  until?: Date
  /** Where records of a time range come from: the S3 evidence bucket, or CloudWatch Logs. */
  recordsFrom?: 's3' | 'cloudwatch'
  profile?: string
  topN: number
  /** Worker threads for local files; 1 reads in this thread. */
  parallel: number
}

export interface FlowAuditReport {
  configuration: ConfigAuditResult[]
  records: AnalysisResult | null
  /** What was read: counts, and the inputs by name (files, S3 prefixes, log groups; the first 1,000). */
  sources: {files: number; s3Objects: number; cloudwatchEvents: number; inputs: string[]}
  /** failed: a configuration gap or a critical finding; unproven: the records cannot support a pass (exit 3); else passed. */
  verdict: Verdict
  /** True only when the verdict is passed. */
  passed: boolean
}

const MAX_INPUTS_LISTED = 1000

/**
 * A NAT gateway's interface id (eni-...): flow log records name interfaces, never the gateway
 * (nat-...), so a gateway id would match nothing and switch NAT inference off.
 */
export function checkNatInterfaceIds(ids: string[]): void {
  for (const id of ids) {
    if (/^eni-[0-9a-z]+$/i.test(id)) continue
    const fix = id.startsWith('nat-')
      ? `flow log records name the gateway's network interface, not the gateway: find it with \`aws ec2 describe-nat-gateways --nat-gateway-ids ${id} --query 'NatGateways[].NatGatewayAddresses[].NetworkInterfaceId'\` and pass that eni-... id`
      : "pass the NAT gateway's network interface id (eni-...), as `aws ec2 describe-nat-gateways --query 'NatGateways[].NatGatewayAddresses[].NetworkInterfaceId'` lists them"
    throw new InfraError(`--nat-eni ${id} is not a network interface id`, fix, 'BAD_NAT_ENI', EXIT.usage)
  }
}

export async function auditFlowLogs(options: FlowAuditOptions): Promise<FlowAuditReport> {
  checkNatInterfaceIds(options.natEnis)
  const fields = options.logFormat ? parseLogFormat(options.logFormat) : undefined
  const configuration: ConfigAuditResult[] = []
  if (options.targets.length > 0) {
    // Loaded when an account is audited: the EC2 client costs a third of a second to load, which
    // a run over local files should not pay.
    const {auditFlowLogConfiguration} = await import('./config-audit.js')
    for (const target of options.targets) configuration.push(await auditFlowLogConfiguration(options.estate, target, options.profile))
  }

  // Which interfaces are NAT gateways: --nat-eni, else each account's discovery parameter, else
  // DescribeNatGateways; with none of them, the analysis infers them from the records.
  let natGateways: {interfaceId: string; source: NatSource}[] = options.natEnis.map((interfaceId) => ({interfaceId, source: 'flag'}))
  const endpointEnis: string[] = []
  if (options.targets.length > 0) {
    const roles = await Promise.all(options.targets.map((target) => interfaceRolesFromAccount(options, target, natGateways.length === 0)))
    if (natGateways.length === 0) natGateways = roles.flatMap((role) => role.nat)
    endpointEnis.push(...roles.flatMap((role) => role.endpoints))
  }
  const inputs: string[] = options.files.slice(0, MAX_INPUTS_LISTED)
  const analyzer = new FlowAnalyzer({natGateways, endpointEnis, topN: options.topN})
  let s3Objects = 0
  let cloudwatchEvents = 0
  if (options.files.length > 0) await analyzeFiles(options.files, analyzer, fields, options, natGateways.map((gateway) => gateway.interfaceId))
  if (options.since && options.targets.length > 0) {
    for (const target of options.targets) {
      if (options.recordsFrom === 'cloudwatch') cloudwatchEvents += await analyzeCloudWatch(options, target, analyzer, inputs)
      else s3Objects += await analyzeS3(options, target, analyzer, fields, inputs)
    }
  }
  const readRecords = options.files.length > 0 || options.since !== undefined
  const records = readRecords ? analyzer.result() : null
  const gaps = configuration.some((c) => c.findings.length > 0)
  const verdict: Verdict = gaps || records?.verdict === 'failed' ? 'failed' : records?.verdict === 'unproven' ? 'unproven' : 'passed'
  return {configuration, records, sources: {files: options.files.length, s3Objects, cloudwatchEvents, inputs: inputs.slice(0, MAX_INPUTS_LISTED)}, verdict, passed: verdict === 'passed'}
}

function parseLogFormat(format: string): string[] {
  try {
    return parseFormat(format)
  } catch (error) {
    throw new InfraError(`--log-format: ${(error as Error).message}`, 'give the flow log\'s LogFormat, e.g. "${version} ${account-id} ${interface-id} ..."', 'BAD_FORMAT')
  }
}

/**
 * Files are split across worker threads in contiguous runs; each worker returns bounded aggregates to merge.
 * One worker too: its small heap keeps the collections zlib's buffers set off cheap, where this
 * thread's heap carries the whole CLI.
 */
async function analyzeFiles(files: string[], analyzer: FlowAnalyzer, fields: string[] | undefined, options: FlowAuditOptions, watch: string[]): Promise<void> {
  const workers = Math.max(1, Math.min(options.parallel, files.length, os.availableParallelism()))
  // Each worker a contiguous run of the files, sorted by name (S3 names carry the time): a long
  // flow's later windows then mostly meet its opening in the same worker's table, where dealing the
  // files in turn would part them in every other file.
  const shares: string[][] = Array.from({length: workers}, (_, k) => files.slice(Math.floor((k * files.length) / workers), Math.floor(((k + 1) * files.length) / workers)))
  const states = await Promise.all(
    shares.map(
      (share) =>
        new Promise<SerializedAnalyzer>((resolve, reject) => {
          const worker = new Worker(new URL('./worker.js', import.meta.url), {workerData: {files: share, fields, topN: options.topN, watch}})
          worker.once('message', (message: {ok: boolean; state?: SerializedAnalyzer; message?: string; fix?: string; code?: string; exitCode?: number}) => {
            if (message.ok) resolve(message.state!)
            else reject(new InfraError(message.message!, message.fix, message.code ?? 'FLOW_LOG_READ_FAILED', message.exitCode))
          })
          worker.once('error', reject)
        }),
    ),
  )
  for (const state of states) analyzer.merge(state)
}

/** A discovery parameter of the target, or a clear error saying how to get it. */
async function discoveryParameter(options: FlowAuditOptions, target: EnvironmentSpec, key: string): Promise<string> {
  const {createClient} = await import('../aws/clients.js')
  const {GetParameterCommand, SSMClient} = await import('@aws-sdk/client-ssm')
  const ssm = await createClient(SSMClient, {estate: options.estate, target, profile: options.profile, purpose: 'audit-flow-logs'})
  const name = `/infra/${target.name}/${key}`
  const value = await ssm
    .send(new GetParameterCommand({Name: name}))
    .then((answer) => answer.Parameter?.Value)
    .catch(() => undefined)
  if (!value) throw new InfraError(`${target.name} publishes no ${key} (${name})`, `run \`infra provision --env ${target.name}\`, or read files with --file`, 'NO_FLOW_LOG_DESTINATION')
  return value
}

/**
 * Reads the range from the CloudWatch Logs group the flow logs deliver to. Its events carry no
 * header, so the field order comes from the flow log's own LogFormat.
 */
async function analyzeCloudWatch(options: FlowAuditOptions, target: EnvironmentSpec, analyzer: FlowAnalyzer, inputs: string[]): Promise<number> {
  const {createClient} = await import('../aws/clients.js')
  const {CloudWatchLogsClient, paginateFilterLogEvents} = await import('@aws-sdk/client-cloudwatch-logs')
  const {DescribeFlowLogsCommand, EC2Client} = await import('@aws-sdk/client-ec2')
  const access = {estate: options.estate, target, profile: options.profile, purpose: 'audit-flow-logs'}
  const logGroup = await discoveryParameter(options, target, 'flow-logs/log-group')
  const ec2 = await createClient(EC2Client, access)
  const flowLog = ((await ec2.send(new DescribeFlowLogsCommand({}))).FlowLogs ?? []).find(
    (log) => log.LogGroupName === logGroup || (log.LogDestination ?? '').endsWith(`:log-group:${logGroup}`) || (log.LogDestination ?? '').endsWith(`:log-group:${logGroup}:*`),
  )
  const parser = new FlowLineParser(flowLog?.LogFormat ? parseFormat(flowLog.LogFormat) : DEFAULT_FIELDS)
  inputs.push(`cloudwatch:${logGroup} (${target.name})`)
  const logs = await createClient(CloudWatchLogsClient, access)
  let events = 0
  const input = {logGroupName: logGroup, startTime: options.since!.getTime(), endTime: (options.until ?? new Date()).getTime()}
  for await (const page of paginateFilterLogEvents({client: logs}, input)) {
    for (const event of page.events ?? []) {
      events++
      const line = Buffer.from(`${event.message ?? ''}\n`, 'latin1')
      parser.scanLines(line, 0, line.length, analyzer)
    }
  }
  return events
}

/** Reads the account's delivered flow logs for the range, from the bucket its discovery parameters name. */
async function analyzeS3(options: FlowAuditOptions, target: EnvironmentSpec, analyzer: FlowAnalyzer, fields: string[] | undefined, inputs: string[]): Promise<number> {
  const {createClient} = await import('../aws/clients.js')
  const {GetObjectCommand, S3Client, paginateListObjectsV2} = await import('@aws-sdk/client-s3')
  const access = {estate: options.estate, target, profile: options.profile, purpose: 'audit-flow-logs'}
  const destination = await discoveryParameter(options, target, 'flow-logs/s3-destination')
  const [bucket, ...prefixParts] = destination.replace(/^arn:aws[\w-]*:s3:::/, '').split('/')
  const s3 = await createClient(S3Client, access)
  const since = options.since!
  const until = options.until ?? new Date()
  let objects = 0
  for (const hive of [false, true]) {
    for (const prefix of flowLogPrefixes({account: target.accountId, region: target.region, since, until, hive, basePrefix: prefixParts.join('/')})) {
      for await (const page of paginateListObjectsV2({client: s3}, {Bucket: bucket, Prefix: prefix})) {
        for (const object of page.Contents ?? []) {
          if (!object.Key || !keyInRange(object.Key, since, until)) continue
          const body = (await s3.send(new GetObjectCommand({Bucket: bucket, Key: object.Key}))).Body as Readable
          await analyzeStream(body, analyzer, fields)
          if (inputs.length < MAX_INPUTS_LISTED) inputs.push(`s3://${bucket}/${object.Key}`)
          objects++
        }
      }
    }
  }
  return objects
}

/**
 * NAT gateway interfaces of an account (its discovery parameter /infra/<env>/nat/eni-ids, else
 * DescribeNatGateways) and its VPC endpoint interfaces.
 */
async function interfaceRolesFromAccount(options: FlowAuditOptions, target: EnvironmentSpec, wantNat: boolean): Promise<{nat: {interfaceId: string; source: NatSource}[]; endpoints: string[]}> {
  const {createClient} = await import('../aws/clients.js')
  const {DescribeNatGatewaysCommand, DescribeVpcEndpointsCommand, EC2Client} = await import('@aws-sdk/client-ec2')
  const access = {estate: options.estate, target, profile: options.profile, purpose: 'audit-flow-logs'}
  const ec2 = await createClient(EC2Client, access)
  const endpoints = ((await ec2.send(new DescribeVpcEndpointsCommand({}))).VpcEndpoints ?? []).flatMap((endpoint) => endpoint.NetworkInterfaceIds ?? [])
  if (!wantNat) return {nat: [], endpoints}
  const {GetParameterCommand, SSMClient} = await import('@aws-sdk/client-ssm')
  const ssm = await createClient(SSMClient, access)
  const published = await ssm
    .send(new GetParameterCommand({Name: `/infra/${target.name}/nat/eni-ids`}))
    .then((answer) => (answer.Parameter?.Value ?? '').split(',').map((id) => id.trim()).filter(Boolean))
    .catch(() => [] as string[])
  if (published.length > 0) return {nat: published.map((interfaceId) => ({interfaceId, source: 'ssm-parameter'})), endpoints}
  const gateways = (await ec2.send(new DescribeNatGatewaysCommand({}))).NatGateways ?? []
  const nat = gateways.flatMap((gateway) => (gateway.NatGatewayAddresses ?? []).flatMap((address) => (address.NetworkInterfaceId ? [address.NetworkInterfaceId] : [])))
  return {nat: nat.map((interfaceId) => ({interfaceId, source: 'describe-nat-gateways'})), endpoints}
}
