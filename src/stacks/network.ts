import {layoutSubnets} from '../estate/cidr.js'
import {
  Construct,
  DefaultSecurityGroup,
  Eip,
  InternetGateway,
  NatGateway,
  Route,
  RouteTable,
  RouteTableAssociation,
  Subnet,
  Vpc,
} from './cdktf.js'
import type {StackContext} from './context.js'

/**
 * The private network: app subnets that leave only through NAT, data subnets with no route out,
 * and public subnets that exist only to hold the NAT gateways. Nothing maps a public IP.
 */
export class Network extends Construct {
  readonly vpc: Vpc
  readonly appSubnets: Subnet[]
  readonly dataSubnets: Subnet[]
  readonly natSubnets: Subnet[] = []
  readonly natGateways: NatGateway[] = []
  readonly appRouteTables: RouteTable[]
  readonly dataRouteTable: RouteTable

  constructor(scope: Construct, id: string, ctx: StackContext) {
    super(scope, id)
    const {env, prefix} = ctx
    const azs = env.availabilityZones
    const layout = layoutSubnets(env.vpcCidr, azs.length)

    this.vpc = new Vpc(this, 'vpc', {
      cidrBlock: env.vpcCidr,
      enableDnsSupport: true,
      enableDnsHostnames: true,
      tags: {Name: `${prefix}-vpc`},
    })
    // Adopting the default security group with no rules removes AWS's allow-all defaults.
    new DefaultSecurityGroup(this, 'default-sg', {vpcId: this.vpc.id, ingress: [], egress: [], tags: {Name: `${prefix}-default-deny`}})

    const subnet = (tier: string, index: number, cidr: string) =>
      new Subnet(this, `${tier}-${azs[index]}`, {
        vpcId: this.vpc.id,
        cidrBlock: cidr,
        availabilityZone: azs[index],
        mapPublicIpOnLaunch: false,
        tags: {Name: `${prefix}-${tier}-${azs[index]}`, Tier: tier},
      })
    this.appSubnets = layout.app.map((cidr, index) => subnet('app', index, cidr))
    this.dataSubnets = layout.data.map((cidr, index) => subnet('data', index, cidr))

    if (env.egress === 'nat') {
      const natCount = ctx.sizing.natGatewayPerAz ? azs.length : 1
      const igw = new InternetGateway(this, 'igw', {vpcId: this.vpc.id, tags: {Name: `${prefix}-igw`}})
      const publicRoutes = new RouteTable(this, 'nat-routes', {vpcId: this.vpc.id, tags: {Name: `${prefix}-nat`}})
      new Route(this, 'nat-default-route', {routeTableId: publicRoutes.id, destinationCidrBlock: '0.0.0.0/0', gatewayId: igw.id})
      for (let index = 0; index < natCount; index++) {
        const natSubnet = subnet('nat', index, layout.public[index])
        new RouteTableAssociation(this, `nat-${azs[index]}-routes`, {subnetId: natSubnet.id, routeTableId: publicRoutes.id})
        const eip = new Eip(this, `nat-${azs[index]}-eip`, {domain: 'vpc', tags: {Name: `${prefix}-nat-${azs[index]}`}})
        this.natSubnets.push(natSubnet)
        this.natGateways.push(
          new NatGateway(this, `nat-gateway-${azs[index]}`, {
            allocationId: eip.allocationId,
            subnetId: natSubnet.id,
            tags: {Name: `${prefix}-nat-${azs[index]}`},
            dependsOn: [igw],
          }),
        )
      }
    }

    this.appRouteTables = azs.map((az, index) => {
      const table = new RouteTable(this, `app-${az}-routes`, {vpcId: this.vpc.id, tags: {Name: `${prefix}-app-${az}`}})
      new RouteTableAssociation(this, `app-${az}-association`, {subnetId: this.appSubnets[index].id, routeTableId: table.id})
      const nat = this.natGateways[index] ?? this.natGateways[0]
      if (nat) new Route(this, `app-${az}-default-route`, {routeTableId: table.id, destinationCidrBlock: '0.0.0.0/0', natGatewayId: nat.id})
      return table
    })
    // Data subnets share one table with only the local route (and the S3 gateway endpoint).
    this.dataRouteTable = new RouteTable(this, 'data-routes', {vpcId: this.vpc.id, tags: {Name: `${prefix}-data`}})
    this.dataSubnets.forEach((dataSubnet, index) =>
      new RouteTableAssociation(this, `data-${azs[index]}-association`, {subnetId: dataSubnet.id, routeTableId: this.dataRouteTable.id}),
    )
  }
}
