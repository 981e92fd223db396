import {serviceRetentionDays} from '../estate/model.js'
import {Construct, type IamOpenidConnectProvider, type IamRole, IamRolePolicy} from './cdktf.js'
import {type StackContext, policyDocument} from './context.js'
import {irsaRole} from './irsa.js'
import {SecureBucket} from './secure-bucket.js'

/** Where the collection service runs on EKS: its namespace and service account (the IRSA subject). */
export const SERVICE_NAMESPACE = 'infra'
export const SERVICE_ACCOUNT = 'infra-service'

/** Names the stacks and the Kubernetes manifests agree on without a lookup. */
export function serviceRoleName(prefix: string): string {
  return `${prefix}-service`
}
export function serviceResultsBucketName(prefix: string, accountId: string): string {
  return `${prefix}-service-results-${accountId}`
}

export interface ServiceRoleProps {
  oidcProvider: IamOpenidConnectProvider
  keyArn: string
  /** The RDS-managed master secret the service's database URL is made from; absent without a database. */
  databaseSecretArn?: string
}

/**
 * The collection service's AWS identity on EKS (IRSA): only the service account
 * infra/infra-service may assume it, through the cluster's OIDC issuer. It may use its results
 * bucket (KMS) and read the database's managed secret, nothing else.
 */
export class ServiceRole extends Construct {
  readonly role: IamRole
  readonly results: SecureBucket

  constructor(scope: Construct, id: string, ctx: StackContext, props: ServiceRoleProps) {
    super(scope, id)
    this.results = new SecureBucket(this, 'results', {
      bucketName: serviceResultsBucketName(ctx.prefix, ctx.env.accountId),
      kmsKeyArn: props.keyArn,
      noncurrentVersionDays: 7,
      // The service deletes results past its retention; a day later S3 expires any it missed
      // (a replica down at the time, a delete that failed).
      expireCurrentDays: serviceRetentionDays(ctx.env) + 1,
    })
    this.role = irsaRole(this, {
      name: serviceRoleName(ctx.prefix),
      description: `IRSA: the collection service (${SERVICE_NAMESPACE}/${SERVICE_ACCOUNT}) on ${ctx.prefix}-eks`,
      oidcProvider: props.oidcProvider,
      namespace: SERVICE_NAMESPACE,
      serviceAccount: SERVICE_ACCOUNT,
    })
    const bucketArn = this.results.bucket.arn
    const statements: Record<string, unknown>[] = [
      {Sid: 'Results', Effect: 'Allow', Action: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject', 's3:AbortMultipartUpload'], Resource: `${bucketArn}/*`},
      {Sid: 'ResultsList', Effect: 'Allow', Action: ['s3:ListBucket', 's3:GetBucketLocation'], Resource: bucketArn},
      {Sid: 'Encryption', Effect: 'Allow', Action: ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey', 'kms:DescribeKey'], Resource: props.keyArn},
    ]
    // The s3 source's buckets, read only, exactly those the estate lists; never the results bucket
    // (left out here, and `service start` refuses to run with it in the list).
    const sourceBuckets = (ctx.env.service?.s3Buckets ?? []).filter((name) => name !== serviceResultsBucketName(ctx.prefix, ctx.env.accountId))
    if (sourceBuckets.length) {
      statements.push(
        {Sid: 'SourceBucketsList', Effect: 'Allow', Action: ['s3:ListBucket'], Resource: sourceBuckets.map((name) => `arn:aws:s3:::${name}`)},
        {Sid: 'SourceBucketsRead', Effect: 'Allow', Action: ['s3:GetObject'], Resource: sourceBuckets.map((name) => `arn:aws:s3:::${name}/*`)},
      )
    }
    if (props.databaseSecretArn) {
      statements.push({Sid: 'DatabaseSecret', Effect: 'Allow', Action: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'], Resource: props.databaseSecretArn})
    }
    new IamRolePolicy(this, 'access', {name: 'results-and-database-secret', role: this.role.id, policy: policyDocument(statements)})
  }
}
