import {FLOW_LOG_REQUIRED_FIELDS} from './flow-log-fields.js'
import type {AuditResource} from './resources.js'
import {type AuditContext, type Rule, list, one, parsePolicy, refersTo, truthy} from './rule.js'

const WORLD = ['0.0.0.0/0', '::/0']
const EKS_LOG_TYPES = ['api', 'audit', 'authenticator', 'controllerManager', 'scheduler']
/** Resources that carry a policy document: the four policy resources and a role's inline_policy blocks. */
const IAM_POLICY_TYPES = ['aws_iam_policy', 'aws_iam_role_policy', 'aws_iam_user_policy', 'aws_iam_group_policy', 'aws_iam_role']
const SEARCH_DOMAIN_TYPES = ['aws_opensearch_domain', 'aws_elasticsearch_domain']
/** Endpoint TLS policies with TLS 1.2 as the minimum (the PFS one is the stricter). */
const SEARCH_TLS_POLICIES = ['Policy-Min-TLS-1-2-2019-07', 'Policy-Min-TLS-1-2-PFS-2023-10']

/** Ingress rules of any shape: inline blocks and the separate rule resources. */
function ingressRules(resource: AuditResource): {from: number; to: number; protocol: string; cidrs: string[]; source: string}[] {
  const v = resource.values
  const toRule = (rule: any) => {
    const cidrs = [...list(rule.cidr_blocks), ...list(rule.ipv6_cidr_blocks), ...list(rule.cidr_ipv4), ...list(rule.cidr_ipv6)]
    const prefixLists = [...list(rule.prefix_list_ids), ...list(rule.prefix_list_id)]
    return {
      from: Number(rule.from_port ?? 0),
      to: Number(rule.to_port ?? 65535),
      protocol: String(rule.protocol ?? rule.ip_protocol ?? '-1'),
      cidrs,
      // Said in the finding: where the port is open to.
      source: cidrs.length > 0 ? cidrs.join(', ') : truthy(rule.self) ? 'the group itself' : prefixLists.length > 0 ? `prefix list ${prefixLists.join(', ')}` : 'another security group',
    }
  }
  if (resource.type === 'aws_security_group' || resource.type === 'aws_default_security_group') return list(v.ingress).map(toRule)
  if (resource.type === 'aws_security_group_rule') return v.type === 'ingress' ? [toRule(v)] : []
  return [toRule(v)] // aws_vpc_security_group_ingress_rule
}

/**
 * Every resource of the AWS provider (5.100 schema) that adds ingress to a security group: inline
 * blocks of aws_security_group and aws_default_security_group, aws_security_group_rule (type =
 * "ingress") and aws_vpc_security_group_ingress_rule.
 */
const SG_TYPES = ['aws_security_group', 'aws_default_security_group', 'aws_security_group_rule', 'aws_vpc_security_group_ingress_rule']
/** The separate rule resources, which attach to a group through security_group_id. */
const SG_RULE_TYPES = ['aws_security_group_rule', 'aws_vpc_security_group_ingress_rule', 'aws_vpc_security_group_egress_rule']

/** aws/ aliases name AWS managed keys ("aliases of the form aws/service-name", AWS KMS developer guide, AWS managed keys). */
const isAwsManagedKey = (key: unknown): boolean => typeof key === 'string' && /(^|:)alias\/aws\//.test(key)

/**
 * Resources that launch an instance from the same blocks as aws_instance (root_block_device,
 * ebs_block_device, associate_public_ip_address, metadata_options, key_name; provider 5.100 schema):
 * the older aws_launch_configuration of Auto Scaling and aws_spot_instance_request.
 */
const INSTANCE_TYPES = ['aws_instance', 'aws_launch_configuration', 'aws_spot_instance_request']
/** The VPC resources: aws_default_vpc adopts the region's default VPC, which has a default security group and no flow logs of its own. */
const VPC_TYPES = ['aws_vpc', 'aws_default_vpc']

/** Application load balancers: aws_lb's load_balancer_type defaults to "application"; "network" and "gateway" are not. */
const isApplicationLb = (lb: AuditResource): boolean => (lb.values.load_balancer_type ?? 'application') === 'application'

/**
 * A block device is encrypted when it says so, or names a KMS key. One made from a snapshot takes
 * the snapshot's encryption (Amazon EBS user guide, "Amazon EBS encryption": volumes created from
 * encrypted snapshots are encrypted, from unencrypted ones unencrypted unless encryption by default
 * is on), and the provider refuses `encrypted` next to `snapshot_id` on instance block devices: the
 * configuration cannot show it, so it passes only where the region encrypts by default
 * (aws_ebs_encryption_by_default, the rule's exemption). Stricter than CKV_AWS_8, which passes them.
 */
const encryptedDevice = (device: any): boolean => truthy(device?.encrypted) || Boolean(device?.kms_key_id)

const EBS_SOURCE = "Amazon EBS user guide, 'Amazon EBS encryption' https://docs.aws.amazon.com/ebs/latest/userguide/ebs-encryption.html and 'Enable Amazon EBS encryption by default' https://docs.aws.amazon.com/ebs/latest/userguide/encryption-by-default.html (the exemption: aws_ebs_encryption_by_default)"

/** aws_ebs_encryption_by_default (enabled defaults to true) makes every new EBS volume in the region encrypted. */
const encryptsEbsByDefault = (ctx: AuditContext): boolean => ctx.ofType('aws_ebs_encryption_by_default').some((r) => r.values.enabled === undefined || truthy(r.values.enabled))
/**
 * The database clusters of the AWS provider (5.100 schema) and their instance resources: Aurora and
 * Multi-AZ DB clusters (aws_rds_cluster), DocumentDB and Neptune. Each instance names its cluster
 * in cluster_identifier.
 */
const CLUSTER_INSTANCE_TYPES: Record<string, string> = {
  aws_rds_cluster: 'aws_rds_cluster_instance',
  aws_docdb_cluster: 'aws_docdb_cluster_instance',
  aws_neptune_cluster: 'aws_neptune_cluster_instance',
}
const DB_CLUSTER_TYPES = Object.keys(CLUSTER_INSTANCE_TYPES)
/** Global clusters (Aurora, DocumentDB, Neptune global databases) take storage_encrypted and deletion_protection too. */
const GLOBAL_CLUSTER_TYPES = ['aws_rds_global_cluster', 'aws_docdb_global_cluster', 'aws_neptune_global_cluster']

/** A cluster's instances: by reference, or by the cluster_identifier both write as the same literal. */
function clusterInstances(cluster: AuditResource, ctx: AuditContext): AuditResource[] {
  const type = CLUSTER_INSTANCE_TYPES[cluster.type]
  if (!type) return []
  const name = cluster.values.cluster_identifier
  return ctx.ofType(type).filter((instance) => refersTo(instance.values.cluster_identifier, cluster) || (typeof name === 'string' && !name.includes('${') && instance.values.cluster_identifier === name))
}

/**
 * Why a cluster keeps no instance in a second Availability Zone, or undefined when it does. A
 * Multi-AZ DB cluster (db_cluster_instance_class set) always runs a writer and two readers in three
 * AZs; Aurora, DocumentDB and Neptune fail over only to a reader in another AZ, so they need two
 * instances not pinned to one availability_zone (the cluster's availability_zones says where
 * instances may go, not that any is there).
 */
function singleAzCluster(cluster: AuditResource, ctx: AuditContext): string | undefined {
  if (cluster.type === 'aws_rds_cluster' && cluster.values.db_cluster_instance_class) return undefined
  const instances = clusterInstances(cluster, ctx)
  if (instances.length < 2) return `has ${instances.length === 0 ? 'no instance' : 'one instance'} in this input, so nothing to fail over to in another AZ`
  const zones = new Set(instances.map((instance) => instance.values.availability_zone))
  return zones.size === 1 && typeof [...zones][0] === 'string' ? `has every instance in ${[...zones][0]}` : undefined
}

