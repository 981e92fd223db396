import {Cloudtrail, CloudwatchLogGroup, Construct, FlowLog, Fn, IamRole, IamRolePolicy, KmsAlias, KmsKey} from './cdktf.js'
import {type StackContext, assumeRolePolicy, policyDocument} from './context.js'
import {SecureBucket} from './secure-bucket.js'

/**
 * Flow log fields, in order: the default version 2 fields, then every field through version 5.
 * The flow-log audit needs interface-id, action, tcp-flags, pkt-srcaddr/dstaddr,
 * pkt-dst-aws-service, flow-direction and traffic-path.
 */
export const FLOW_LOG_FIELDS = [
  'version', 'account-id', 'interface-id', 'srcaddr', 'dstaddr', 'srcport', 'dstport', 'protocol', 'packets', 'bytes',
  'start', 'end', 'action', 'log-status', 'vpc-id', 'subnet-id', 'instance-id', 'tcp-flags', 'type', 'pkt-srcaddr',
  'pkt-dstaddr', 'region', 'az-id', 'sublocation-type', 'sublocation-id', 'pkt-src-aws-service', 'pkt-dst-aws-service',
  'flow-direction', 'traffic-path',
] as const
export const FLOW_LOG_FORMAT = FLOW_LOG_FIELDS.map((field) => `\${${field}}`).join(' ')

/** The environment's customer-managed KMS key, usable by the services that encrypt with it. */
export class EncryptionKey extends Construct {
  readonly key: KmsKey

