import type {EnvironmentSpec, Estate} from '../estate/model.js'
import {roleSessionName} from '../estate/session-name.js'
import {AwsProvider, type Construct} from './cdktf.js'

/** Services the stacks call; each gets the emulator endpoint when one is configured. */
const EMULATED_SERVICES = [
  'autoscaling', 'cloudtrail', 'cloudwatch', 'cloudwatchlogs', 'ec2', 'eks', 'iam', 'kms', 'rds',
  's3', 'secretsmanager', 'sns', 'ssm', 'sts', 'wafv2',
] as const

/**
 * The AWS provider for one account: the environment's role assumed with a traceable session
 * name, refusing to touch any other account, and tagging everything it creates.
 */
export function awsProvider(scope: Construct, estate: Estate, env: EnvironmentSpec): AwsProvider {
  const emulator = estate.endpoint
  return new AwsProvider(scope, 'aws', {
    region: env.region,
    allowedAccountIds: [env.accountId],
    ...(estate.assumeRoles ? {assumeRole: [{roleArn: env.roleArn, sessionName: roleSessionName('provision')}]} : {}),
    defaultTags: [{tags: {Organization: estate.organization.name, Environment: env.name, ManagedBy: 'infra'}}],
    ...(emulator
      ? {
          endpoints: [Object.fromEntries(EMULATED_SERVICES.map((service) => [service, emulator]))],
          s3UsePathStyle: true,
          skipCredentialsValidation: true,
          skipMetadataApiCheck: 'true',
        }
      : {}),
  })
}

/** S3 backend settings that point the state at the emulator too. */
export function backendEmulatorSettings(estate: Estate): Record<string, unknown> {
  if (!estate.endpoint) return {}
  return {
    endpoints: {s3: estate.endpoint, sts: estate.endpoint, iam: estate.endpoint},
    usePathStyle: true,
    skipCredentialsValidation: true,
    skipMetadataApiCheck: true,
    skipRequestingAccountId: true,
  }
}
