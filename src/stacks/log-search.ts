import type {OpenSearchSettings} from '../estate/model.js'
import {openSearchDomainName, openSearchZoneCount} from '../estate/model.js'
import {CloudwatchLogResourcePolicy, Construct, OpensearchDomain, SecurityGroup} from './cdktf.js'
import {type StackContext, policyDocument} from './context.js'
import type {LogGroups} from './monitoring.js'
import type {Network} from './network.js'

/** The newest OpenSearch line AWS offered when this was written; a domain upgrades in place. */
export const OPENSEARCH_ENGINE_VERSION = 'OpenSearch_2.19'
/** TLS 1.2 or later with perfect forward secrecy only (AWS's most restrictive policy for domain endpoints). */
export const OPENSEARCH_TLS_POLICY = 'Policy-Min-TLS-1-2-PFS-2023-10'

export interface LogSearchProps {
  network: Network
  keyArn: string
  logGroups: LogGroups
  settings: OpenSearchSettings
  /** The log shipper's IRSA role: may index (HTTP POST and PUT), nothing else. */
  writerRoleArn: string
  /** OpenSearch's master user under fine-grained access control: the deploy role, else the role infra applies with. */
  adminRoleArn: string
}

/**
 * The optional OpenSearch destination of the service's logs (`logs.opensearch.enabled` in the
 * estate): a domain only inside the VPC, in the isolated data subnets, HTTPS only on a modern TLS
 * policy, encrypted at rest with the environment's key and between nodes, fine-grained access
 * control with IAM principals only (no internal users, no anonymous access) behind a resource
 * policy naming exactly the writer and the admin, its audit and error logs in CloudWatch Logs.
 */
export class LogSearch extends Construct {
  readonly domain: OpensearchDomain
  readonly securityGroup: SecurityGroup

  constructor(scope: Construct, id: string, ctx: StackContext, props: LogSearchProps) {
    super(scope, id)
    const {env, prefix} = ctx
    const domainName = openSearchDomainName(ctx.estate.organization.name, env.name)
    const domainArn = `arn:aws:es:${env.region}:${env.accountId}:domain/${domainName}`
    const zones = openSearchZoneCount(props.settings.instanceCount, env.availabilityZones.length) ?? 1

    this.securityGroup = new SecurityGroup(this, 'sg', {
      name: `${prefix}-logs-search`,
      description: 'OpenSearch log domain: HTTPS from inside the VPC only; it starts no connection',
      vpcId: props.network.vpc.id,
      ingress: [{description: 'HTTPS from the VPC (the log shipper, tunnels through the bastion)', protocol: 'tcp', fromPort: 443, toPort: 443, cidrBlocks: [env.vpcCidr]}],
      egress: [],
      tags: {Name: `${prefix}-logs-search`},
    })

    const audit = props.logGroups.group('opensearch-audit', `/aws/opensearch/${domainName}/audit`)
    const errors = props.logGroups.group('opensearch-errors', `/aws/opensearch/${domainName}/errors`)
    // OpenSearch writes its logs under this policy, and only for this domain of this account.
    const publishing = new CloudwatchLogResourcePolicy(this, 'log-publishing', {
      policyName: `${domainName}-log-publishing`,
      policyDocument: policyDocument([
        {
          Sid: 'OpenSearchLogs',
          Effect: 'Allow',
          Principal: {Service: 'es.amazonaws.com'},
          Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
          Resource: [`${audit.arn}:*`, `${errors.arn}:*`],
          Condition: {StringEquals: {'aws:SourceAccount': env.accountId}, ArnLike: {'aws:SourceArn': domainArn}},
        },
      ]),
    })

    this.domain = new OpensearchDomain(this, 'domain', {
      domainName,
      engineVersion: OPENSEARCH_ENGINE_VERSION,
      clusterConfig: {
        instanceType: props.settings.instanceType,
        instanceCount: props.settings.instanceCount,
        dedicatedMasterEnabled: false,
        zoneAwarenessEnabled: zones > 1,
        ...(zones > 1 ? {zoneAwarenessConfig: {availabilityZoneCount: zones}} : {}),
      },
      ebsOptions: {ebsEnabled: true, volumeType: 'gp3', volumeSize: props.settings.volumeGb},
      vpcOptions: {subnetIds: props.network.dataSubnets.slice(0, zones).map((subnet) => subnet.id), securityGroupIds: [this.securityGroup.id]},
      encryptAtRest: {enabled: true, kmsKeyId: props.keyArn},
      nodeToNodeEncryption: {enabled: true},
      domainEndpointOptions: {enforceHttps: true, tlsSecurityPolicy: OPENSEARCH_TLS_POLICY},
      advancedSecurityOptions: {
        enabled: true,
        anonymousAuthEnabled: false,
        internalUserDatabaseEnabled: false,
        masterUserOptions: {masterUserArn: props.adminRoleArn},
      },
      accessPolicies: policyDocument([
        {Sid: 'ShipperWrites', Effect: 'Allow', Principal: {AWS: props.writerRoleArn}, Action: ['es:ESHttpPost', 'es:ESHttpPut'], Resource: `${domainArn}/*`},
        {Sid: 'Admin', Effect: 'Allow', Principal: {AWS: props.adminRoleArn}, Action: 'es:ESHttp*', Resource: `${domainArn}/*`},
      ]),
      logPublishingOptions: [
        {logType: 'AUDIT_LOGS', cloudwatchLogGroupArn: audit.arn, enabled: true},
        {logType: 'ES_APPLICATION_LOGS', cloudwatchLogGroupArn: errors.arn, enabled: true},
      ],
      tags: {Name: domainName},
      dependsOn: [publishing],
    })
  }
}
