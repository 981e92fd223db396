import {layoutSubnets} from '../estate/cidr.js'
import {hasLayer} from '../estate/model.js'
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

/** A subnet's Name tag, which the Ingress uses to place the load balancer (`alb.ingress.kubernetes.io/subnets` takes IDs or Name tags). */
export function subnetName(prefix: string, tier: 'app' | 'data' | 'nat' | 'lb', az: string): string {
  return `${prefix}-${tier}-${az}`
}

/**
 * The AWS Load Balancer Controller's subnet discovery tag for internal load balancers
 * (aws-load-balancer-controller docs/deploy/subnet_discovery.md: `kubernetes.io/role/internal-elb`
 * set to `1` or empty): an Ingress that names no subnets lands in this tier too, never among the pods.
 */
export const INTERNAL_ELB_TAG = {'kubernetes.io/role/internal-elb': '1'}

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
  /** The cluster's internal load balancers only (with the eks layer): no route out, nothing else in them. */
  readonly loadBalancerSubnets: Subnet[] = []
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

    const subnet = (tier: 'app' | 'data' | 'nat' | 'lb', index: number, cidr: string, extraTags: Record<string, string> = {}) =>
      new Subnet(this, `${tier}-${azs[index]}`, {
        vpcId: this.vpc.id,
        cidrBlock: cidr,
        availabilityZone: azs[index],
        mapPublicIpOnLaunch: false,
        tags: {Name: subnetName(prefix, tier, azs[index]), Tier: tier, ...extraTags},
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

    // The load balancers get subnets of their own, so the pods (which share the app subnets with
    // the nodes) can tell the balancer from any other peer by address: the NetworkPolicy admits
    // and the service trusts X-Forwarded-For from these CIDRs only (docs/service.md, "Behind the
    // load balancer"). An internal ALB needs only the VPC's local route: their table has no other.
    if (hasLayer(env, 'eks')) {
      const lbRoutes = new RouteTable(this, 'lb-routes', {vpcId: this.vpc.id, tags: {Name: `${prefix}-lb`}})
      layout.loadBalancer.forEach((cidr, index) => {
        const lbSubnet = subnet('lb', index, cidr, INTERNAL_ELB_TAG)
        new RouteTableAssociation(this, `lb-${azs[index]}-association`, {subnetId: lbSubnet.id, routeTableId: lbRoutes.id})
        this.loadBalancerSubnets.push(lbSubnet)
      })
    }
  }
}
