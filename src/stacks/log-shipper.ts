import {type CloudwatchLogGroup, Construct, type IamOpenidConnectProvider, type IamRole, IamRolePolicy} from './cdktf.js'
import {type StackContext, policyDocument} from './context.js'
import {irsaRole} from './irsa.js'

/** Where the shipper runs; src/k8s/log-shipper.ts uses the same names (a test keeps them in step). */
export const LOG_SHIPPER_NAMESPACE = 'infra-logging'
export const LOG_SHIPPER_SERVICE_ACCOUNT = 'infra-log-shipper'

export function logShipperRoleName(prefix: string): string {
  return `${prefix}-log-shipper`
}

/**
 * The log shipper's AWS identity on EKS (IRSA): only infra-logging/infra-log-shipper may assume
 * it, and it may only add streams and events to the service's log group (and, with OpenSearch on,
 * index into that one domain). No KMS permission: the group's key is used by CloudWatch Logs under
 * the key policy, not by the writer.
 */
export class LogShipperRole extends Construct {
  readonly role: IamRole

  constructor(scope: Construct, id: string, ctx: StackContext, props: {oidcProvider: IamOpenidConnectProvider; logGroup: CloudwatchLogGroup}) {
    super(scope, id)
    this.role = irsaRole(this, {
      name: logShipperRoleName(ctx.prefix),
      description: `IRSA: the log shipper (${LOG_SHIPPER_NAMESPACE}/${LOG_SHIPPER_SERVICE_ACCOUNT}) on ${ctx.prefix}-eks`,
      oidcProvider: props.oidcProvider,
      namespace: LOG_SHIPPER_NAMESPACE,
      serviceAccount: LOG_SHIPPER_SERVICE_ACCOUNT,
    })
    new IamRolePolicy(this, 'access', {
      name: 'service-log-group',
      role: this.role.id,
      policy: policyDocument([
        {Sid: 'Streams', Effect: 'Allow', Action: ['logs:CreateLogStream', 'logs:DescribeLogStreams'], Resource: `${props.logGroup.arn}:*`},
        {Sid: 'Events', Effect: 'Allow', Action: ['logs:PutLogEvents'], Resource: `${props.logGroup.arn}:log-stream:*`},
      ]),
    })
  }

  /** The OpenSearch destination (when the estate turns it on): index requests to that domain only. */
  writeToOpenSearch(domainArn: string): void {
    new IamRolePolicy(this, 'opensearch', {
      name: 'opensearch-log-domain',
      role: this.role.id,
      policy: policyDocument([{Sid: 'Index', Effect: 'Allow', Action: ['es:ESHttpPost', 'es:ESHttpPut'], Resource: `${domainArn}/*`}]),
    })
  }
}