/**
 * Databases whose encryption at rest is not theirs to set: a global cluster made from
 * source_db_cluster_identifier takes that cluster's (judged on the cluster), and Aurora Serverless v1
 * (engine_mode = "serverless") is encrypted unless storage_encrypted = false (aws_rds_cluster docs,
 * storage_encrypted: "The default is false for provisioned engine_mode and true for serverless").
 */
const inheritsEncryption = (r: AuditResource): boolean =>
  (GLOBAL_CLUSTER_TYPES.includes(r.type) && Boolean(r.values.source_db_cluster_identifier)) ||
  (r.type === 'aws_rds_cluster' && r.values.engine_mode === 'serverless' && r.values.storage_encrypted !== false && r.values.storage_encrypted !== 'false')

const coversPort = (rule: {from: number; to: number; protocol: string}, port: number) =>
  rule.protocol === '-1' || rule.protocol === 'all' || (rule.from <= port && port <= rule.to)

function portRule(id: string, checkov: string, port: number, service: string): Rule {
  return {
    id,
    checkov,
    failsOn: 'presence',
    stricter: `${checkov} fails ${port} open to 0.0.0.0/0 only; this rule fails ${port} open to any source, since shells and ports are reached through Session Manager`,
    source: `Amazon VPC user guide, 'Security group rules' https://docs.aws.amazon.com/vpc/latest/userguide/security-group-rules.html; Session Manager instead of an open ${service} port: https://docs.aws.amazon.com/systems-manager/latest/userguide/session-manager.html`,
    title: `No ingress on ${port} (${service}) from anywhere: access is through Session Manager`,
    severity: 'critical',
    types: SG_TYPES,
    fix: `remove the ingress rule for port ${port}; for a shell use \`infra session bastion --env ENV --reason "..."\` (or \`infra session INSTANCE-ID\`), to reach a port use \`infra tunnel --to HOST:PORT --env ENV --reason "..."\``,
    check: (resource) => {
      const open = ingressRules(resource).find((rule) => coversPort(rule, port))
      return open ? `allows ${service} (port ${port}) in from ${open.source}` : undefined
    },
  }
}

/** Buckets, and the separate resources that configure them. */
function bucketSettings(bucket: AuditResource, ctx: AuditContext, type: string): AuditResource[] {
  const direct = ctx.referencing(bucket, type, 'bucket')
  // Through a settings resource whose id is the bucket's name (the provider's id for these three),
  // as modules chain them to order the calls: terraform-aws-s3-bucket's ownership controls take
  // `bucket = aws_s3_bucket_policy.this[0].id` when it attaches a policy. Looked for only through
  // the types some settings resource of this type names, so other inputs pay nothing for it.
  const vias = BUCKET_NAMED_SETTINGS.filter((via) => ctx.ofType(type).some((settings) => typeof settings.values.bucket === 'string' && settings.values.bucket.includes(`${via}.`)))
  if (vias.length === 0) return direct
  const chained = vias.flatMap((via) => ctx.referencing(bucket, via, 'bucket')).flatMap((via) => ctx.referencing(via, type, 'bucket'))
  return [...direct, ...chained.filter((settings) => !direct.includes(settings))]
}

/** Bucket settings resources whose id is the bucket's name (provider 5.x docs, each one's Import section: "using the bucket"). */
const BUCKET_NAMED_SETTINGS = ['aws_s3_bucket_policy', 'aws_s3_bucket_public_access_block', 'aws_s3_bucket_ownership_controls']

/** Statements of a policy resource, or of a role's inline_policy blocks. */
function iamStatements(resource: AuditResource): any[] {
  const documents = resource.type === 'aws_iam_role' ? list(resource.values.inline_policy).map((inline: any) => inline?.policy) : [resource.values.policy]
  return documents.flatMap((document) => list(parsePolicy(document)?.Statement))
}

const isAllow = (statement: any) => (statement.Effect ?? 'Allow') === 'Allow'

/** Whether value is a reference to one attribute of target: "${aws_vpc.main.main_route_table_id}". */
const refersToAttribute = (value: unknown, target: AuditResource, attribute: string): boolean => typeof value === 'string' && value.endsWith(`.${attribute}}`) && refersTo(value, target)

/**
 * Subnets routed to an internet gateway: through a route resource or an inline route of a table
 * associated with them, or through their VPC's main route table, which serves every subnet with no
 * explicit association (Amazon VPC user guide, "Configure route tables", the main route table:
 * https://docs.aws.amazon.com/vpc/latest/userguide/RouteTables.html). The main table is
 * reached as the VPC's main_route_table_id / default_route_table_id, as aws_default_route_table, or
 * as the table aws_main_route_table_association makes main.
 */
function publicSubnets(ctx: AuditContext): AuditResource[] {
  const gateways = ctx.ofType('aws_internet_gateway')
  const toGateway = (value: unknown) => gateways.some((gateway) => refersTo(value, gateway)) || (typeof value === 'string' && value.startsWith('igw-'))
  const routesOf = (table: AuditResource) => [...list(table.values.route), ...ctx.referencing(table, 'aws_route', 'route_table_id').map((route) => route.values)]
  const isPublic = (table: AuditResource) => routesOf(table).some((route: any) => toGateway(route.gateway_id))
  const tables = ctx.ofType('aws_route_table', 'aws_default_route_table').filter(isPublic)
  const associations = ctx.ofType('aws_route_table_association')
  const publicAssociations = tables.flatMap((table) => ctx.referencing(table, 'aws_route_table_association', 'route_table_id'))
  const mainIsPublic = (vpc: AuditResource) =>
    ctx.ofType('aws_route').some((route) => toGateway(route.values.gateway_id) && ['main_route_table_id', 'default_route_table_id'].some((attribute) => refersToAttribute(route.values.route_table_id, vpc, attribute))) ||
    tables.some((table) => refersToAttribute(table.values.default_route_table_id, vpc, 'default_route_table_id') || refersToAttribute(table.values.default_route_table_id, vpc, 'main_route_table_id')) ||
    ctx.referencing(vpc, 'aws_main_route_table_association', 'vpc_id').some((main) => tables.some((table) => refersTo(main.values.route_table_id, table)))
  const publicMains = ctx.ofType(...VPC_TYPES).filter(mainIsPublic)
  return ctx.ofType('aws_subnet').filter(
    (subnet) =>
      publicAssociations.some((association) => refersTo(association.values.subnet_id, subnet)) ||
      (!associations.some((association) => refersTo(association.values.subnet_id, subnet)) && publicMains.some((vpc) => refersTo(subnet.values.vpc_id, vpc))),
  )
}

