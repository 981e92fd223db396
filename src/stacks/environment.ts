import type {EnvironmentSpec, Estate} from '../estate/model.js'
import {hasLayer, openSearchEnabled} from '../estate/model.js'
import {Bastion} from './bastion.js'
import {type Construct, type IamOpenidConnectProvider, TerraformStack} from './cdktf.js'
import {stackContext} from './context.js'
import {Database, POSTGRES_PORT} from './database.js'
import {type DiscoveryKey, Discovery} from './discovery.js'
import {Eks} from './eks.js'
import {Endpoints} from './endpoints.js'
import {LogSearch} from './log-search.js'
import {LogShipperRole} from './log-shipper.js'
import {Alarms, LogGroups, ServiceLogs} from './monitoring.js'
import {Network} from './network.js'
import {PipelineAccess} from './pipeline-access.js'
import {awsProvider} from './provider.js'
import {CrossAccountRoles} from './roles.js'
import {ServiceRole} from './service-role.js'
import {AuditBucket, AuditTrail, EncryptionKey, FlowLogs} from './security.js'
import {useStateBucket} from './state.js'
import {Waf} from './waf.js'

/** One account's private estate: every layer composed from the estate model, in dependency order. */
export class EnvironmentStack extends TerraformStack {
  constructor(scope: Construct, id: string, estate: Estate, env: EnvironmentSpec) {
    super(scope, id)
    const ctx = stackContext(estate, env)
    awsProvider(this, estate, env)
    useStateBucket(this, ctx, 'estate')

    const key = new EncryptionKey(this, 'kms', ctx).key
    const logs = new LogGroups(this, 'logs', ctx, key.arn)
    const auditBucket = new AuditBucket(this, 'audit-bucket', ctx, key.arn)
    const network = new Network(this, 'network', ctx)
    const discovered: Partial<Record<DiscoveryKey, string | string[]>> = {
      vpcId: network.vpc.id,
      egress: env.egress,
      kmsKeyArn: key.arn,
    }
    if (network.natGateways.length > 0) discovered.natEniIds = network.natGateways.map((nat) => nat.networkInterfaceId)

    if (hasLayer(env, 'flow-logs')) {
      const flowLogs = new FlowLogs(this, 'flow-logs', ctx, {vpcId: network.vpc.id, bucket: auditBucket, logGroup: logs.flowLogs})
      discovered.flowLogsS3 = flowLogs.s3Destination
      discovered.flowLogsLogGroup = logs.flowLogs.name
    }
    if (hasLayer(env, 'cloudtrail')) {
      new AuditTrail(this, 'cloudtrail', ctx, {bucket: auditBucket, keyArn: key.arn, logGroup: logs.cloudTrail})
    }
    if (hasLayer(env, 'monitoring')) {
      discovered.alertsTopicArn = new Alarms(this, 'alarms', ctx, {keyId: key.keyId, trailLogGroup: logs.cloudTrail}).topic.arn
    }
    const endpoints = hasLayer(env, 'endpoints') ? new Endpoints(this, 'endpoints', ctx, network) : undefined

    const withDatabase = hasLayer(env, 'database')
    const bastion = hasLayer(env, 'bastion')
      ? new Bastion(this, 'bastion', ctx, {
          network,
          keyArn: key.arn,
          auditBucket,
          sessionLogGroup: logs.sessions,
          s3PrefixListId: endpoints?.s3.prefixListId,
          database: withDatabase ? {port: POSTGRES_PORT, subnetCidrs: Database.subnetCidrs(ctx)} : undefined,
        })
      : undefined
    if (bastion) discovered.bastionAsg = bastion.autoScalingGroup.name

    const roles = hasLayer(env, 'roles') ? new CrossAccountRoles(this, 'roles', ctx) : undefined
    const eks = hasLayer(env, 'eks')
      ? new Eks(this, 'eks', ctx, {
          network,
          keyArn: key.arn,
          logGroups: logs,
          apiClientSecurityGroupIds: bastion ? [bastion.securityGroup.id] : [],
          deployRoleArn: roles?.deployRole.arn,
        })
      : undefined
    if (eks) {
      discovered.eksClusterName = eks.cluster.name
      // The load-balancer tier and the ALB's group exist only in stacks built since the tier was
      // added: `deploy service` requires these two, so it cannot place an ALB in subnets an older
      // environment does not have (the NetworkPolicy would cut it off from the pods).
      discovered.loadBalancerSubnetIds = network.loadBalancerSubnets.map((subnet) => subnet.id)
      discovered.albSecurityGroupId = eks.loadBalancerSecurityGroup.id
    }

    if (withDatabase) {
      const clients = [eks?.nodeSecurityGroup.id, bastion?.securityGroup.id].filter((id): id is string => id !== undefined)
      const database = new Database(this, 'database', ctx, {network, keyArn: key.arn, logGroups: logs, clientSecurityGroupIds: clients})
      discovered.databaseEndpoint = database.instance.endpoint
      discovered.databaseSecretArn = database.instance.masterUserSecret.get(0).secretArn
    }
    if (eks) {
      // The collection service's IRSA role and results bucket, trusted through the cluster's OIDC provider.
      const oidcProvider = eks.node.findChild('oidc') as IamOpenidConnectProvider
      const service = new ServiceRole(this, 'service', ctx, {oidcProvider, keyArn: key.arn, databaseSecretArn: discovered.databaseSecretArn as string | undefined})
      discovered.serviceRoleArn = service.role.arn
      discovered.serviceResultsBucket = service.results.bucket.bucket
      const serviceLogs = new ServiceLogs(this, 'service-logs', ctx, logs)
      discovered.serviceLogGroup = serviceLogs.group.name
      const shipper = new LogShipperRole(this, 'log-shipper', ctx, {oidcProvider, logGroup: serviceLogs.group})
      const search = openSearchEnabled(env)
      if (search) {
        const logSearch = new LogSearch(this, 'log-search', ctx, {
          network,
          keyArn: key.arn,
          logGroups: logs,
          settings: search,
          writerRoleArn: shipper.role.arn,
          adminRoleArn: roles?.deployRole.arn ?? env.roleArn,
        })
        shipper.writeToOpenSearch(logSearch.domain.arn)
        discovered.openSearchEndpoint = logSearch.domain.endpoint
      }
    }
    if (hasLayer(env, 'waf')) discovered.wafWebAclArn = new Waf(this, 'waf', ctx).webAcl.arn
    const branch = estate.delivery?.branches[env.name]
    if (branch && hasLayer(env, 'roles')) new PipelineAccess(this, 'pipeline', ctx, {repository: estate.delivery!.repository, branch})

    new Discovery(this, 'discovery', ctx, discovered)
  }
}
