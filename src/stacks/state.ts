import type {Estate, EnvironmentSpec} from '../estate/model.js'
import {Construct, KmsAlias, KmsKey, LocalBackend, S3Backend, TerraformOutput, TerraformStack} from './cdktf.js'
import {type StackContext, policyDocument, stackContext} from './context.js'
import {awsProvider, backendEmulatorSettings} from './provider.js'
import {SecureBucket} from './secure-bucket.js'

export const STATE_KEY_PREFIX = 'infra'

/**
 * The bootstrap: the state bucket and its key. It keeps its own small state on the operator's
 * machine (under the work folder), because the bucket it would live in is what it creates.
 */
export class StateBootstrapStack extends TerraformStack {
  constructor(scope: Construct, id: string, estate: Estate, env: EnvironmentSpec, localStatePath: string) {
    super(scope, id)
    const ctx = stackContext(estate, env)
    awsProvider(this, estate, env)
    new LocalBackend(this, {path: localStatePath})
    const key = new KmsKey(this, 'state-key', {
      description: `${ctx.prefix}: terraform state`,
      enableKeyRotation: true,
      deletionWindowInDays: 30,
      policy: policyDocument([
        {Sid: 'AccountAdministers', Effect: 'Allow', Principal: {AWS: `arn:aws:iam::${env.accountId}:root`}, Action: 'kms:*', Resource: '*'},
      ]),
    })
    new KmsAlias(this, 'state-key-alias', {name: `alias/${ctx.prefix}-state`, targetKeyId: key.keyId})
    const bucket = new SecureBucket(this, 'state-bucket', {bucketName: env.stateBucket, kmsKeyArn: key.arn, noncurrentVersionDays: 90})
    new TerraformOutput(this, 'state_bucket', {value: bucket.bucket.id})
  }
}

/** Points a stack's state at the environment's bucket, locked with an S3 lock file. */
export function useStateBucket(stack: TerraformStack, ctx: StackContext, stackName: string): void {
  const {env, estate} = ctx
  new S3Backend(stack, {
    bucket: env.stateBucket,
    key: `${STATE_KEY_PREFIX}/${env.name}/${stackName}.tfstate`,
    region: env.region,
    encrypt: true,
    ...(estate.assumeRoles ? {assumeRole: {roleArn: env.roleArn}} : {}),
    ...backendEmulatorSettings(estate),
  })
  // cdktf 0.21 predates the S3 backend's native lock file; it is set as a raw override.
  stack.addOverride('terraform.backend.s3.use_lockfile', true)
}