export const RULES: Rule[] = [
  // Encryption at rest
  {
    id: 'INFRA_EBS_LAUNCH_TEMPLATE_ENCRYPTED', checkov: 'CKV_AWS_8', severity: 'high', types: ['aws_launch_template'],
    source: EBS_SOURCE,
    title: 'Launch template volumes are encrypted', fix: 'set block_device_mappings.ebs.encrypted = true (with kms_key_id)',
    check: (r, ctx) => (!encryptsEbsByDefault(ctx) && list(r.values.block_device_mappings).some((m: any) => one(m.ebs) && !encryptedDevice(one(m.ebs))) ? 'has an unencrypted EBS volume' : undefined),
  },
  {
    id: 'INFRA_EBS_INSTANCE_ENCRYPTED', checkov: 'CKV_AWS_8', severity: 'high', types: INSTANCE_TYPES,
    stricter: 'CKV_AWS_8 reads aws_instance and aws_launch_configuration; this rule also reads aws_spot_instance_request, which has the same block devices, and does not pass a volume made from a snapshot (encrypted only if the snapshot is, which the configuration cannot show) unless the region encrypts EBS by default',
    source: EBS_SOURCE,
    title: 'Instance volumes are encrypted', fix: 'set root_block_device.encrypted = true and ebs_block_device.encrypted = true (or kms_key_id); for a volume from a snapshot, turn on aws_ebs_encryption_by_default',
    check: (r, ctx) => {
      if (encryptsEbsByDefault(ctx)) return undefined
      if (list(r.values.root_block_device).length === 0) return 'sets no root_block_device, so its root volume is encrypted only if the account encrypts EBS by default'
      const plain = [...list(r.values.root_block_device), ...list(r.values.ebs_block_device)].filter((d: any) => !encryptedDevice(d))
      return plain.length ? `has ${plain.length} volume${plain.length > 1 ? 's' : ''} without encrypted = true${plain.some((d: any) => d?.snapshot_id) ? ' (one from a snapshot, whose encryption the configuration cannot show)' : ''}` : undefined
    },
  },
  {
    id: 'INFRA_EBS_VOLUME_ENCRYPTED', checkov: 'CKV_AWS_3', severity: 'high', types: ['aws_ebs_volume'],
    source: EBS_SOURCE,
    title: 'EBS volumes are encrypted', fix: 'set encrypted = true and kms_key_id',
    check: (r, ctx) => (truthy(r.values.encrypted) || encryptsEbsByDefault(ctx) ? undefined : 'is not encrypted'),
  },
  {
    // Aurora, DocumentDB and Neptune clusters and their global clusters take storage_encrypted (false unless set; provider 5.100 schema); their instances only report it.
    id: 'INFRA_RDS_ENCRYPTED', checkov: 'CKV_AWS_16', severity: 'high', types: ['aws_db_instance', ...DB_CLUSTER_TYPES, ...GLOBAL_CLUSTER_TYPES],
    stricter: 'CKV_AWS_16 reads aws_db_instance only; this rule also reads Aurora clusters (as CKV_AWS_96 does), DocumentDB and Neptune clusters, and global clusters not created from an existing cluster',
    source: 'RDS user guide, \'Encrypting Amazon RDS resources\' https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/Overview.Encryption.html; Aurora user guide, same title https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/Overview.Encryption.html; DocumentDB \'Encrypting Amazon DocumentDB data at rest\' https://docs.aws.amazon.com/documentdb/latest/developerguide/encryption-at-rest.html; Neptune \'Encrypting Neptune resources at rest\' https://docs.aws.amazon.com/neptune/latest/userguide/encrypt.html',
    title: 'Databases are encrypted at rest', fix: 'set storage_encrypted = true and kms_key_id (kms_key_arn on Neptune)',
    check: (r) => (truthy(r.values.storage_encrypted) || inheritsEncryption(r) ? undefined : 'stores data unencrypted'),
  },
  {
    id: 'INFRA_EKS_SECRETS_ENCRYPTED', checkov: 'CKV_AWS_58', severity: 'high', types: ['aws_eks_cluster'],
    source: 'Amazon EKS user guide, \'Encrypt Kubernetes secrets with KMS on existing clusters\' https://docs.aws.amazon.com/eks/latest/userguide/enable-kms.html',
    title: 'EKS secrets are encrypted with KMS', fix: 'add encryption_config { resources = ["secrets"], provider { key_arn } }',
    check: (r) => (list(r.values.encryption_config).some((c: any) => list(c.resources).includes('secrets') && list(c.provider).concat(c.provider ?? []).some((p: any) => p?.key_arn)) ? undefined : 'keeps secrets without envelope encryption'),
  },
  {
    id: 'INFRA_S3_ENCRYPTED', checkov: 'CKV_AWS_145', severity: 'high', types: ['aws_s3_bucket'],
    source: 'Amazon S3 user guide, \'Using server-side encryption with AWS KMS keys (SSE-KMS)\' https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingKMSEncryption.html and \'Using dual-layer server-side encryption (DSSE-KMS)\' https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingDSSEncryption.html',
    title: 'S3 buckets are encrypted with KMS', fix: 'add aws_s3_bucket_server_side_encryption_configuration with sse_algorithm = "aws:kms"',
    check: (r, ctx) => {
      const inline = list(r.values.server_side_encryption_configuration)
      const configs = [...inline, ...bucketSettings(r, ctx, 'aws_s3_bucket_server_side_encryption_configuration').map((c) => c.values)]
      const kms = configs.some((c: any) => list(c.rule).some((rule: any) => list(rule.apply_server_side_encryption_by_default).concat(rule.apply_server_side_encryption_by_default ?? []).some((d: any) => d?.sse_algorithm === 'aws:kms' || d?.sse_algorithm === 'aws:kms:dsse')))
      return kms ? undefined : 'has no KMS default encryption'
    },
  },
  {
    id: 'INFRA_LOGS_ENCRYPTED', checkov: 'CKV_AWS_158', severity: 'medium', types: ['aws_cloudwatch_log_group'],
    source: 'CloudWatch Logs user guide, \'Encrypt log data in CloudWatch Logs using AWS Key Management Service\' https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html',
    title: 'Log groups are encrypted with KMS', fix: 'set kms_key_id to the environment key',
    check: (r) => (r.values.kms_key_id ? undefined : 'is not encrypted with a customer key'),
  },
  {
    id: 'INFRA_SNS_ENCRYPTED', checkov: 'CKV_AWS_26', severity: 'medium', types: ['aws_sns_topic'],
    source: 'Amazon SNS developer guide, \'Securing Amazon SNS data with server-side encryption\' https://docs.aws.amazon.com/sns/latest/dg/sns-server-side-encryption.html',
    title: 'SNS topics are encrypted', fix: 'set kms_master_key_id',
    check: (r) => (r.values.kms_master_key_id ? undefined : 'publishes unencrypted'),
  },
  {
    id: 'INFRA_SECRET_CMK', checkov: 'CKV_AWS_149', severity: 'medium', types: ['aws_secretsmanager_secret'],
    title: 'Secrets are encrypted with a customer key', fix: 'set kms_key_id to a customer managed key (not alias/aws/secretsmanager)',
    source: 'https://docs.aws.amazon.com/secretsmanager/latest/userguide/security-encryption.html (aws/secretsmanager is the AWS managed key)',
    stricter: 'CKV_AWS_149 passes any kms_key_id; this rule also refuses alias/aws/secretsmanager, which is the AWS managed key the secret gets without one',
    check: (r) => {
      if (!r.values.kms_key_id) return 'uses the AWS managed key aws/secretsmanager'
      if (isAwsManagedKey(r.values.kms_key_id)) return `names the AWS managed key ${r.values.kms_key_id}`
      // A replica without kms_key_id is encrypted with aws/secretsmanager of its region (aws_secretsmanager_secret docs, replica.kms_key_id).
      const replica = list(r.values.replica).find((copy: any) => !copy?.kms_key_id || isAwsManagedKey(copy.kms_key_id))
      return replica ? `replicates to ${replica.region ?? 'another region'} under the AWS managed key` : undefined
    },
  },
  {
    id: 'INFRA_CLOUDTRAIL_ENCRYPTED', checkov: 'CKV_AWS_35', severity: 'high', types: ['aws_cloudtrail'],
    source: 'CloudTrail user guide, \'Encrypting CloudTrail log files, digest files, and event data stores with AWS KMS keys (SSE-KMS)\' https://docs.aws.amazon.com/awscloudtrail/latest/userguide/encrypting-cloudtrail-log-files-with-aws-kms.html',
    title: 'CloudTrail logs are encrypted with KMS', fix: 'set kms_key_id',
    check: (r) => (r.values.kms_key_id ? undefined : 'writes logs without KMS'),
  },
  {
    id: 'INFRA_KMS_ROTATION', checkov: 'CKV_AWS_7', severity: 'medium', types: ['aws_kms_key'],
    source: 'AWS KMS developer guide, \'Rotate AWS KMS keys\' https://docs.aws.amazon.com/kms/latest/developerguide/rotate-keys.html (automatic rotation is for symmetric encryption keys only: the exemption for other key specs)',
    title: 'KMS keys rotate', fix: 'set enable_key_rotation = true',
    check: (r) => (r.values.customer_master_key_spec && r.values.customer_master_key_spec !== 'SYMMETRIC_DEFAULT') || truthy(r.values.enable_key_rotation) ? undefined : 'does not rotate',
  },
  {
    // Instances write password, clusters master_password (DocumentDB too); Neptune has no master password. A DocumentDB elastic cluster
    // takes admin_user_password as the password itself unless auth_type = "SECRET_ARN" makes it a Secrets Manager ARN.
    id: 'INFRA_RDS_PASSWORD_MANAGED', severity: 'high', types: ['aws_db_instance', 'aws_rds_cluster', 'aws_docdb_cluster', 'aws_docdbelastic_cluster'],
    source: 'RDS user guide, \'Password management with Amazon RDS and AWS Secrets Manager\' https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/rds-secrets-manager.html (Aurora: https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/rds-secrets-manager.html; DocumentDB: ManageMasterUserPassword of CreateDBCluster https://docs.aws.amazon.com/documentdb/latest/developerguide/API_CreateDBCluster.html); a password in configuration is in state: Terraform, \'Sensitive data in state\' https://developer.hashicorp.com/terraform/language/state/sensitive-data',
    title: 'Database master passwords live in Secrets Manager, not in configuration or state',
    fix: 'set manage_master_user_password = true and remove password',
    check: (r) => {
      if (r.type === 'aws_docdbelastic_cluster') return r.values.auth_type === 'SECRET_ARN' ? undefined : 'has auth_type PLAIN_TEXT, so its admin password is in configuration and in the state file'
      if (r.values.password ?? r.values.master_password) return 'has its master password in configuration, so also in the state file'
      // Replicas and restores take the source's credentials.
      if (truthy(r.values.manage_master_user_password) || r.values.replicate_source_db || r.values.replication_source_identifier || r.values.snapshot_identifier) return undefined
      return 'does not set manage_master_user_password = true, so its master password is not kept in Secrets Manager'
    },
  },

  // Nothing public
  {
    id: 'INFRA_INSTANCE_NO_PUBLIC_IP', checkov: 'CKV_AWS_88', severity: 'high', types: INSTANCE_TYPES,
    stricter: 'CKV_AWS_88 reads aws_instance and aws_launch_template; this rule also reads aws_launch_configuration and aws_spot_instance_request, which take the same associate_public_ip_address',
    source: 'Amazon EC2 user guide, \'Public IPv4 addresses\' https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/using-instance-addressing.html#concepts-public-addresses',
    title: 'Instances have no public IP', fix: 'set associate_public_ip_address = false and launch in a private subnet',
    check: (r) => (truthy(r.values.associate_public_ip_address) ? 'gets a public IP' : undefined),
  },
  {
    id: 'INFRA_LAUNCH_TEMPLATE_NO_PUBLIC_IP', checkov: 'CKV_AWS_88', severity: 'high', types: ['aws_launch_template'],
    source: 'Amazon EC2 user guide, \'Public IPv4 addresses\' https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/using-instance-addressing.html#concepts-public-addresses; launch template network interfaces: https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_LaunchTemplateInstanceNetworkInterfaceSpecificationRequest.html',
    title: 'Launch templates give no public IP', fix: 'set network_interfaces.associate_public_ip_address = false',
    check: (r) => (list(r.values.network_interfaces).some((ni: any) => truthy(ni.associate_public_ip_address)) ? 'gives instances a public IP' : undefined),
  },
  {
    id: 'INFRA_SUBNET_NO_PUBLIC_IP', checkov: 'CKV_AWS_130', severity: 'high', types: ['aws_subnet'],
    source: 'Amazon EC2 API reference, \'ModifySubnetAttribute\', MapPublicIpOnLaunch (network interfaces of instances launched in the subnet get a public IPv4 address) https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_ModifySubnetAttribute.html',
    title: 'Subnets do not map public IPs', fix: 'set map_public_ip_on_launch = false',
    check: (r) => (truthy(r.values.map_public_ip_on_launch) ? 'maps a public IP to everything launched in it' : undefined),
  },
  {
    id: 'INFRA_PUBLIC_SUBNET_NAT_ONLY', severity: 'high', types: ['aws_subnet'],
    source: 'Amazon VPC user guide, \'Subnets for your VPC\', subnet types (a public subnet routes to an internet gateway) https://docs.aws.amazon.com/vpc/latest/userguide/configure-subnets.html#subnet-types, and \'NAT gateways\' (a public NAT gateway is created in a public subnet) https://docs.aws.amazon.com/vpc/latest/userguide/vpc-nat-gateway.html',
    title: 'Subnets routed to an internet gateway hold NAT gateways only',
    fix: 'move the workload to a private app subnet; only NAT gateways belong in public subnets',
    check: (r, ctx) => {
      if (!publicSubnets(ctx).includes(r)) return undefined
      const tenants = [
        ...ctx.ofType('aws_instance').filter((i) => refersTo(i.values.subnet_id, r)),
        ...ctx.ofType('aws_autoscaling_group').filter((g) => refersTo(g.values.vpc_zone_identifier, r)),
        ...ctx.ofType('aws_db_subnet_group', 'aws_elasticache_subnet_group').filter((g) => refersTo(g.values.subnet_ids, r)),
        ...ctx.ofType('aws_eks_node_group', 'aws_vpc_endpoint', 'aws_lambda_function').filter((x) => refersTo(x.values.subnet_ids ?? x.values.vpc_config?.[0]?.subnet_ids, r)),
        ...ctx.ofType('aws_eks_cluster').filter((c) => refersTo(list(c.values.vpc_config)[0]?.subnet_ids, r)),
        ...ctx.ofType('aws_network_interface').filter((n) => refersTo(n.values.subnet_id, r)),
        ...ctx.ofType('aws_lb', 'aws_alb').filter((lb) => refersTo(lb.values.subnets, r) && !truthy(lb.values.internal)),
      ]
      return tenants.length ? `is public and holds ${tenants.map((t) => t.address).join(', ')}` : undefined
    },
  },
  {
    id: 'INFRA_INSTANCE_IMDSV2', checkov: 'CKV_AWS_79', severity: 'high', types: [...INSTANCE_TYPES, 'aws_launch_template'],
    stricter: 'CKV_AWS_79 reads aws_instance and aws_launch_template; this rule also reads aws_launch_configuration and aws_spot_instance_request, which take the same metadata_options',
    source: 'Amazon EC2 user guide, \'Configure the instance metadata options\' https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/configuring-instance-metadata-options.html (HttpTokens required; HttpEndpoint disabled turns the service off: the exemption)',
    title: 'Instance metadata requires IMDSv2 tokens', fix: 'set metadata_options { http_tokens = "required" }',
    check: (r) => {
      const options = list(r.values.metadata_options)[0] ?? r.values.metadata_options
      return options?.http_tokens === 'required' || options?.http_endpoint === 'disabled' ? undefined : 'allows IMDSv1'
    },
  },
  {
    id: 'INFRA_SG_NO_WORLD_INGRESS', failsOn: 'presence', checkov: 'CKV_AWS_260', severity: 'critical', types: SG_TYPES,
    source: 'Amazon VPC user guide, \'Security group rules\' https://docs.aws.amazon.com/vpc/latest/userguide/security-group-rules.html (0.0.0.0/0 and ::/0 are every IPv4 and IPv6 address)',
    title: 'No security group ingress from 0.0.0.0/0 or ::/0', fix: 'allow only the VPC CIDR or other security groups',
    check: (r) => {
      const open = ingressRules(r).find((rule) => rule.cidrs.some((cidr) => WORLD.includes(cidr)))
      return open ? `allows ${open.protocol === '-1' ? 'all traffic' : `ports ${open.from}-${open.to}`} in from the internet` : undefined
    },
  },
  portRule('INFRA_SG_NO_SSH', 'CKV_AWS_24', 22, 'SSH'),
  portRule('INFRA_SG_NO_RDP', 'CKV_AWS_25', 3389, 'RDP'),
  {
    id: 'INFRA_DEFAULT_SG_CLOSED', checkov: 'CKV2_AWS_12', severity: 'high', types: VPC_TYPES,
    source: 'Amazon VPC user guide, \'Default security groups for your VPCs\' https://docs.aws.amazon.com/vpc/latest/userguide/default-security-group.html (it cannot be deleted; its default rules allow traffic from itself and all egress)',
    title: "Every VPC's default security group has no rules", fix: 'add aws_default_security_group for the VPC with no ingress and no egress',
    check: (r, ctx) => {
      const defaults = ctx.referencing(r, 'aws_default_security_group', 'vpc_id')
      // Rules added to the default group by separate resources, through the group or the VPC's default_security_group_id.
      const added = ctx.ofType(...SG_RULE_TYPES).filter((rule) => {
        const group = rule.values.security_group_id
        return defaults.some((sg) => refersTo(group, sg)) || (typeof group === 'string' && group.endsWith('.default_security_group_id}') && refersTo(group, r))
      })
      if (added.length > 0) return `has rules added to its default security group by ${added.map((rule) => rule.address).join(', ')}`
      if (defaults.length === 0) return 'leaves the default security group with its allow rules'
      return defaults.some((sg) => list(sg.values.ingress).length > 0 || list(sg.values.egress).length > 0) ? 'has rules in its default security group' : undefined
    },
  },
  {
    // Aurora and Neptune set publicly_accessible per instance (aws_rds_cluster_instance, aws_neptune_cluster_instance), Aurora Limitless per
    // shard group; the cluster resources have no such argument. aws_docdb_cluster_instance only reports it: DocumentDB is reachable from its VPC only.
    id: 'INFRA_RDS_PRIVATE', failsOn: 'presence', checkov: 'CKV_AWS_17', severity: 'critical', types: ['aws_db_instance', 'aws_rds_cluster_instance', 'aws_neptune_cluster_instance', 'aws_rds_shard_group'],
    stricter: 'CKV_AWS_17 reads aws_db_instance and aws_rds_cluster_instance only; this rule also reads Neptune instances and Aurora Limitless shard groups, which can be made public the same way',
    source: 'RDS user guide, \'Working with a DB instance in a VPC\', hiding a DB instance from the internet https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_VPC.WorkingWithRDSInstanceinaVPC.html#USER_VPC.Hiding (Aurora: per DB instance, https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/USER_VPC.WorkingWithRDSInstanceinaVPC.html); Neptune, \'Neptune public endpoints\' (set per instance) https://docs.aws.amazon.com/neptune/latest/userguide/neptune-public-endpoints.html',
    title: 'Databases are not publicly accessible', fix: 'set publicly_accessible = false',
    check: (r) => (truthy(r.values.publicly_accessible) ? 'is reachable from the internet' : undefined),
  },
  {
    id: 'INFRA_EKS_PRIVATE_ENDPOINT', checkov: 'CKV_AWS_39', severity: 'critical', types: ['aws_eks_cluster'],
    source: 'Amazon EKS user guide, \'Control network access to cluster API server endpoint\' https://docs.aws.amazon.com/eks/latest/userguide/cluster-endpoint.html (public access is on by default)',
    title: 'EKS API endpoint is private', fix: 'set vpc_config { endpoint_public_access = false, endpoint_private_access = true }',
    check: (r) => {
      const config = list(r.values.vpc_config)[0] ?? {}
      // The API defaults to public when not said otherwise.
      return config.endpoint_public_access === false || config.endpoint_public_access === 'false' ? undefined : 'exposes the Kubernetes API publicly'
    },
  },
  {
    id: 'INFRA_EKS_NO_NODE_SSH', failsOn: 'presence', checkov: 'CKV_AWS_100', severity: 'high', types: ['aws_eks_node_group'],
    source: 'Amazon EKS API reference, \'RemoteAccessConfig\' https://docs.aws.amazon.com/eks/latest/APIReference/API_RemoteAccessConfig.html; Session Manager instead: https://docs.aws.amazon.com/systems-manager/latest/userguide/session-manager.html',
    title: 'EKS nodes have no SSH access', fix: 'remove remote_access; use Session Manager',
    check: (r) => (list(r.values.remote_access).some((ra: any) => ra?.ec2_ssh_key) ? 'opens SSH to the nodes' : undefined),
  },
  {
    id: 'INFRA_NO_KEY_PAIR', failsOn: 'presence', severity: 'medium', types: [...INSTANCE_TYPES, 'aws_launch_template'],
    source: 'Amazon EC2 user guide, \'Amazon EC2 key pairs and Amazon EC2 instances\' https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/ec2-key-pairs.html; Session Manager needs no key: https://docs.aws.amazon.com/systems-manager/latest/userguide/session-manager.html',
    title: 'Instances carry no SSH key pair', fix: 'remove key_name; access is through Session Manager',
    check: (r) => (r.values.key_name ? `carries key pair ${r.values.key_name}` : undefined),
  },
  {
    id: 'INFRA_S3_PUBLIC_ACCESS_BLOCKED', checkov: 'CKV2_AWS_6', severity: 'high', types: ['aws_s3_bucket'],
    source: 'Amazon S3 user guide, \'Blocking public access to your Amazon S3 storage\' https://docs.aws.amazon.com/AmazonS3/latest/userguide/access-control-block-public-access.html (the four settings; account-level settings apply to every bucket)',
    title: 'S3 buckets block every kind of public access', fix: 'add aws_s3_bucket_public_access_block with all four settings true',
    check: (r, ctx) => {
      // aws_s3_account_public_access_block applies to every bucket of the account (S3 user guide, Blocking public access).
      const blocks = [...bucketSettings(r, ctx, 'aws_s3_bucket_public_access_block'), ...ctx.ofType('aws_s3_account_public_access_block')]
      const complete = blocks.some((b) => ['block_public_acls', 'block_public_policy', 'ignore_public_acls', 'restrict_public_buckets'].every((key) => truthy(b.values[key])))
      return complete ? undefined : blocks.length ? 'has a public access block without all four settings true' : 'has no public access block, so a policy or ACL can make it public'
    },
  },
  {
    id: 'INFRA_S3_TLS_ONLY', severity: 'high', types: ['aws_s3_bucket'],
    source: 'Amazon S3 user guide, \'Security best practices for Amazon S3\', enforce encryption of data in transit (aws:SecureTransport) https://docs.aws.amazon.com/AmazonS3/latest/userguide/security-best-practices.html',
    title: 'S3 bucket policies deny plain HTTP', fix: 'add a Deny statement on s3:* with Condition Bool aws:SecureTransport = false',
    check: (r, ctx) => {
      const policies = [r.values.policy, ...bucketSettings(r, ctx, 'aws_s3_bucket_policy').map((p) => p.values.policy)]
      const denies = policies.flatMap((p) => list(parsePolicy(p)?.Statement)).some(
        (s: any) => s.Effect === 'Deny' && String(s.Condition?.Bool?.['aws:SecureTransport']) === 'false',
      )
      return denies ? undefined : 'has no bucket policy statement denying requests without TLS (aws:SecureTransport = false)'
    },
  },
  {
    id: 'INFRA_S3_VERSIONED', checkov: 'CKV_AWS_21', severity: 'medium', types: ['aws_s3_bucket'],
    source: 'Amazon S3 user guide, \'Retaining multiple versions of objects with S3 Versioning\' https://docs.aws.amazon.com/AmazonS3/latest/userguide/Versioning.html',
    title: 'S3 buckets are versioned (state and audit evidence survive overwrites)', fix: 'add aws_s3_bucket_versioning with status = "Enabled"',
    check: (r, ctx) => {
      const inline = list(r.values.versioning).some((v: any) => truthy(v.enabled))
      const separate = bucketSettings(r, ctx, 'aws_s3_bucket_versioning').some((v) => list(v.values.versioning_configuration).concat(v.values.versioning_configuration ?? []).some((c: any) => c?.status === 'Enabled'))
      return inline || separate ? undefined : 'is not versioned'
    },
  },
  {
    id: 'INFRA_S3_OWNER_ENFORCED', checkov: 'CKV2_AWS_65', severity: 'low', types: ['aws_s3_bucket'],
    source: 'Amazon S3 user guide, \'Controlling ownership of objects and disabling ACLs for your bucket\' https://docs.aws.amazon.com/AmazonS3/latest/userguide/about-object-ownership.html',
    title: 'S3 buckets disable ACLs', fix: 'set object_ownership = "BucketOwnerEnforced" in its aws_s3_bucket_ownership_controls (or remove the resource: new buckets default to it)',
    // A bucket created without ownership controls has ACLs disabled: S3 sets BucketOwnerEnforced on
    // every new bucket since April 2023 (the page above: "By default, Object Ownership is set to the
    // Bucket owner enforced setting"). Only controls that choose another setting turn ACLs back on,
    // as CKV2_AWS_65 reads it too (it judges the aws_s3_bucket_ownership_controls resource).
    check: (r, ctx) => {
      const settings = bucketSettings(r, ctx, 'aws_s3_bucket_ownership_controls').flatMap((o) => list(o.values.rule).concat(o.values.rule ?? []).map((rule: any) => rule?.object_ownership))
      const other = settings.findIndex((setting) => setting !== 'BucketOwnerEnforced')
      return other === -1 ? undefined : `still honours ACLs (object_ownership = ${settings[other] === undefined ? 'unset' : JSON.stringify(settings[other])})`
    },
  },

  // Databases
  {
    // Aurora, DocumentDB and Neptune keep backups per cluster (backup_retention_period, default 1); their instances have none.
    id: 'INFRA_RDS_BACKUPS', checkov: 'CKV_AWS_133', severity: 'medium', types: ['aws_db_instance', ...DB_CLUSTER_TYPES, 'aws_docdbelastic_cluster'],
    title: 'Databases keep at least 7 days of backups', fix: 'set backup_retention_period >= 7',
    source: "RDS user guide, 'Introduction to backups', backup retention period https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_WorkingWithAutomatedBackups.html; Aurora 'Overview of backing up and restoring an Aurora DB cluster' https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/Aurora.Managing.Backups.html; DocumentDB 'Backing up and restoring in Amazon DocumentDB' https://docs.aws.amazon.com/documentdb/latest/developerguide/backup_restore.html; Neptune 'Backing up and restoring an Amazon Neptune DB cluster' https://docs.aws.amazon.com/neptune/latest/userguide/backup-restore.html",
    stricter: 'CKV_AWS_133 passes 1 to 35 days, and an unset value (AWS keeps 1 day), and reads aws_db_instance and aws_rds_cluster only; this rule asks 7 or more, so a mistake found after a weekend can still be undone, of DocumentDB and Neptune clusters too',
    check: (r) => {
      if (r.values.backup_retention_period === undefined || r.values.backup_retention_period === null) {
        // RDS, Aurora, DocumentDB and Neptune keep 1 day when unset (their CreateDBCluster/CreateDBInstance BackupRetentionPeriod default).
        return r.type === 'aws_docdbelastic_cluster' ? 'sets no backup_retention_period, so it keeps the service default rather than the 7 days asked' : 'sets no backup_retention_period, so AWS keeps 1 day of backups'
      }
      const days = Number(r.values.backup_retention_period)
      return days >= 7 ? undefined : `keeps ${days} day${days === 1 ? '' : 's'} of backups`
    },
  },
  {
    id: 'INFRA_RDS_DELETION_PROTECTION', checkov: 'CKV_AWS_293', severity: 'high', types: ['aws_db_instance', ...DB_CLUSTER_TYPES, ...GLOBAL_CLUSTER_TYPES],
    stricter: 'CKV_AWS_293 reads aws_db_instance only; this rule also reads Aurora, DocumentDB and Neptune clusters and global clusters, each deletable without it',
    source: 'RDS user guide, \'Deleting a DB instance\', deletion protection https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_DeleteInstance.html#USER_DeletionProtection; Aurora \'Deletion protection for Aurora clusters\' https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/USER_DeletionProtection.html; DocumentDB \'Deleting an Amazon DocumentDB cluster\', deletion protection https://docs.aws.amazon.com/documentdb/latest/developerguide/db-cluster-delete.html; Neptune DeletionProtection (CreateDBCluster) https://docs.aws.amazon.com/neptune/latest/apiref/API_CreateDBCluster.html',
    title: 'Production databases have deletion protection', fix: 'set deletion_protection = true',
    check: (r, ctx) => (ctx.protected && !truthy(r.values.deletion_protection) ? 'can be deleted in a protected environment' : undefined),
  },
  {
    id: 'INFRA_RDS_MULTI_AZ', checkov: 'CKV_AWS_157', severity: 'medium', types: ['aws_db_instance', ...DB_CLUSTER_TYPES],
    stricter: 'CKV_AWS_157 reads aws_db_instance multi_az only; this rule also asks Aurora, DocumentDB and Neptune clusters for an instance in a second AZ to fail over to',
    source: 'RDS user guide, \'Configuring and managing a Multi-AZ deployment for Amazon RDS\' https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/Concepts.MultiAZ.html and Multi-AZ DB clusters https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/multi-az-db-clusters-concepts.html; Aurora \'High availability for Amazon Aurora\' (replicas in other AZs) https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/Concepts.AuroraHighAvailability.html; DocumentDB \'Resilience in Amazon DocumentDB\' (instances across at least two AZs) https://docs.aws.amazon.com/documentdb/latest/developerguide/security.disaster-recovery-resiliency.html; Neptune \'Fault tolerance for a Neptune DB cluster\' (replicas in two or more AZs) https://docs.aws.amazon.com/neptune/latest/userguide/backup-restore-overview-fault-tolerance.html',
    title: 'Production databases are Multi-AZ', fix: 'set multi_az = true on an instance; give a cluster a second instance (aws_rds_cluster_instance, aws_docdb_cluster_instance, aws_neptune_cluster_instance) not pinned to the same availability_zone',
    check: (r, ctx) => {
      if (!ctx.protected) return undefined
      if (r.type === 'aws_db_instance') return truthy(r.values.multi_az) ? undefined : 'runs in one AZ in a protected environment'
      const single = singleAzCluster(r, ctx)
      return single ? `${single} (protected environment)` : undefined
    },
  },
  {
    // Neptune clusters take iam_database_authentication_enabled too; DocumentDB clusters have no such argument (provider 5.100 schema).
    id: 'INFRA_RDS_IAM_AUTH', checkov: 'CKV_AWS_161', severity: 'medium', types: ['aws_db_instance', 'aws_rds_cluster', 'aws_neptune_cluster'],
    stricter: 'CKV_AWS_161 reads aws_db_instance with engine mysql or postgres only; this rule also asks MariaDB instances, Aurora and Neptune clusters, and instances whose engine is not written',
    source: 'RDS user guide, \'IAM database authentication\' https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/UsingWithRDS.IAMDBAuth.html (Aurora: https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/UsingWithRDS.IAMDBAuth.html); Neptune \'Authenticating your Amazon Neptune database with IAM\' https://docs.aws.amazon.com/neptune/latest/userguide/iam-auth.html and the AWS Config rule neptune-cluster-iam-database-authentication https://docs.aws.amazon.com/config/latest/developerguide/neptune-cluster-iam-database-authentication.html',
    title: 'Databases accept IAM authentication', fix: 'set iam_database_authentication_enabled = true',
    // RDS for Oracle, SQL Server and Db2 and RDS Custom have no IAM database authentication (RDS user guide, IAM database authentication, Region and version availability).
    check: (r) => (truthy(r.values.iam_database_authentication_enabled) || /^(oracle|sqlserver|db2|custom)/.test(String(r.values.engine ?? '')) ? undefined : 'has IAM authentication off'),
  },

  // Audit trail and flow logs
  {
    id: 'INFRA_EKS_CONTROL_PLANE_LOGS', checkov: 'CKV_AWS_37', severity: 'medium', types: ['aws_eks_cluster'],
    source: 'Amazon EKS user guide, \'Send control plane logs to CloudWatch Logs\' (the five log types, all off by default) https://docs.aws.amazon.com/eks/latest/userguide/control-plane-logs.html',
    title: 'EKS control-plane logging is on for every log type', fix: `set enabled_cluster_log_types = ${JSON.stringify(EKS_LOG_TYPES)}`,
    check: (r) => {
      const missing = EKS_LOG_TYPES.filter((type) => !list(r.values.enabled_cluster_log_types).includes(type))
      return missing.length ? `does not log ${missing.join(', ')}` : undefined
    },
  },
  {
    id: 'INFRA_CLOUDTRAIL_MULTI_REGION', checkov: 'CKV_AWS_67', severity: 'high', types: ['aws_cloudtrail'],
    source: 'CloudTrail user guide, \'Working with multi-Region trails\' https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-multi-region-trails.html',
    title: 'CloudTrail covers every region', fix: 'set is_multi_region_trail = true',
    check: (r) => (truthy(r.values.is_multi_region_trail) ? undefined : 'records one region only'),
  },
  {
    id: 'INFRA_CLOUDTRAIL_VALIDATION', checkov: 'CKV_AWS_36', severity: 'high', types: ['aws_cloudtrail'],
    source: 'CloudTrail user guide, \'Validating CloudTrail log file integrity\' https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-log-file-validation-intro.html',
    title: 'CloudTrail log files are validated', fix: 'set enable_log_file_validation = true',
    check: (r) => (truthy(r.values.enable_log_file_validation) ? undefined : 'cannot prove its logs were not altered'),
  },
  {
    id: 'INFRA_VPC_FLOW_LOGS', checkov: 'CKV2_AWS_11', severity: 'high', types: VPC_TYPES,
    source: 'Amazon VPC user guide, \'Logging IP traffic using VPC Flow Logs\' https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs.html',
    title: 'Every VPC has flow logs', fix: 'add aws_flow_log with vpc_id and traffic_type = "ALL"',
    check: (r, ctx) => (ctx.referencing(r, 'aws_flow_log', 'vpc_id').length ? undefined : 'records no flow logs'),
  },
  {
    id: 'INFRA_FLOW_LOGS_ALL_TRAFFIC', severity: 'high', types: ['aws_flow_log'],
    source: 'Amazon EC2 API reference, \'CreateFlowLogs\', TrafficType (ACCEPT, REJECT or ALL) https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateFlowLogs.html',
    title: 'Flow logs capture ALL traffic, accepted and rejected', fix: 'set traffic_type = "ALL"',
    check: (r) => (r.values.traffic_type === 'ALL' ? undefined : `captures only ${r.values.traffic_type ?? 'unset'} traffic`),
  },
  {
    id: 'INFRA_FLOW_LOGS_FORMAT', severity: 'medium', types: ['aws_flow_log'],
    source: 'Amazon VPC user guide, \'Flow log records\' (the default format lacks the version 3 to 5 fields) https://docs.aws.amazon.com/vpc/latest/userguide/flow-log-records.html',
    title: 'Flow logs carry the fields the isolation audit needs', fix: `set log_format to include ${FLOW_LOG_REQUIRED_FIELDS.map((f) => `\${${f}}`).join(' ')}`,
    check: (r) => {
      const format = String(r.values.log_format ?? '')
      const missing = FLOW_LOG_REQUIRED_FIELDS.filter((field) => !format.includes(`{${field}}`))
      return missing.length ? `lacks ${missing.join(', ')}${format ? '' : ' (default format)'}` : undefined
    },
  },
  {
    id: 'INFRA_LOG_RETENTION', checkov: 'CKV_AWS_66', severity: 'low', types: ['aws_cloudwatch_log_group'],
    source: 'CloudWatch Logs user guide, \'Change log data retention in CloudWatch Logs\' (by default logs are kept indefinitely) https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/Working-with-log-groups-and-streams.html#SettingLogRetention',
    stricter: 'CKV_AWS_66 passes any retention; in a protected environment this rule asks 365 days (as CKV_AWS_338)',
    title: 'Log groups have a retention period', fix: 'set retention_in_days (90 or more; 365 in production)',
    check: (r, ctx) => {
      const days = Number(r.values.retention_in_days ?? 0)
      if (days === 0) return 'sets no retention_in_days, so it keeps logs forever at growing cost'
      return ctx.protected && days < 365 ? `keeps ${days} days in a protected environment (CKV_AWS_338 asks 365)` : undefined
    },
  },

  // Identity
  {
    // CKV_AWS_63 ("no IAM policy document allows \"*\" as a statement's actions"), whatever the resource: "*" on one named resource is full control of it.
    id: 'INFRA_IAM_NO_ADMIN_WILDCARD', failsOn: 'presence', checkov: 'CKV_AWS_63', severity: 'high', types: IAM_POLICY_TYPES,
    title: 'IAM policies do not allow "*" actions', fix: 'name the actions and resources the role needs',
    stricter: 'CKV_AWS_63 looks for "*" only; this rule also refuses "*:*", and reads aws_iam_role inline_policy blocks',
    source: 'IAM user guide, \'IAM JSON policy elements: Action\' https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html and \'Security best practices in IAM\', apply least-privilege permissions https://docs.aws.amazon.com/IAM/latest/UserGuide/best-practices.html#grant-least-privilege',
    check: (r) => {
      const wild = iamStatements(r).find((s: any) => isAllow(s) && list(s.Action).some((a) => a === '*' || a === '*:*'))
      if (!wild) return undefined
      return list(wild.Resource).includes('*') ? 'allows every action on every resource' : `allows every action on ${list(wild.Resource).join(', ') || 'its resources'}`
    },
  },
  {
    // No checkov check looks for "service:*" (CKV_AWS_63 is "*" alone, CKV_AWS_355 is Resource "*"): ours only.
    id: 'INFRA_IAM_NO_SERVICE_WILDCARD', failsOn: 'presence', severity: 'medium', types: IAM_POLICY_TYPES,
    source: 'IAM user guide, \'IAM JSON policy elements: Action\' (service:* is every action of the service) https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html and \'Security best practices in IAM\', apply least-privilege permissions https://docs.aws.amazon.com/IAM/latest/UserGuide/best-practices.html#grant-least-privilege',
    title: 'IAM policies do not grant every action of a service', fix: 'list the actions instead of "service:*"',
    check: (r) => {
      const wild = iamStatements(r).find((s: any) => isAllow(s) && list(s.Action).some((a) => /^[a-z0-9-]+:\*$/.test(a)))
      if (!wild) return undefined
      const actions = list(wild.Action).filter((a) => /:\*$/.test(a)).join(', ')
      return `allows ${actions} on ${list(wild.Resource).includes('*') ? 'every resource' : list(wild.Resource).join(', ') || 'its resources'}`
    },
  },
  {
    // Every long-lived credential of an IAM user the provider creates: access keys, console passwords, service-specific
    // credentials (CodeCommit, Keyspaces), SSH public keys (CodeCommit) and X.509 signing certificates (provider 5.100 schema).
    id: 'INFRA_IAM_NO_USER_KEYS', checkov: 'CKV_AWS_273', severity: 'high',
    types: ['aws_iam_access_key', 'aws_iam_user_login_profile', 'aws_iam_service_specific_credential', 'aws_iam_user_ssh_key', 'aws_iam_signing_certificate'],
    source: 'IAM user guide, \'Security best practices in IAM\': require human users to use federation with an identity provider to access AWS using temporary credentials https://docs.aws.amazon.com/IAM/latest/UserGuide/best-practices.html#bp-users-federation-idp, and require workloads to use temporary credentials https://docs.aws.amazon.com/IAM/latest/UserGuide/best-practices.html#bp-workloads-use-roles',
    title: 'No long-lived IAM user credentials', fix: 'use roles assumed through SSO or the management account',
    check: (r) => `creates a long-lived credential for ${r.values.user ?? r.values.user_name ?? r.values.username ?? 'a user'}`,
  },
  {
    id: 'INFRA_IAM_ROLE_TRUST_NOT_PUBLIC', failsOn: 'presence', severity: 'critical', types: ['aws_iam_role'],
    source: 'IAM user guide, \'AWS JSON policy elements: Principal\', anonymous (public) principals ("*" and {"AWS": "*"}) https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html#principal-anonymous',
    title: 'Roles are not assumable by anyone', fix: 'trust named accounts or services only',
    check: (r) => {
      const open = list(parsePolicy(r.values.assume_role_policy)?.Statement).find((s: any) => s.Effect === 'Allow' && (s.Principal === '*' || list(s.Principal?.AWS).includes('*')) && !s.Condition)
      return open ? 'trusts every AWS principal' : undefined
    },
  },

  // Edge
  {
    id: 'INFRA_WAF_ON_PUBLIC_LB', checkov: 'CKV2_AWS_28', severity: 'high', types: ['aws_lb', 'aws_alb'],
    title: 'Internet-facing application load balancers are behind WAF', fix: 'add aws_wafv2_web_acl_association for the load balancer',
    // WAF protects Application Load Balancers only among load balancers (AWS WAF developer guide, "Resources that you can protect"); a network or gateway load balancer cannot have a web ACL.
    source: 'https://docs.aws.amazon.com/waf/latest/developerguide/how-aws-waf-works-resources.html',
    check: (r, ctx) => {
      if (truthy(r.values.internal) || !isApplicationLb(r)) return undefined
      const associations = [...ctx.referencing(r, 'aws_wafv2_web_acl_association', 'resource_arn'), ...ctx.referencing(r, 'aws_wafregional_web_acl_association', 'resource_arn')]
      return associations.length ? undefined : 'faces the internet without WAF'
    },
  },
  {
    id: 'INFRA_LB_DROP_INVALID_HEADERS', checkov: 'CKV_AWS_131', severity: 'low', types: ['aws_lb', 'aws_alb'],
    title: 'Application load balancers drop invalid headers', fix: 'set drop_invalid_header_fields = true',
    // drop_invalid_header_fields is an application load balancer attribute (routing.http.drop_invalid_header_fields.enabled, ELB user guide, ALB attributes).
    source: 'https://docs.aws.amazon.com/elasticloadbalancing/latest/application/application-load-balancers.html#load-balancer-attributes',
    check: (r) => (!isApplicationLb(r) || truthy(r.values.drop_invalid_header_fields) ? undefined : 'forwards invalid headers'),
  },

  // OpenSearch (the optional log domain)
  {
    id: 'INFRA_OPENSEARCH_ENCRYPTED', checkov: 'CKV_AWS_247', severity: 'high', types: SEARCH_DOMAIN_TYPES,
    stricter: 'CKV_AWS_247 passes any encrypt_at_rest kms_key_id; this rule also refuses alias/aws/es (any alias/aws/), the AWS managed key, which is no customer key',
    source: 'OpenSearch Service developer guide, \'Encryption of data at rest for Amazon OpenSearch Service\' (an AWS owned key unless a KMS key is given) https://docs.aws.amazon.com/opensearch-service/latest/developerguide/encryption-at-rest.html',
    title: 'OpenSearch domains are encrypted at rest with a customer KMS key', fix: 'set encrypt_at_rest { enabled = true, kms_key_id = the environment key }',
    check: (r) => {
      const rest = one(r.values.encrypt_at_rest)
      if (!truthy(rest?.enabled)) return 'stores indices unencrypted'
      if (!rest.kms_key_id) return 'is encrypted with the AWS-managed key, not the environment key'
      // alias/aws/es is the AWS managed key of the service, as any alias/aws/ (AWS KMS developer guide, AWS managed keys).
      return isAwsManagedKey(rest.kms_key_id) ? `names the AWS managed key ${rest.kms_key_id}, not the environment key` : undefined
    },
  },
  {
    id: 'INFRA_OPENSEARCH_NODE_TO_NODE', checkov: 'CKV_AWS_6', severity: 'high', types: SEARCH_DOMAIN_TYPES,
    source: 'OpenSearch Service developer guide, \'Node-to-node encryption for Amazon OpenSearch Service\' https://docs.aws.amazon.com/opensearch-service/latest/developerguide/ntn.html',
    title: 'OpenSearch nodes encrypt traffic between them', fix: 'set node_to_node_encryption { enabled = true }',
    check: (r) => (truthy(one(r.values.node_to_node_encryption)?.enabled) ? undefined : 'sends data between nodes in clear text'),
  },
  {
    id: 'INFRA_OPENSEARCH_HTTPS', checkov: 'CKV_AWS_83', severity: 'high', types: SEARCH_DOMAIN_TYPES,
    source: 'OpenSearch Service API reference, \'DomainEndpointOptions\' (EnforceHTTPS, TLSSecurityPolicy values) https://docs.aws.amazon.com/opensearch-service/latest/APIReference/API_DomainEndpointOptions.html',
    title: 'OpenSearch endpoints take HTTPS only, TLS 1.2 or later', fix: `set domain_endpoint_options { enforce_https = true, tls_security_policy = "${SEARCH_TLS_POLICIES.at(-1)}" }`,
    check: (r) => {
      const endpoint = one(r.values.domain_endpoint_options)
      if (!truthy(endpoint?.enforce_https)) return 'accepts plain HTTP'
      return SEARCH_TLS_POLICIES.includes(endpoint.tls_security_policy) ? undefined : `allows TLS below 1.2 (${endpoint.tls_security_policy ?? 'the default policy'})`
    },
  },
  {
    id: 'INFRA_OPENSEARCH_VPC_ONLY', checkov: 'CKV_AWS_137', severity: 'critical', types: SEARCH_DOMAIN_TYPES,
    source: 'OpenSearch Service developer guide, \'Launching your Amazon OpenSearch Service domains within a VPC\' https://docs.aws.amazon.com/opensearch-service/latest/developerguide/vpc.html',
    title: 'OpenSearch domains are reachable only inside a VPC', fix: 'add vpc_options { subnet_ids = private subnets, security_group_ids = [...] }',
    check: (r) => (list(one(r.values.vpc_options)?.subnet_ids).length > 0 ? undefined : 'has a public endpoint'),
  },
]
