import type {Estate, EnvironmentSpec} from '../estate/model.js'
import {Construct, KmsAlias, KmsKey, S3Backend, TerraformOutput, TerraformStack} from './cdktf.js'
import {type StackContext, policyDocument, stackContext} from './context.js'
import {awsProvider, backendEmulatorSettings} from './provider.js'
import {SecureBucket} from './secure-bucket.js'

export const STATE_KEY_PREFIX = 'infra'

/**
 * The bootstrap: the state bucket and its key. Its own state lives in the bucket it creates,
 * like every other stack's, so any machine finds it. The first apply cannot write there yet:
 * provision runs it with a local backend override (bootstrapLocalBackend) and then migrates
 * the state into the bucket.
 */
export class StateBootstrapStack extends TerraformStack {
  constructor(scope: Construct, id: string, estate: Estate, env: EnvironmentSpec) {
    super(scope, id)
    const ctx = stackContext(estate, env)
    awsProvider(this, estate, env)
    useStateBucket(this, ctx, id)
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
    key: stateKey(env, stackName),
    region: env.region,
    encrypt: true,
    ...(estate.assumeRoles ? {assumeRole: {roleArn: env.roleArn}} : {}),
    ...backendEmulatorSettings(estate),
  })
  // cdktf 0.21 predates the S3 backend's native lock file; it is set as a raw override.
  stack.addOverride('terraform.backend.s3.use_lockfile', true)
}

/** Where a stack's state is kept in the environment's bucket. */
export function stateKey(env: EnvironmentSpec, stackName: string): string {
  return `${STATE_KEY_PREFIX}/${env.name}/${stackName}.tfstate`
}

/**
 * A terraform override file (terraform merges `*_override.tf.json` over the configuration) that
 * keeps the bootstrap's state in a local file until the bucket it creates exists.
 */
export function bootstrapLocalBackend(localStatePath: string): Record<string, unknown> {
  return {terraform: {backend: {local: {path: localStatePath}}}}
}
