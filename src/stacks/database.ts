import {layoutSubnets} from '../estate/cidr.js'
import {Construct, DbInstance, DbParameterGroup, DbSubnetGroup, SecurityGroup} from './cdktf.js'
import type {StackContext} from './context.js'
import type {LogGroups} from './monitoring.js'
import type {Network} from './network.js'

export const POSTGRES_PORT = 5432
export const POSTGRES_MAJOR = '16'

export interface DatabaseProps {
  network: Network
  keyArn: string
  logGroups: LogGroups
  /** Security groups allowed to connect: the EKS nodes and the bastion. */
  clientSecurityGroupIds: string[]
}

/** PostgreSQL in the isolated data subnets: encrypted, TLS only, password kept by Secrets Manager. */
export class Database extends Construct {
  readonly instance: DbInstance
  readonly securityGroup: SecurityGroup

  constructor(scope: Construct, id: string, ctx: StackContext, props: DatabaseProps) {
    super(scope, id)
    const {prefix, env} = ctx
    const sizing = ctx.sizing.database
    const identifier = `${prefix}-postgres`
    const subnetGroup = new DbSubnetGroup(this, 'subnets', {
      name: `${prefix}-data`,
      subnetIds: props.network.dataSubnets.map((subnet) => subnet.id),
    })
    this.securityGroup = new SecurityGroup(this, 'sg', {
      name: `${prefix}-postgres`,
      description: 'PostgreSQL from the EKS nodes and the bastion only',
      vpcId: props.network.vpc.id,
      ingress: props.clientSecurityGroupIds.length
        ? [{description: 'PostgreSQL from nodes and bastion', protocol: 'tcp', fromPort: POSTGRES_PORT, toPort: POSTGRES_PORT, securityGroups: props.clientSecurityGroupIds}]
        : [],
      egress: [],
      tags: {Name: `${prefix}-postgres`},
    })
    const parameters = new DbParameterGroup(this, 'parameters', {
      name: `${prefix}-postgres${POSTGRES_MAJOR}`,
      family: `postgres${POSTGRES_MAJOR}`,
      parameter: [
        {name: 'rds.force_ssl', value: '1'},
        {name: 'log_connections', value: '1'},
        {name: 'log_disconnections', value: '1'},
      ],
    })
    const logGroups = ['postgresql', 'upgrade'].map((kind) => props.logGroups.group(`rds-${kind}`, `/aws/rds/instance/${identifier}/${kind}`))
    this.instance = new DbInstance(this, 'postgres', {
      identifier,
      engine: 'postgres',
      engineVersion: POSTGRES_MAJOR,
      instanceClass: sizing.instanceClass,
      allocatedStorage: sizing.allocatedStorageGb,
      maxAllocatedStorage: sizing.allocatedStorageGb * 5,
      storageType: 'gp3',
      storageEncrypted: true,
      kmsKeyId: props.keyArn,
      dbName: 'infra',
      username: 'infra_admin',
      manageMasterUserPassword: true,
      masterUserSecretKmsKeyId: props.keyArn,
      iamDatabaseAuthenticationEnabled: true,
      dbSubnetGroupName: subnetGroup.name,
      vpcSecurityGroupIds: [this.securityGroup.id],
      parameterGroupName: parameters.name,
      port: POSTGRES_PORT,
      publiclyAccessible: false,
      multiAz: sizing.multiAz,
      deletionProtection: sizing.deletionProtection,
      backupRetentionPeriod: sizing.backupRetentionDays,
      copyTagsToSnapshot: true,
      autoMinorVersionUpgrade: true,
      enabledCloudwatchLogsExports: ['postgresql', 'upgrade'],
      skipFinalSnapshot: !sizing.deletionProtection,
      finalSnapshotIdentifier: sizing.deletionProtection ? `${identifier}-final` : undefined,
      dependsOn: logGroups,
    })
  }

  /** Data subnet CIDRs, for the bastion's egress rule. */
  static subnetCidrs(ctx: StackContext): string[] {
    return layoutSubnets(ctx.env.vpcCidr, ctx.env.availabilityZones.length).data
  }
}
