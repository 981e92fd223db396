import {Construct, SsmParameter} from './cdktf.js'
import type {StackContext} from './context.js'

/** Names of the discovery parameters under /infra/<env>/ that session, tunnel and audit commands read. */
export const DISCOVERY_KEYS = {
  vpcId: 'vpc/id',
  egress: 'network/egress',
  natEniIds: 'nat/eni-ids',
  bastionAsg: 'bastion/asg-name',
  databaseEndpoint: 'database/endpoint',
  databaseSecretArn: 'database/secret-arn',
  eksClusterName: 'eks/cluster-name',
  flowLogsS3: 'flow-logs/s3-destination',
  flowLogsLogGroup: 'flow-logs/log-group',
  kmsKeyArn: 'kms/key-arn',
  alertsTopicArn: 'alerts/topic-arn',
  wafWebAclArn: 'waf/web-acl-arn',
  serviceRoleArn: 'service/role-arn',
  serviceResultsBucket: 'service/results-bucket',
} as const
export type DiscoveryKey = keyof typeof DISCOVERY_KEYS

export function discoveryParameterName(envName: string, key: DiscoveryKey): string {
  return `/infra/${envName}/${DISCOVERY_KEYS[key]}`
}

/** Publishes what the stack built as SSM parameters, so other commands need no terraform state. */
export class Discovery extends Construct {
  constructor(scope: Construct, id: string, ctx: StackContext, values: Partial<Record<DiscoveryKey, string | string[]>>) {
    super(scope, id)
    for (const [key, value] of Object.entries(values) as [DiscoveryKey, string | string[] | undefined][]) {
      if (value === undefined) continue
      new SsmParameter(this, key, {
        name: discoveryParameterName(ctx.env.name, key),
        type: Array.isArray(value) ? 'StringList' : 'String',
        value: Array.isArray(value) ? value.join(',') : value,
        description: `infra discovery: ${DISCOVERY_KEYS[key]} of ${ctx.prefix}`,
      })
    }
  }
}