  constructor(scope: Construct, id: string, ctx: StackContext) {
    super(scope, id)
    const {accountId, region} = ctx.env
    this.key = new KmsKey(this, 'key', {
      description: `${ctx.prefix}: encrypts logs, volumes, databases, secrets and state`,
      enableKeyRotation: true,
      deletionWindowInDays: 30,
      policy: policyDocument([
        {Sid: 'AccountAdministers', Effect: 'Allow', Principal: {AWS: `arn:aws:iam::${accountId}:root`}, Action: 'kms:*', Resource: '*'},
        {
          Sid: 'CloudTrailEncrypts',
          Effect: 'Allow',
          Principal: {Service: 'cloudtrail.amazonaws.com'},
          Action: ['kms:GenerateDataKey*', 'kms:DescribeKey'],
          Resource: '*',
          Condition: {StringLike: {'kms:EncryptionContext:aws:cloudtrail:arn': `arn:aws:cloudtrail:*:${accountId}:trail/*`}},
        },
        {
          Sid: 'CloudWatchLogsEncrypts',
          Effect: 'Allow',
          Principal: {Service: `logs.${region}.amazonaws.com`},
          Action: ['kms:Encrypt*', 'kms:Decrypt*', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*'],
          Resource: '*',
          Condition: {ArnLike: {'kms:EncryptionContext:aws:logs:arn': `arn:aws:logs:${region}:${accountId}:log-group:*`}},
        },
        {
          Sid: 'LogDeliveryAndAlarmsEncrypt',
          Effect: 'Allow',
          Principal: {Service: ['delivery.logs.amazonaws.com', 'cloudwatch.amazonaws.com']},
          Action: ['kms:Encrypt', 'kms:Decrypt', 'kms:GenerateDataKey*'],
          Resource: '*',
          Condition: {StringEquals: {'aws:SourceAccount': accountId}},
        },
        {
          // The pattern of AWS-managed keys: any principal of this account, but only through these
          // services. It covers service-linked roles (Auto Scaling launching encrypted volumes).
          Sid: 'AccountServicesUseKey',
          Effect: 'Allow',
          Principal: {AWS: '*'},
          Action: ['kms:Encrypt', 'kms:Decrypt', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:CreateGrant', 'kms:DescribeKey'],
          Resource: '*',
          Condition: {
            StringEquals: {
              'kms:CallerAccount': accountId,
              'kms:ViaService': ['ec2', 'rds', 'secretsmanager', 'eks', 'ssm', 's3', 'sns'].map((service) => `${service}.${region}.amazonaws.com`),
            },
          },
        },
      ]),
    })
    new KmsAlias(this, 'alias', {name: `alias/${ctx.prefix}`, targetKeyId: this.key.keyId})
  }
}

/** The bucket that keeps the audit evidence: CloudTrail, VPC flow logs and session transcripts. */
export class AuditBucket extends SecureBucket {
  constructor(scope: Construct, id: string, ctx: StackContext, keyArn: string) {
    const {accountId, region} = ctx.env
    super(scope, id, {
      bucketName: `${ctx.prefix}-audit-${accountId}`,
      kmsKeyArn: keyArn,
      noncurrentVersionDays: ctx.sizing.logRetentionDays,
      extraStatements: (arn) => [
        {Sid: 'CloudTrailAclCheck', Effect: 'Allow', Principal: {Service: 'cloudtrail.amazonaws.com'}, Action: 's3:GetBucketAcl', Resource: arn,
          Condition: {StringEquals: {'aws:SourceArn': trailArn(ctx)}}},
        {Sid: 'CloudTrailWrite', Effect: 'Allow', Principal: {Service: 'cloudtrail.amazonaws.com'}, Action: 's3:PutObject',
          Resource: `${arn}/cloudtrail/AWSLogs/${accountId}/*`,
          Condition: {StringEquals: {'aws:SourceArn': trailArn(ctx), 's3:x-amz-acl': 'bucket-owner-full-control'}}},
        {Sid: 'FlowLogsAclCheck', Effect: 'Allow', Principal: {Service: 'delivery.logs.amazonaws.com'}, Action: ['s3:GetBucketAcl', 's3:ListBucket'], Resource: arn,
          Condition: {StringEquals: {'aws:SourceAccount': accountId}, ArnLike: {'aws:SourceArn': `arn:aws:logs:${region}:${accountId}:*`}}},
        {Sid: 'FlowLogsWrite', Effect: 'Allow', Principal: {Service: 'delivery.logs.amazonaws.com'}, Action: 's3:PutObject',
          Resource: `${arn}/AWSLogs/${accountId}/*`,
          Condition: {StringEquals: {'aws:SourceAccount': accountId, 's3:x-amz-acl': 'bucket-owner-full-control'}, ArnLike: {'aws:SourceArn': `arn:aws:logs:${region}:${accountId}:*`}}},
      ],
    })
  }
}

export function trailName(ctx: StackContext): string {
  return `${ctx.prefix}-trail`
}

function trailArn(ctx: StackContext): string {
  return `arn:aws:cloudtrail:${ctx.env.region}:${ctx.env.accountId}:trail/${trailName(ctx)}`
}

/** A multi-region trail with log file validation, encrypted, also streamed to CloudWatch Logs for alarms. */
export class AuditTrail extends Construct {
  constructor(scope: Construct, id: string, ctx: StackContext, props: {bucket: SecureBucket; keyArn: string; logGroup: CloudwatchLogGroup}) {
    super(scope, id)
    const role = new IamRole(this, 'logs-role', {
      name: `${ctx.prefix}-cloudtrail-logs`,
      assumeRolePolicy: assumeRolePolicy({Service: 'cloudtrail.amazonaws.com'}),
    })
    const rolePolicy = new IamRolePolicy(this, 'logs-policy', {
      role: role.id,
      policy: policyDocument([
        {Effect: 'Allow', Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Resource: `${props.logGroup.arn}:log-stream:*`},
      ]),
    })
    new Cloudtrail(this, 'trail', {
      name: trailName(ctx),
      s3BucketName: props.bucket.bucket.id,
      s3KeyPrefix: 'cloudtrail',
      kmsKeyId: props.keyArn,
      isMultiRegionTrail: true,
      includeGlobalServiceEvents: true,
      enableLogFileValidation: true,
      enableLogging: true,
      cloudWatchLogsGroupArn: `${props.logGroup.arn}:*`,
      cloudWatchLogsRoleArn: role.arn,
      dependsOn: [props.bucket.policy, rolePolicy],
    })
  }
}

/** VPC flow logs for ALL traffic in the full custom format, to S3 (evidence) and CloudWatch Logs (queries). */
export class FlowLogs extends Construct {
  readonly s3Destination: string

  constructor(scope: Construct, id: string, ctx: StackContext, props: {vpcId: string; bucket: SecureBucket; logGroup: CloudwatchLogGroup}) {
    super(scope, id)
    // The bucket root: AWS adds AWSLogs/<account>/vpcflowlogs/<region>/<yyyy>/<mm>/<dd>/<HH>/ itself.
    this.s3Destination = props.bucket.bucket.arn
    new FlowLog(this, 's3', {
      vpcId: props.vpcId,
      trafficType: 'ALL',
      logDestinationType: 's3',
      logDestination: this.s3Destination,
      // rawString keeps terraform from reading "${...}" as interpolations.
      logFormat: Fn.rawString(FLOW_LOG_FORMAT),
      maxAggregationInterval: 60,
      tags: {Name: `${ctx.prefix}-flow-logs-s3`},
      dependsOn: [props.bucket.policy],
    })
    const role = new IamRole(this, 'logs-role', {
      name: `${ctx.prefix}-flow-logs`,
      assumeRolePolicy: assumeRolePolicy({Service: 'vpc-flow-logs.amazonaws.com'}, {StringEquals: {'aws:SourceAccount': ctx.env.accountId}}),
    })
    new IamRolePolicy(this, 'logs-policy', {
      role: role.id,
      policy: policyDocument([
        {
          Effect: 'Allow',
          Action: ['logs:CreateLogStream', 'logs:PutLogEvents', 'logs:DescribeLogGroups', 'logs:DescribeLogStreams'],
          Resource: [props.logGroup.arn, `${props.logGroup.arn}:*`],
        },
      ]),
    })
    new FlowLog(this, 'cloudwatch', {
      vpcId: props.vpcId,
      trafficType: 'ALL',
      logDestinationType: 'cloud-watch-logs',
      logDestination: props.logGroup.arn,
      iamRoleArn: role.arn,
      // rawString keeps terraform from reading "${...}" as interpolations.
      logFormat: Fn.rawString(FLOW_LOG_FORMAT),
      maxAggregationInterval: 60,
      tags: {Name: `${ctx.prefix}-flow-logs-cloudwatch`},
    })
  }
}
