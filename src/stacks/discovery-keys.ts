// Kept apart from the construct so commands can read the names without loading cdktf.
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
  loadBalancerSubnetIds: 'network/load-balancer-subnet-ids',
  albSecurityGroupId: 'eks/alb-security-group-id',
  serviceRoleArn: 'service/role-arn',
  serviceResultsBucket: 'service/results-bucket',
  serviceLogGroup: 'service/log-group',
  openSearchEndpoint: 'logs/opensearch-endpoint',
} as const
export type DiscoveryKey = keyof typeof DISCOVERY_KEYS

export function discoveryParameterName(envName: string, key: DiscoveryKey): string {
  return `/infra/${envName}/${DISCOVERY_KEYS[key]}`
}

/** The CloudWatch Logs group the service's lines are shipped to; the stacks create it under this name. */
export function serviceLogGroupName(envName: string): string {
  return `/infra/${envName}/service`
}
