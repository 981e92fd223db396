import {CloudwatchLogGroup, CloudwatchLogMetricFilter, CloudwatchMetricAlarm, CloudwatchQueryDefinition, Construct, SnsTopic} from './cdktf.js'
import type {StackContext} from './context.js'
import {serviceLogGroupName} from './discovery-keys.js'

/** Every log group of the environment, created up front with retention and KMS encryption. */
export class LogGroups extends Construct {
  readonly flowLogs: CloudwatchLogGroup
  readonly cloudTrail: CloudwatchLogGroup
  readonly sessions: CloudwatchLogGroup

  constructor(scope: Construct, id: string, private readonly ctx: StackContext, private readonly keyArn: string) {
    super(scope, id)
    this.flowLogs = this.group('flow-logs', `/infra/${ctx.env.name}/vpc-flow-logs`)
    this.cloudTrail = this.group('cloudtrail', `/infra/${ctx.env.name}/cloudtrail`)
    this.sessions = this.group('sessions', `/infra/${ctx.env.name}/ssm-sessions`)
  }

  /** A log group whose name a service fixes (EKS, RDS, WAF), owned here so it gets retention and KMS. */
  group(id: string, name: string): CloudwatchLogGroup {
    return new CloudwatchLogGroup(this, id, {name, retentionInDays: this.ctx.sizing.logRetentionDays, kmsKeyId: this.keyArn})
  }
}

/** CIS-style CloudTrail alarms: the changes and calls that someone must look at. */
const TRAIL_ALARMS = [
  {id: 'root-usage', pattern: '{ $.userIdentity.type = "Root" && $.userIdentity.invokedBy NOT EXISTS && $.eventType != "AwsServiceEvent" }', what: 'the root user was used'},
  {id: 'unauthorized-calls', pattern: '{ ($.errorCode = "*UnauthorizedOperation") || ($.errorCode = "AccessDenied*") }', what: 'API calls were denied'},
  {
    id: 'iam-changes',
    pattern:
      '{ ($.eventSource = iam.amazonaws.com) && (($.eventName = Put*Policy) || ($.eventName = Attach*Policy) || ($.eventName = Detach*Policy) || ($.eventName = Delete*Policy) || ($.eventName = Create*Policy*) || ($.eventName = CreateUser) || ($.eventName = CreateAccessKey) || ($.eventName = UpdateAssumeRolePolicy)) }',
    what: 'IAM policies, users or keys changed',
  },
  {
    id: 'security-group-changes',
    pattern:
      '{ ($.eventName = AuthorizeSecurityGroupIngress) || ($.eventName = AuthorizeSecurityGroupEgress) || ($.eventName = RevokeSecurityGroupIngress) || ($.eventName = RevokeSecurityGroupEgress) || ($.eventName = CreateSecurityGroup) || ($.eventName = DeleteSecurityGroup) }',
    what: 'security groups changed',
  },
  {
    id: 'network-changes',
    pattern:
      '{ ($.eventName = CreateRoute) || ($.eventName = ReplaceRoute) || ($.eventName = CreateInternetGateway) || ($.eventName = AttachInternetGateway) || ($.eventName = CreateNatGateway) || ($.eventName = DeleteFlowLogs) || ($.eventName = ModifySubnetAttribute) }',
    what: 'routes, gateways, subnets or flow logs changed',
  },
] as const

/** The encrypted alert topic and the CloudTrail metric filters and alarms that publish to it. */
export class Alarms extends Construct {
  readonly topic: SnsTopic

  constructor(scope: Construct, id: string, ctx: StackContext, props: {keyId: string; trailLogGroup: CloudwatchLogGroup}) {
    super(scope, id)
    this.topic = new SnsTopic(this, 'alerts', {name: `${ctx.prefix}-alerts`, kmsMasterKeyId: props.keyId})
    const namespace = `Infra/${ctx.env.name}/CloudTrail`
    for (const alarm of TRAIL_ALARMS) {
      const filter = new CloudwatchLogMetricFilter(this, `${alarm.id}-filter`, {
        name: `${ctx.prefix}-${alarm.id}`,
        logGroupName: props.trailLogGroup.name,
        pattern: alarm.pattern,
        metricTransformation: {name: alarm.id, namespace, value: '1', defaultValue: '0'},
      })
      new CloudwatchMetricAlarm(this, `${alarm.id}-alarm`, {
        alarmName: `${ctx.prefix}-${alarm.id}`,
        alarmDescription: `${ctx.env.name}: ${alarm.what}`,
        namespace,
        metricName: alarm.id,
        statistic: 'Sum',
        period: 300,
        evaluationPeriods: 1,
        threshold: 1,
        comparisonOperator: 'GreaterThanOrEqualToThreshold',
        treatMissingData: 'notBreaching',
        alarmActions: [this.topic.arn],
        dependsOn: [filter],
      })
    }
  }
}

/**
 * Saved CloudWatch Logs Insights queries over the service's group. The service writes `reqId`,
 * `jobId` and `url`; the shipper adds `request_id`, `job_id` and `route`: each query reads either
 * spelling, so lines from before the shipper's rename are found too. `level` is pino's number
 * (50 error, 60 fatal).
 */
export const SERVICE_LOG_QUERIES = [
  {
    id: 'errors-by-route',
    query: `fields coalesce(route, url) as path
| filter level >= 50 or status >= 500
| stats count(*) as errors by path
| sort errors desc`,
  },
  {
    id: 'job-history',
    // Saved queries take no parameters: replace JOB_ID before running it.
    query: `fields @timestamp, @logStream, level, msg, coalesce(job_id, jobId) as job, coalesce(request_id, reqId) as request
| filter job = "JOB_ID"
| sort @timestamp asc
| limit 10000`,
  },
  {
    id: 'slowest-requests',
    query: `fields @timestamp, @logStream, coalesce(request_id, reqId) as request, method, coalesce(route, url) as path, status, ms
| filter msg = "request"
| sort ms desc
| limit 50`,
  },
] as const

/**
 * The service's central log group (/infra/<env>/service, KMS, the sizing's retention) that the
 * shipper writes every replica's JSON lines to and `infra logs` reads, with its saved queries.
 */
export class ServiceLogs extends Construct {
  readonly group: CloudwatchLogGroup

  constructor(scope: Construct, id: string, ctx: StackContext, logGroups: LogGroups) {
    super(scope, id)
    this.group = logGroups.group('service', serviceLogGroupName(ctx.env.name))
    for (const saved of SERVICE_LOG_QUERIES) {
      new CloudwatchQueryDefinition(this, saved.id, {name: `infra/${ctx.env.name}/service/${saved.id}`, logGroupNames: [this.group.name], queryString: saved.query})
    }
  }
}
