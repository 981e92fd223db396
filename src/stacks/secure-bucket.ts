import {
  Construct,
  S3Bucket,
  S3BucketLifecycleConfiguration,
  S3BucketOwnershipControls,
  S3BucketPolicy,
  S3BucketPublicAccessBlock,
  S3BucketServerSideEncryption,
  S3BucketVersioning,
} from './cdktf.js'
import {policyDocument} from './context.js'

export interface SecureBucketProps {
  bucketName: string
  kmsKeyArn: string
  /** Statements granting AWS services write access; the TLS-only deny is always added. */
  extraStatements?: (bucketArn: string) => Record<string, unknown>[]
  /** Days before old object versions are removed. */
  noncurrentVersionDays: number
  /** Days after which current objects expire too (a backstop for data with a retention); never when absent. */
  expireCurrentDays?: number
  /** Refuse `terraform destroy` while the bucket has objects (state and audit logs). */
  forceDestroy?: boolean
}

/**
 * An S3 bucket as audit evidence and state need it: versioned, KMS-encrypted, owner-enforced,
 * every public access path blocked, and plain-HTTP requests denied.
 */
export class SecureBucket extends Construct {
  readonly bucket: S3Bucket
  /** Depend on this before a service writes to the bucket: its grants live here. */
  readonly policy: S3BucketPolicy

  constructor(scope: Construct, id: string, props: SecureBucketProps) {
    super(scope, id)
    this.bucket = new S3Bucket(this, 'bucket', {bucket: props.bucketName, forceDestroy: props.forceDestroy ?? false})
    const bucketId = this.bucket.id
    new S3BucketPublicAccessBlock(this, 'public-access-block', {
      bucket: bucketId,
      blockPublicAcls: true,
      blockPublicPolicy: true,
      ignorePublicAcls: true,
      restrictPublicBuckets: true,
    })
    new S3BucketOwnershipControls(this, 'ownership', {bucket: bucketId, rule: {objectOwnership: 'BucketOwnerEnforced'}})
    new S3BucketVersioning(this, 'versioning', {bucket: bucketId, versioningConfiguration: {status: 'Enabled'}})
    new S3BucketServerSideEncryption(this, 'encryption', {
      bucket: bucketId,
      rule: [{applyServerSideEncryptionByDefault: {sseAlgorithm: 'aws:kms', kmsMasterKeyId: props.kmsKeyArn}, bucketKeyEnabled: true}],
    })
    new S3BucketLifecycleConfiguration(this, 'lifecycle', {
      bucket: bucketId,
      rule: [
        {
          id: 'expire-old-versions',
          status: 'Enabled',
          filter: [{}],
          noncurrentVersionExpiration: [{noncurrentDays: props.noncurrentVersionDays}],
          abortIncompleteMultipartUpload: [{daysAfterInitiation: 7}],
        },
        ...(props.expireCurrentDays ? [{id: 'expire-current', status: 'Enabled', filter: [{}], expiration: [{days: props.expireCurrentDays}]}] : []),
      ],
    })
    const arn = this.bucket.arn
    this.policy = new S3BucketPolicy(this, 'policy', {
      bucket: bucketId,
      policy: policyDocument([
        {
          Sid: 'DenyInsecureTransport',
          Effect: 'Deny',
          Principal: '*',
          Action: 's3:*',
          Resource: [arn, `${arn}/*`],
          Condition: {Bool: {'aws:SecureTransport': 'false'}},
        },
        ...(props.extraStatements?.(arn) ?? []),
      ]),
    })
  }
}
