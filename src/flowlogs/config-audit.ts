import {DescribeFlowLogsCommand, DescribeVpcsCommand, EC2Client, type FlowLog} from '@aws-sdk/client-ec2'

import {type AwsAccess, createClient} from '../aws/clients.js'
import type {EnvironmentSpec, Estate} from '../estate/model.js'
import {ANALYSIS_FIELDS, DEFAULT_FIELDS, parseFormat} from './fields.js'

export interface ConfigFinding {
  environment: string
  accountId: string
  region: string
  vpcId: string
  flowLogId: string | null
  problem: 'no-flow-log' | 'not-active' | 'not-all-traffic' | 'delivery-failing' | 'format-missing-fields'
  detail: string
  fix: string
}

export interface ConfigAuditResult {
  environment: string
  accountId: string
  vpcs: {vpcId: string; flowLogs: {id: string; status: string; trafficType: string; destination: string; deliverStatus: string}[]}[]
  findings: ConfigFinding[]
}

/** Checks every VPC of an account: an ACTIVE flow log of ALL traffic that delivers, in a usable format. */
export async function auditFlowLogConfiguration(estate: Estate, env: EnvironmentSpec, profile?: string): Promise<ConfigAuditResult> {
  const access: AwsAccess = {estate, target: env, profile, purpose: 'audit-flow-logs'}
  const ec2 = await createClient(EC2Client, access)
  const vpcs = []
  for (let token: string | undefined, first = true; first || token; first = false) {
    const page = await ec2.send(new DescribeVpcsCommand({NextToken: token}))
    vpcs.push(...(page.Vpcs ?? []))
    token = page.NextToken
  }
  const logs: FlowLog[] = []
  for (let token: string | undefined, first = true; first || token; first = false) {
    const page = await ec2.send(new DescribeFlowLogsCommand({NextToken: token}))
    logs.push(...(page.FlowLogs ?? []))
    token = page.NextToken
  }
  const findings: ConfigFinding[] = []
  const result: ConfigAuditResult = {environment: env.name, accountId: env.accountId, vpcs: [], findings}
  for (const vpc of vpcs) {
    const vpcId = vpc.VpcId!
    const mine = logs.filter((log) => log.ResourceId === vpcId)
    result.vpcs.push({
      vpcId,
      flowLogs: mine.map((log) => ({
        id: log.FlowLogId!,
        status: log.FlowLogStatus ?? 'unknown',
        trafficType: log.TrafficType ?? 'unknown',
        destination: log.LogDestination ?? log.LogGroupName ?? 'unknown',
        deliverStatus: log.DeliverLogsStatus ?? 'unknown',
      })),
    })
    const finding = (problem: ConfigFinding['problem'], flowLogId: string | null, detail: string, fix: string) =>
      findings.push({environment: env.name, accountId: env.accountId, region: env.region, vpcId, flowLogId, problem, detail, fix})
    if (mine.length === 0) {
      finding('no-flow-log', null, `${vpcId} has no flow log`, `run \`infra provision --env ${env.name}\`, or create a flow log with traffic type ALL`)
      continue
    }
    // One good flow log is enough; report what is wrong with each of the others only when none is good.
    const problems = mine.map((log) => ({log, issues: problemsOf(log)}))
    if (problems.some((p) => p.issues.length === 0)) continue
    for (const {log, issues} of problems) for (const issue of issues) finding(issue.problem, log.FlowLogId ?? null, `${log.FlowLogId}: ${issue.detail}`, issue.fix)
  }
  return result
}

function problemsOf(log: FlowLog): {problem: ConfigFinding['problem']; detail: string; fix: string}[] {
  const issues: {problem: ConfigFinding['problem']; detail: string; fix: string}[] = []
  if (log.FlowLogStatus !== 'ACTIVE') issues.push({problem: 'not-active', detail: `status is ${log.FlowLogStatus}`, fix: 'recreate the flow log'})
  if (log.TrafficType !== 'ALL') {
    issues.push({problem: 'not-all-traffic', detail: `captures only ${log.TrafficType} traffic`, fix: 'replace it with a flow log of traffic type ALL (the type cannot be changed in place)'})
  }
  if (log.DeliverLogsStatus && log.DeliverLogsStatus !== 'SUCCESS') {
    issues.push({
      problem: 'delivery-failing',
      detail: `delivery ${log.DeliverLogsStatus}${log.DeliverLogsErrorMessage ? `: ${log.DeliverLogsErrorMessage}` : ''}`,
      fix: 'check the destination bucket policy or the delivery role (DeliverLogsPermissionArn)',
    })
  }
  let fields: string[]
  try {
    fields = log.LogFormat ? parseFormat(log.LogFormat) : DEFAULT_FIELDS
  } catch {
    fields = []
  }
  const missing = ANALYSIS_FIELDS.filter((field) => !fields.includes(field))
  if (missing.length > 0) {
    issues.push({
      problem: 'format-missing-fields',
      detail: `format lacks ${missing.join(', ')}${log.LogFormat ? '' : ' (default format)'}`,
      fix: 'replace it with a flow log whose custom format includes every field through version 5 (as infra provision creates)',
    })
  }
  return issues
}
