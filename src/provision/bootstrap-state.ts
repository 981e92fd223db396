import {existsSync} from 'node:fs'

import {HeadBucketCommand, HeadObjectCommand, S3Client} from '@aws-sdk/client-s3'

import {type AwsAccess, awsClientConfig} from '../aws/clients.js'
import type {EnvironmentSpec} from '../estate/model.js'
import {InfraError} from '../errors.js'

/**
 * Where the bootstrap stack's own state is before a run:
 * - in-bucket: in the state bucket it created (every run after the first, on any machine);
 * - local: the bucket exists and the state is only in this work folder (a first apply that stopped
 *   before its migration, or a work folder from before the state moved into the bucket): migrated
 *   before anything is planned;
 * - new: no bucket yet: the apply keeps it locally, then migrates it into the new bucket.
 */
export type BootstrapStateHome = 'in-bucket' | 'local' | 'new'

export async function locateBootstrapState(access: AwsAccess, env: EnvironmentSpec, key: string, localStatePath: string): Promise<BootstrapStateHome> {
  const config = await awsClientConfig(access)
  const s3 = new S3Client({...config, forcePathStyle: Boolean(access.estate.endpoint)})
  try {
    if (await answers(() => s3.send(new HeadObjectCommand({Bucket: env.stateBucket, Key: key})))) return 'in-bucket'
    // No bucket: a first apply (or one that stopped before the bucket existed, whose local state is reused).
    if (!(await answers(() => s3.send(new HeadBucketCommand({Bucket: env.stateBucket, ExpectedBucketOwner: env.accountId}))))) return 'new'
    if (existsSync(localStatePath)) return 'local'
    // The bucket is there and its own state is not: planning now would create a second bucket
    // of that name (which fails) or lose track of this one. Stop and say how to recover.
    throw new InfraError(
      `state bucket ${env.stateBucket} exists in account ${env.accountId} but holds no state for its own stack (${key}), and this work folder has none`,
      `run from the work folder that created it (its ${localStatePath}), or import the bucket and key into the ${env.name}-state stack; nothing was changed`,
      'STATE_BOOTSTRAP_MISSING',
    )
  } finally {
    s3.destroy()
  }
}

/** True on 200, false on 404; anything else (another account's bucket, no access) is an error. */
async function answers(call: () => Promise<unknown>): Promise<boolean> {
  try {
    await call()
    return true
  } catch (error) {
    const status = (error as {$metadata?: {httpStatusCode?: number}}).$metadata?.httpStatusCode
    if (status === 404) return false
    if (status === 403) {
      throw new InfraError(
        'the state bucket cannot be read with the environment\'s role (403): it belongs to another account, or the role may not read it',
        'check the estate\'s stateBucket name (bucket names are global) and the role\'s S3 permissions',
        'STATE_BUCKET_FORBIDDEN',
      )
    }
    throw error
  }
}
