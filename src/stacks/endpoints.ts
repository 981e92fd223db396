import {Construct, SecurityGroup, VpcEndpoint} from './cdktf.js'
import type {StackContext} from './context.js'
import type {Network} from './network.js'

/** Interface endpoints every private workload needs: SSM sessions, logs, keys, images, EKS. */
export const INTERFACE_ENDPOINT_SERVICES = [
  'ssm', 'ssmmessages', 'ec2messages', 'ec2', 'logs', 'kms', 'sts', 'secretsmanager', 'ecr.api', 'ecr.dkr', 'eks',
] as const

/** AWS services reached privately: an S3 gateway endpoint and interface endpoints with private DNS. */
export class Endpoints extends Construct {
  readonly s3: VpcEndpoint
  readonly securityGroup: SecurityGroup

  constructor(scope: Construct, id: string, ctx: StackContext, network: Network) {
    super(scope, id)
    const {prefix, env} = ctx
    this.s3 = new VpcEndpoint(this, 's3', {
      vpcId: network.vpc.id,
      serviceName: `com.amazonaws.${env.region}.s3`,
      vpcEndpointType: 'Gateway',
      routeTableIds: [...network.appRouteTables.map((table) => table.id), network.dataRouteTable.id],
      tags: {Name: `${prefix}-s3`},
    })
    this.securityGroup = new SecurityGroup(this, 'sg', {
      name: `${prefix}-endpoints`,
      description: 'HTTPS from inside the VPC to AWS service endpoints',
      vpcId: network.vpc.id,
      ingress: [{description: 'HTTPS from the VPC', protocol: 'tcp', fromPort: 443, toPort: 443, cidrBlocks: [env.vpcCidr]}],
      egress: [],
      tags: {Name: `${prefix}-endpoints`},
    })
    for (const service of INTERFACE_ENDPOINT_SERVICES) {
      new VpcEndpoint(this, service.replace('.', '-'), {
        vpcId: network.vpc.id,
        serviceName: `com.amazonaws.${env.region}.${service}`,
        vpcEndpointType: 'Interface',
        privateDnsEnabled: true,
        subnetIds: network.appSubnets.map((subnet) => subnet.id),
        securityGroupIds: [this.securityGroup.id],
        tags: {Name: `${prefix}-${service}`},
      })
    }
  }
}
