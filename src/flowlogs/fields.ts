/**
 * VPC Flow Logs fields by the version that introduced them
 * (https://docs.aws.amazon.com/vpc/latest/userguide/flow-log-records.html).
 */
export const FIELD_VERSIONS: Record<string, number> = {
  version: 2, 'account-id': 2, 'interface-id': 2, srcaddr: 2, dstaddr: 2, srcport: 2, dstport: 2, protocol: 2, packets: 2,
  bytes: 2, start: 2, end: 2, action: 2, 'log-status': 2,
  'vpc-id': 3, 'subnet-id': 3, 'instance-id': 3, 'tcp-flags': 3, type: 3, 'pkt-srcaddr': 3, 'pkt-dstaddr': 3,
  region: 4, 'az-id': 4, 'sublocation-type': 4, 'sublocation-id': 4,
  'pkt-src-aws-service': 5, 'pkt-dst-aws-service': 5, 'flow-direction': 5, 'traffic-path': 5,
  'ecs-cluster-arn': 7, 'ecs-cluster-name': 7, 'ecs-container-instance-arn': 7, 'ecs-container-instance-id': 7, 'ecs-container-id': 7,
  'ecs-second-container-id': 7, 'ecs-service-name': 7, 'ecs-task-definition-arn': 7, 'ecs-task-arn': 7, 'ecs-task-id': 7,
  'reject-reason': 8,
}

/** The default format: version 2's fourteen fields. */
export const DEFAULT_FIELDS = Object.keys(FIELD_VERSIONS).filter((field) => FIELD_VERSIONS[field] === 2)

/** Fields the isolation analysis needs beyond the defaults; without them some findings cannot be made. */
export const ANALYSIS_FIELDS = ['interface-id', 'action', 'tcp-flags', 'pkt-srcaddr', 'pkt-dstaddr', 'pkt-dst-aws-service', 'flow-direction', 'traffic-path'] as const

/** Reads "${a} ${b}" (a LogFormat) or "a b" (an S3 header line) into field names; unknown names are an error. */
export function parseFormat(format: string): string[] {
  const fields = format.trim().split(/\s+/).map((token) => token.replace(/^\$\{(.+)\}$/, '$1'))
  const unknown = fields.filter((field) => !(field in FIELD_VERSIONS))
  if (unknown.length > 0) throw new Error(`unknown flow log field${unknown.length > 1 ? 's' : ''}: ${unknown.join(', ')}`)
  return fields
}

/** traffic-path 8: through an internet gateway (2: an internet gateway or a gateway endpoint). */
export const TRAFFIC_PATH_INTERNET_GATEWAY = 8
export const TRAFFIC_PATH_GATEWAY_OR_ENDPOINT = 2

/** A custom format with every field through version 5: what `infra provision` creates, and what every check can use. */
export const RECOMMENDED_FORMAT = Object.keys(FIELD_VERSIONS)
  .filter((field) => FIELD_VERSIONS[field] <= 5)
  .map((field) => `\${${field}}`)
  .join(' ')
