import {
  Construct,
  EksAccessEntry,
  EksAccessPolicyAssociation,
  EksCluster,
  EksNodeGroup,
  IamOpenidConnectProvider,
  IamRole,
  IamRolePolicyAttachment,
  LaunchTemplate,
  SecurityGroup,
  Token,
} from './cdktf.js'
import {layoutSubnets} from '../estate/cidr.js'
import {type StackContext, assumeRolePolicy} from './context.js'
import type {LogGroups} from './monitoring.js'
import type {Network} from './network.js'

export const EKS_VERSION = '1.32'

/** The port the collection service's pods listen on: the load balancer's only way into the nodes' group. */
export const SERVICE_TARGET_PORT = 8080
/** The load balancers' listener ports (HTTPS with an ACM certificate, HTTP without one). */
export const LOAD_BALANCER_LISTENER_PORTS = [443, 80]

/** The Name tag of the internal load balancers' security group; the Ingress names it (alb.ingress.kubernetes.io/security-groups matches Name tags). */
export function loadBalancerSecurityGroupName(prefix: string): string {
  return `${prefix}-eks-alb`
}

/**
 * What nodes and control plane need of each other (as terraform-aws-modules/eks opens it): DNS,
 * the API, and ephemeral ports for kubelet, webhooks and pods. 22 and 3389 stay closed even
 * inside the group: nothing in the estate is reached over SSH or RDP.
 */
const NODE_INGRESS: [protocol: string, from: number, to: number, description: string][] = [
  ['tcp', 53, 53, 'CoreDNS (TCP)'],
  ['udp', 53, 53, 'CoreDNS (UDP)'],
  ['tcp', 443, 443, 'Kubernetes API and webhooks'],
  ['tcp', 1025, 3388, 'Kubelet, webhooks and pods (TCP, below RDP)'],
  ['tcp', 3390, 65535, 'Kubelet, webhooks and pods (TCP, above RDP)'],
  ['udp', 1025, 3388, 'Pods (UDP, below RDP)'],
  ['udp', 3390, 65535, 'Pods (UDP, above RDP)'],
]
/** What the deploy role may do in the cluster: everything, as it may in the account. */
export const DEPLOY_ACCESS_POLICY = 'arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy'
export const EKS_LOG_TYPES = ['api', 'audit', 'authenticator', 'controllerManager', 'scheduler']

/** A private EKS cluster: API reachable only inside the VPC, secrets under KMS, every control-plane log on. */
export class Eks extends Construct {
  readonly cluster: EksCluster
  readonly nodeRole: IamRole
  /** On the nodes and the control plane's network interfaces; what may reach the database. */
  readonly nodeSecurityGroup: SecurityGroup
  /** On the internal load balancers the Ingress makes: clients of the VPC in, the pods' port out. */
  readonly loadBalancerSecurityGroup: SecurityGroup

