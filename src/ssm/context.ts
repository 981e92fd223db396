import {AutoScalingClient} from '@aws-sdk/client-auto-scaling'
import {EC2Client} from '@aws-sdk/client-ec2'
import {SSMClient} from '@aws-sdk/client-ssm'
import {GetCallerIdentityCommand, STSClient} from '@aws-sdk/client-sts'

import {type AwsAccess, awsClientConfig} from '../aws/clients.js'
import type {EnvironmentSpec} from '../estate/model.js'
import type {DiscoveryClients} from './discovery.js'
import type {PluginCredentials} from './plugin.js'
import {type SessionApi, SdkSessionApi, ssmEndpointUrl} from './session-api.js'

/** Everything a session or tunnel needs of one account: clients, region, and the identity to hand the plugin. */
export interface SsmContext extends DiscoveryClients {
  env: EnvironmentSpec
  region: string
  profile?: string
  access: AwsAccess
  /** The assumed role's credentials, for the plugin (cross-account); undefined when none was assumed. */
  pluginCredentials(): Promise<PluginCredentials | undefined>
  /** The ARN infra acts as in the account: the Owner of the sessions it starts. */
  callerArn(): Promise<string>
}

export async function ssmContext(access: AwsAccess & {target: EnvironmentSpec}, sessions?: SessionApi): Promise<SsmContext> {
  const config = await awsClientConfig(access)
  const ssm = new SSMClient(config)
  return {
    env: access.target,
    region: config.region,
    profile: access.profile,
    access,
    ec2: new EC2Client(config),
    autoScaling: new AutoScalingClient(config),
    ssm,
    sessions: sessions ?? new SdkSessionApi(ssm, ssmEndpointUrl(config.region, access.estate.endpoint)),
    async pluginCredentials() {
      const identity = await config.credentials()
      return {accessKeyId: identity.accessKeyId, secretAccessKey: identity.secretAccessKey, sessionToken: identity.sessionToken, expiration: identity.expiration}
    },
    async callerArn() {
      const identity = await new STSClient(config).send(new GetCallerIdentityCommand({}))
      return identity.Arn ?? ''
    },
  }
}