  constructor(
    scope: Construct,
    id: string,
    ctx: StackContext,
    props: {
      network: Network
      keyArn: string
      logGroups: LogGroups
      /** Reach the private API on 443 (the bastion, for `infra tunnel eks`). */
      apiClientSecurityGroupIds?: string[]
      /** Mapped by an access entry (authentication mode API has no aws-auth ConfigMap). */
      deployRoleArn?: string
    },
  ) {
    super(scope, id)
    const {prefix} = ctx
    const clusterName = `${prefix}-eks`
    const clusterRole = new IamRole(this, 'cluster-role', {name: `${prefix}-eks-cluster`, assumeRolePolicy: assumeRolePolicy({Service: 'eks.amazonaws.com'})})
    const clusterPolicy = new IamRolePolicyAttachment(this, 'cluster-policy', {
      role: clusterRole.name,
      policyArn: 'arn:aws:iam::aws:policy/AmazonEKSClusterPolicy',
    })
    // EKS writes to this name; owning it here sets retention and KMS before the cluster exists.
    const logGroup = props.logGroups.group('eks', `/aws/eks/${clusterName}/cluster`)
    this.loadBalancerSecurityGroup = this.loadBalancerGroup(ctx, props.network)
    // Our own group, shared by nodes and control plane, so nothing depends on the one EKS makes.
    this.nodeSecurityGroup = new SecurityGroup(this, 'node-sg', {
      name: `${prefix}-eks-nodes`,
      description: 'EKS nodes and control plane: each other only; out through NAT and endpoints',
      vpcId: props.network.vpc.id,
      ingress: [
        ...NODE_INGRESS.map(([protocol, fromPort, toPort, description]) => ({description, protocol, fromPort, toPort, selfAttribute: true})),
        ...(props.apiClientSecurityGroupIds?.length
          ? [{description: 'Kubernetes API from the bastion (infra tunnel eks)', protocol: 'tcp', fromPort: 443, toPort: 443, securityGroups: props.apiClientSecurityGroupIds}]
          : []),
        // Inline like the rest: the provider's inline rules are the whole set and would remove, on
        // every apply, a rule the AWS Load Balancer Controller added at run time (hashicorp/aws
        // docs, aws_security_group: inline rules and rule resources must not be mixed). So the
        // Ingress tells the controller to leave the nodes' group alone, and the rule is here.
        {description: 'The collection service from its internal load balancers', protocol: 'tcp', fromPort: SERVICE_TARGET_PORT, toPort: SERVICE_TARGET_PORT, securityGroups: [this.loadBalancerSecurityGroup.id]},
      ],
      egress: [{description: 'Out through the NAT gateway and VPC endpoints', protocol: '-1', fromPort: 0, toPort: 0, cidrBlocks: ['0.0.0.0/0']}],
      tags: {Name: `${prefix}-eks-nodes`},
    })
    this.cluster = new EksCluster(this, 'cluster', {
      name: clusterName,
      version: EKS_VERSION,
      roleArn: clusterRole.arn,
      vpcConfig: {
        subnetIds: props.network.appSubnets.map((subnet) => subnet.id),
        securityGroupIds: [this.nodeSecurityGroup.id],
        endpointPrivateAccess: true,
        endpointPublicAccess: false,
      },
      encryptionConfig: {resources: ['secrets'], provider: {keyArn: props.keyArn}},
      enabledClusterLogTypes: EKS_LOG_TYPES,
      accessConfig: {authenticationMode: 'API', bootstrapClusterCreatorAdminPermissions: false},
      dependsOn: [clusterPolicy, logGroup],
      // Fixed when the cluster is created and never read back the same way: do not replace over it.
      lifecycle: {ignoreChanges: ['access_config[0].bootstrap_cluster_creator_admin_permissions']},
    })

    if (props.deployRoleArn) {
      const entry = new EksAccessEntry(this, 'deploy-access', {clusterName: this.cluster.name, principalArn: props.deployRoleArn, type: 'STANDARD'})
      new EksAccessPolicyAssociation(this, 'deploy-admin', {
        clusterName: this.cluster.name,
        principalArn: props.deployRoleArn,
        policyArn: DEPLOY_ACCESS_POLICY,
        accessScope: {type: 'cluster'},
        dependsOn: [entry],
      })
    }

    // IRSA: pods get AWS roles through the cluster's OIDC issuer, never the node's credentials.
    new IamOpenidConnectProvider(this, 'oidc', {
      url: this.cluster.identity.get(0).oidc.get(0).issuer,
      clientIdList: ['sts.amazonaws.com'],
    })

    this.nodeRole = new IamRole(this, 'node-role', {name: `${prefix}-eks-node`, assumeRolePolicy: assumeRolePolicy({Service: 'ec2.amazonaws.com'})})
    const nodePolicies = ['AmazonEKSWorkerNodePolicy', 'AmazonEKS_CNI_Policy', 'AmazonEC2ContainerRegistryReadOnly', 'AmazonSSMManagedInstanceCore'].map(
      (policy) => new IamRolePolicyAttachment(this, `node-${policy}`, {role: this.nodeRole.name, policyArn: `arn:aws:iam::aws:policy/${policy}`}),
    )
    const nodeTemplate = new LaunchTemplate(this, 'node-template', {
      name: `${prefix}-eks-node`,
      // Hop limit 1 keeps pods away from the node's instance credentials.
      metadataOptions: {httpEndpoint: 'enabled', httpTokens: 'required', httpPutResponseHopLimit: 1},
      vpcSecurityGroupIds: [this.nodeSecurityGroup.id],
      blockDeviceMappings: [{deviceName: '/dev/xvda', ebs: {encrypted: 'true', kmsKeyId: props.keyArn, volumeSize: 50, volumeType: 'gp3', deleteOnTermination: 'true'}}],
      updateDefaultVersion: true,
      tagSpecifications: [{resourceType: 'instance', tags: {Name: `${prefix}-eks-node`}}],
    })
    const {min, desired, max} = ctx.sizing.eksNodes
    new EksNodeGroup(this, 'nodes', {
      clusterName: this.cluster.name,
      nodeGroupName: `${prefix}-default`,
      nodeRoleArn: this.nodeRole.arn,
      subnetIds: props.network.appSubnets.map((subnet) => subnet.id),
      instanceTypes: ctx.sizing.eksNodeInstanceTypes,
      scalingConfig: {minSize: min, desiredSize: desired, maxSize: max},
      updateConfig: {maxUnavailable: 1},
      launchTemplate: {id: nodeTemplate.id, version: Token.asString(nodeTemplate.latestVersion)},
      dependsOn: nodePolicies,
      // No SSH to nodes is set at creation (remote_access is create-only); some APIs report a
      // default key there, which must not make terraform replace the whole node group.
      lifecycle: {ignoreChanges: ['remote_access']},
    })
  }

  /**
   * The internal ALB's own group, made here rather than by the controller (which would open the
   * listener to `inbound-cidrs`, by default 0.0.0.0/0): clients inside the VPC (the bastion's
   * tunnels) on the listener ports, and out only to the pods' port in the app subnets, where the
   * VPC CNI gives pods their addresses. No reference to the nodes' group, which refers to this one.
   */
  private loadBalancerGroup(ctx: StackContext, network: Network): SecurityGroup {
    const name = loadBalancerSecurityGroupName(ctx.prefix)
    return new SecurityGroup(this, 'alb-sg', {
      name,
      description: 'Internal load balancers of the cluster: the VPC in on the listener ports, out to the pods only',
      vpcId: network.vpc.id,
      ingress: LOAD_BALANCER_LISTENER_PORTS.map((port) => ({description: `Listener ${port} from the VPC`, protocol: 'tcp', fromPort: port, toPort: port, cidrBlocks: [ctx.env.vpcCidr]})),
      egress: [
        {
          description: 'Requests and health checks to the pods',
          protocol: 'tcp',
          fromPort: SERVICE_TARGET_PORT,
          toPort: SERVICE_TARGET_PORT,
          cidrBlocks: layoutSubnets(ctx.env.vpcCidr, ctx.env.availabilityZones.length).app,
        },
      ],
      tags: {Name: name},
    })
  }
}
