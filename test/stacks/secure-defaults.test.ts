import {beforeAll, describe, expect, it} from 'vitest'

import {INTERFACE_ENDPOINT_SERVICES} from '../../src/stacks/endpoints.js'
import {FLOW_LOG_FIELDS} from '../../src/stacks/security.js'
import {type SynthesizedEnvironment, estateWith, synth} from '../support/synth.js'

let dev: SynthesizedEnvironment
let prod: SynthesizedEnvironment
beforeAll(() => {
  dev = synth('dev')
  prod = synth('prod')
})

const policyOf = (resource: Record<string, any>, key = 'policy') => JSON.parse(resource[key])

describe('provider and state', () => {
  it('assumes the environment role, only in its own account, in its region', () => {
    const [provider] = dev.estate.provider.aws
    expect(provider.allowed_account_ids).toEqual(['111111111111'])
    expect(provider.assume_role[0].role_arn).toBe('arn:aws:iam::111111111111:role/OrganizationAccountAccessRole')
    expect(provider.assume_role[0].session_name).toMatch(/^infra-.+-provision$/)
    expect(provider.region).toBe('eu-west-1')
    expect(provider.endpoints).toBeUndefined()
  })

  it('keeps state in the environment bucket, encrypted and locked with an S3 lock file', () => {
    const backend = dev.estate.terraform.backend.s3
    expect(backend).toMatchObject({bucket: 'acme-dev-tfstate-111111111111', key: 'infra/dev/estate.tfstate', encrypt: true, use_lockfile: true})
    expect(backend.dynamodb_table).toBeUndefined()
  })

  it('bootstraps a versioned, KMS-encrypted, private, TLS-only state bucket that keeps its own state', () => {
    const r = dev.state.resource
    expect(Object.values(r.aws_s3_bucket)[0]).toMatchObject({bucket: 'acme-dev-tfstate-111111111111', force_destroy: false})
    expect((Object.values(r.aws_s3_bucket_versioning)[0] as any).versioning_configuration.status).toBe('Enabled')
    expect((Object.values(r.aws_s3_bucket_server_side_encryption_configuration)[0] as any).rule[0].apply_server_side_encryption_by_default.sse_algorithm).toBe('aws:kms')
    expect(Object.values(r.aws_s3_bucket_public_access_block)[0]).toMatchObject({block_public_acls: true, block_public_policy: true, ignore_public_acls: true, restrict_public_buckets: true})
    const policy = policyOf(Object.values(r.aws_s3_bucket_policy)[0] as any)
    expect(policy.Statement[0]).toMatchObject({Effect: 'Deny', Condition: {Bool: {'aws:SecureTransport': 'false'}}})
    expect(Object.values(r.aws_kms_key)[0]).toMatchObject({enable_key_rotation: true})
    // Its own state lives in the bucket it creates (the first apply migrates it there).
    expect(dev.state.terraform.backend.s3).toMatchObject({bucket: 'acme-dev-tfstate-111111111111', key: 'infra/dev/dev-state.tfstate', encrypt: true, use_lockfile: true})
    expect(dev.state.terraform.backend.local).toBeUndefined()
  })
})

describe('network', () => {
  it('builds a DNS-enabled VPC with the estate CIDR', () => {
    expect(dev.one('aws_vpc')).toMatchObject({cidr_block: '10.1.0.0/16', enable_dns_support: true, enable_dns_hostnames: true})
    expect(prod.one('aws_vpc').cidr_block).toBe('10.3.0.0/16')
  })

  it('never maps public IPs: app and data subnets in three AZs, NAT subnets only where a NAT is, load-balancer subnets with the cluster', () => {
    const tiers = (env: SynthesizedEnvironment) =>
      env.all('aws_subnet').reduce<Record<string, number>>((count, subnet) => ({...count, [subnet.tags.Tier]: (count[subnet.tags.Tier] ?? 0) + 1}), {})
    for (const env of [dev, prod]) for (const subnet of env.all('aws_subnet')) expect(subnet.map_public_ip_on_launch).toBe(false)
    expect(tiers(dev)).toEqual({app: 3, data: 3, nat: 1, lb: 3})
    expect(tiers(prod)).toEqual({app: 3, data: 3, nat: 3, lb: 3})
    expect(tiers(synth('dev', estateWith((doc) => (doc.environments.dev.omitLayers = ['eks']))))).toEqual({app: 3, data: 3, nat: 1})
  })

  it('keeps the load-balancer subnets for load balancers: tagged for the controller\'s discovery, with only the local route', () => {
    const lb = dev.all('aws_subnet').filter((subnet) => subnet.tags.Tier === 'lb')
    expect(lb.map((subnet) => subnet.cidr_block)).toEqual(['10.1.240.0/23', '10.1.242.0/23', '10.1.244.0/23'])
    for (const subnet of lb) expect(subnet.tags['kubernetes.io/role/internal-elb']).toBe('1')
    // No other tier carries the tag: an Ingress that names no subnets is never placed among the pods.
    for (const subnet of dev.all('aws_subnet').filter((s) => s.tags.Tier !== 'lb')) expect(subnet.tags['kubernetes.io/role/internal-elb']).toBeUndefined()
    const table = dev.all('aws_route_table').find((t) => t.tags.Name === 'acme-dev-lb')!
    expect(table.route ?? []).toEqual([])
    const lbTableRef = Object.entries(dev.estate.resource.aws_route_table).find(([, t]: [string, any]) => t.tags.Name === 'acme-dev-lb')![0]
    expect(dev.all('aws_route').filter((route) => route.route_table_id.includes(lbTableRef))).toEqual([])
    expect(dev.all('aws_route_table_association').filter((a) => a.route_table_id.includes(lbTableRef))).toHaveLength(3)
  })

  it('has one NAT gateway in dev and one per AZ in prod, as the only way out', () => {
    expect(dev.all('aws_nat_gateway')).toHaveLength(1)
    expect(prod.all('aws_nat_gateway')).toHaveLength(3)
    const defaultRoutes = prod.all('aws_route').filter((route) => route.destination_cidr_block === '0.0.0.0/0')
    const viaNat = defaultRoutes.filter((route) => route.nat_gateway_id)
    const viaIgw = defaultRoutes.filter((route) => route.gateway_id)
    expect(viaNat).toHaveLength(3)
    expect(new Set(viaNat.map((route) => route.nat_gateway_id)).size).toBe(3)
    // The only internet-gateway route is the NAT subnets' own.
    expect(viaIgw).toHaveLength(1)
    expect(viaIgw[0].route_table_id).toContain('nat-routes')
  })

  it('gives the data subnets a route table with no route out', () => {
    const dataTable = dev.all('aws_route_table').find((table) => table.tags.Name === 'acme-dev-data')!
    expect(dataTable.route).toBeUndefined()
    expect(dev.all('aws_route').some((route) => String(route.route_table_id).includes('data-routes'))).toBe(false)
  })

  it('strips every rule from the default security group', () => {
    expect(dev.one('aws_default_security_group')).toMatchObject({ingress: [], egress: []})
  })

  it('builds no NAT, no internet gateway and no default route when egress is none', () => {
    const sealed = synth('dev', estateWith((doc) => (doc.environments.dev.egress = 'none')))
    expect(sealed.all('aws_nat_gateway')).toHaveLength(0)
    expect(sealed.all('aws_internet_gateway')).toHaveLength(0)
    expect(sealed.all('aws_eip')).toHaveLength(0)
    expect(sealed.all('aws_route')).toHaveLength(0)
    expect(sealed.all('aws_subnet').filter((subnet) => subnet.tags.Tier === 'nat')).toHaveLength(0)
  })
})

describe('VPC endpoints', () => {
  it('has an S3 gateway on every private route table and private-DNS interface endpoints for each service', () => {
    const endpoints = dev.all('aws_vpc_endpoint')
    const gateway = endpoints.find((endpoint) => endpoint.vpc_endpoint_type === 'Gateway')!
    expect(gateway.service_name).toBe('com.amazonaws.eu-west-1.s3')
    expect(gateway.route_table_ids).toHaveLength(4)
    const interfaces = endpoints.filter((endpoint) => endpoint.vpc_endpoint_type === 'Interface')
    expect(interfaces.map((endpoint) => endpoint.service_name.replace('com.amazonaws.eu-west-1.', '')).sort()).toEqual([...INTERFACE_ENDPOINT_SERVICES].sort())
    for (const endpoint of interfaces) expect(endpoint.private_dns_enabled).toBe(true)
  })

  it('opens the endpoint security group on 443 to the VPC only', () => {
    const group = dev.all('aws_security_group').find((sg) => sg.name === 'acme-dev-endpoints')!
    expect(group.ingress).toEqual([expect.objectContaining({from_port: 443, to_port: 443, protocol: 'tcp', cidr_blocks: ['10.1.0.0/16']})])
    expect(group.egress).toEqual([])
  })
})

describe('security', () => {
  it('rotates the environment KMS key', () => {
    const key = dev.one('aws_kms_key')
    expect(key).toMatchObject({enable_key_rotation: true, deletion_window_in_days: 30})
    expect(policyOf(key).Statement.map((statement: any) => statement.Sid)).toContain('CloudTrailEncrypts')
  })

  it('records a multi-region, validated, KMS-encrypted trail into the TLS-only audit bucket', () => {
    expect(dev.one('aws_cloudtrail')).toMatchObject({is_multi_region_trail: true, enable_log_file_validation: true, include_global_service_events: true})
    expect(dev.one('aws_cloudtrail').kms_key_id).toContain('aws_kms_key')
    const audit = dev.all('aws_s3_bucket_policy').map((policy) => policyOf(policy)).find((policy) => policy.Statement.some((s: any) => s.Sid === 'CloudTrailWrite'))
    expect(audit.Statement[0]).toMatchObject({Sid: 'DenyInsecureTransport', Effect: 'Deny'})
    const versioning = dev.all('aws_s3_bucket_versioning')
    // The audit bucket and the collection service's results bucket.
    expect(versioning).toHaveLength(2)
    for (const bucket of versioning) expect(bucket.versioning_configuration.status).toBe('Enabled')
  })

  it('logs ALL traffic in the full custom format to S3 and to CloudWatch Logs', () => {
    const flowLogs = dev.all('aws_flow_log')
    expect(flowLogs.map((log) => log.log_destination_type).sort()).toEqual(['cloud-watch-logs', 's3'])
    for (const log of flowLogs) {
      expect(log.traffic_type).toBe('ALL')
      // Written escaped for terraform; AWS receives ${field} placeholders.
      const fields = [...log.log_format.matchAll(/\$\$\{([a-z-]+)\}/g)].map((match) => match[1])
      expect(fields).toEqual([...FLOW_LOG_FIELDS])
      expect(fields).toEqual(expect.arrayContaining(['flow-direction', 'traffic-path', 'pkt-srcaddr', 'pkt-dstaddr', 'pkt-dst-aws-service', 'tcp-flags']))
    }
  })

  it('encrypts every log group with KMS and keeps logs longer in prod', () => {
    for (const group of dev.all('aws_cloudwatch_log_group')) {
      expect(group.kms_key_id).toContain('aws_kms_key')
      expect(group.retention_in_days).toBe(90)
    }
    for (const group of prod.all('aws_cloudwatch_log_group')) expect(group.retention_in_days).toBe(365)
  })
})

describe('bastion', () => {
  it('launches with no key pair, no public IP, IMDSv2 only and an encrypted root volume', () => {
    const template = dev.all('aws_launch_template').find((lt) => lt.name === 'acme-dev-bastion')!
    expect(template.key_name).toBeUndefined()
    expect(template.network_interfaces[0].associate_public_ip_address).toBe('false')
    expect(template.metadata_options).toMatchObject({http_tokens: 'required', http_put_response_hop_limit: 1})
    expect(template.block_device_mappings[0].ebs).toMatchObject({encrypted: 'true'})
    expect(template.iam_instance_profile.arn).toContain('aws_iam_instance_profile')
  })

  it('heals itself: an Auto Scaling group of exactly one in the private app subnets', () => {
    const asg = dev.one('aws_autoscaling_group')
    expect(asg).toMatchObject({min_size: 1, max_size: 1, desired_capacity: 1})
    expect(asg.vpc_zone_identifier).toHaveLength(3)
    for (const subnet of asg.vpc_zone_identifier) expect(subnet).toMatch(/aws_subnet\.network_app-/)
  })

  it('has no ingress and egress only to 443 and the database port', () => {
    const group = dev.all('aws_security_group').find((sg) => sg.name === 'acme-dev-bastion')!
    expect(group.ingress).toEqual([])
    expect(group.egress.map((rule: any) => rule.from_port).sort()).toEqual([443, 443, 5432])
    for (const rule of group.egress) expect(rule.cidr_blocks ?? []).not.toContain('0.0.0.0/0')
  })

  it('logs every session to CloudWatch Logs and S3 with KMS, and closes idle sessions', () => {
    const document = dev.one('aws_ssm_document')
    const content = JSON.parse(document.content)
    expect(document.document_type).toBe('Session')
    expect(content.inputs).toMatchObject({s3EncryptionEnabled: true, cloudWatchEncryptionEnabled: true, idleSessionTimeout: '20'})
    expect(content.inputs.kmsKeyId).toContain('aws_kms_key')
    expect(content.inputs.cloudWatchLogGroupName).toContain('aws_cloudwatch_log_group')
  })
})

describe('EKS', () => {
  it('has a private endpoint only, KMS-encrypted secrets and every control-plane log', () => {
    const cluster = dev.one('aws_eks_cluster')
    expect(cluster.vpc_config).toMatchObject({endpoint_private_access: true, endpoint_public_access: false})
    expect(cluster.encryption_config.resources).toEqual(['secrets'])
    expect(cluster.enabled_cluster_log_types.sort()).toEqual(['api', 'audit', 'authenticator', 'controllerManager', 'scheduler'])
  })

  it('runs a managed node group in the private subnets, IMDSv2 only, and trusts IRSA', () => {
    const nodes = dev.one('aws_eks_node_group')
    expect(nodes.subnet_ids).toHaveLength(3)
    expect(nodes.scaling_config).toEqual({min_size: 1, desired_size: 2, max_size: 3})
    expect(prod.one('aws_eks_node_group').scaling_config.min_size).toBe(3)
    const template = dev.all('aws_launch_template').find((lt) => lt.name === 'acme-dev-eks-node')!
    expect(template.metadata_options.http_tokens).toBe('required')
    expect(dev.one('aws_iam_openid_connect_provider').client_id_list).toEqual(['sts.amazonaws.com'])
  })
})

describe('EKS through the bastion (infra tunnel eks)', () => {
  it('accepts the Kubernetes API on 443 from the bastion\'s security group, on the group the cluster carries', () => {
    const group = dev.all('aws_security_group').find((sg) => sg.name === 'acme-dev-eks-nodes')!
    const fromBastion = group.ingress.filter((rule: any) => (rule.security_groups ?? []).some((sg: string) => sg.includes('bastion')))
    expect(fromBastion).toHaveLength(1)
    expect(fromBastion[0]).toMatchObject({protocol: 'tcp', from_port: 443, to_port: 443})
    expect(fromBastion[0].security_groups).toEqual([expect.stringContaining('bastion_sg')])
    expect(fromBastion[0].cidr_blocks ?? []).toEqual([])
    expect(dev.one('aws_eks_cluster').vpc_config.security_group_ids).toEqual([expect.stringContaining('eks_node-sg')])
  })

  it('maps the environment\'s deploy role with an access entry and the cluster admin policy', () => {
    const entry = dev.one('aws_eks_access_entry')
    expect(entry.principal_arn).toMatch(/aws_iam_role\.roles_deploy.*\.arn/)
    expect(entry.type).toBe('STANDARD')
    const association = dev.one('aws_eks_access_policy_association')
    expect(association).toMatchObject({policy_arn: 'arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy', access_scope: {type: 'cluster'}})
    expect(association.principal_arn).toBe(entry.principal_arn)
    expect(association.depends_on).toEqual([expect.stringContaining('aws_eks_access_entry')])
    expect(dev.one('aws_eks_cluster').access_config.authentication_mode).toBe('API')
  })

  it('opens nothing for the bastion and maps no role when those layers are left out', () => {
    const bare = synth('dev', estateWith((doc) => (doc.environments.dev.omitLayers = ['bastion', 'roles'])))
    const group = bare.all('aws_security_group').find((sg) => sg.name === 'acme-dev-eks-nodes')!
    expect(group.ingress.filter((rule: any) => (rule.security_groups ?? []).some((sg: string) => sg.includes('bastion')))).toEqual([])
    expect(bare.all('aws_eks_access_entry')).toHaveLength(0)
  })
})

describe('EKS behind its internal load balancer', () => {
  const nodes = () => dev.all('aws_security_group').find((sg) => sg.name === 'acme-dev-eks-nodes')!
  const alb = () => dev.all('aws_security_group').find((sg) => sg.name === 'acme-dev-eks-alb')!

  it('admits the load balancer\'s group on the pods\' port into the nodes\' group, and no other group or address on it', () => {
    const onServicePort = nodes().ingress.filter((rule: any) => rule.from_port <= 8080 && rule.to_port >= 8080)
    const fromOtherGroups = onServicePort.filter((rule: any) => !rule.self)
    expect(fromOtherGroups).toEqual([expect.objectContaining({protocol: 'tcp', from_port: 8080, to_port: 8080, security_groups: [expect.stringContaining('eks_alb-sg')]})])
    expect(fromOtherGroups[0].cidr_blocks ?? []).toEqual([])
    expect(alb().tags.Name).toBe('acme-dev-eks-alb')
  })

  it('lets the VPC reach the load balancer on its listener ports only, and the load balancer reach only the pods\' port in the app subnets', () => {
    expect(alb().ingress.map((rule: any) => [rule.protocol, rule.from_port, rule.to_port, rule.cidr_blocks])).toEqual([
      ['tcp', 443, 443, ['10.1.0.0/16']],
      ['tcp', 80, 80, ['10.1.0.0/16']],
    ])
    expect(alb().egress.map((rule: any) => [rule.protocol, rule.from_port, rule.to_port, rule.cidr_blocks])).toEqual([['tcp', 8080, 8080, ['10.1.0.0/18', '10.1.64.0/18', '10.1.128.0/18']]])
  })
})

describe('RDS PostgreSQL', () => {
  it('is private, encrypted, with a managed password, in the data subnets', () => {
    const db = dev.one('aws_db_instance')
    expect(db).toMatchObject({engine: 'postgres', publicly_accessible: false, storage_encrypted: true, manage_master_user_password: true, iam_database_authentication_enabled: true})
    expect(db.password).toBeUndefined()
    expect(dev.one('aws_db_subnet_group').subnet_ids.every((id: string) => id.includes('network_data-'))).toBe(true)
  })

  it('is Multi-AZ and deletion-protected with a final snapshot in prod only', () => {
    expect(dev.one('aws_db_instance')).toMatchObject({multi_az: false, deletion_protection: false, skip_final_snapshot: true})
    expect(prod.one('aws_db_instance')).toMatchObject({multi_az: true, deletion_protection: true, skip_final_snapshot: false, backup_retention_period: 35})
  })

  it('accepts PostgreSQL only from the EKS nodes and the bastion', () => {
    const group = dev.all('aws_security_group').find((sg) => sg.name === 'acme-dev-postgres')!
    expect(group.ingress).toHaveLength(1)
    expect(group.ingress[0]).toMatchObject({from_port: 5432, to_port: 5432})
    expect(group.ingress[0].cidr_blocks ?? []).toEqual([])
    expect(group.ingress[0].security_groups.sort()).toEqual([expect.stringContaining('bastion_sg'), expect.stringContaining('eks_node-sg')].sort())
  })

  it('forces TLS', () => {
    expect(dev.one('aws_db_parameter_group').parameter).toContainEqual({name: 'rds.force_ssl', value: '1'})
  })
})

describe('monitoring, WAF, roles, discovery', () => {
  it('alarms on root use, denied calls, IAM and security-group changes to an encrypted topic', () => {
    expect(dev.one('aws_sns_topic').kms_master_key_id).toContain('aws_kms_key')
    const names = dev.all('aws_cloudwatch_metric_alarm').map((alarm) => alarm.alarm_name)
    expect(names).toEqual(expect.arrayContaining(['acme-dev-root-usage', 'acme-dev-unauthorized-calls', 'acme-dev-iam-changes', 'acme-dev-security-group-changes']))
    for (const alarm of dev.all('aws_cloudwatch_metric_alarm')) expect(alarm.alarm_actions[0]).toContain('aws_sns_topic')
  })

  it('has a regional web ACL with AWS managed rules and a rate limit, in snake_case for terraform', () => {
    const acl = dev.one('aws_wafv2_web_acl')
    expect(acl.scope).toBe('REGIONAL')
    expect(acl.rule[0].statement.rate_based_statement).toEqual({limit: 2000, aggregate_key_type: 'IP'})
    expect(acl.rule.slice(1).map((rule: any) => rule.statement.managed_rule_group_statement.vendor_name)).toEqual(['AWS', 'AWS', 'AWS', 'AWS'])
  })

  it('trusts only the management account for the deploy and audit roles', () => {
    const roles = dev.all('aws_iam_role').filter((role) => ['acme-dev-deploy', 'acme-dev-audit'].includes(role.name))
    expect(roles).toHaveLength(2)
    for (const role of roles) expect(policyOf(role, 'assume_role_policy').Statement[0].Principal).toEqual({AWS: 'arn:aws:iam::999999999999:root'})
  })

  it('publishes the discovery parameters under /infra/<env>/', () => {
    const names = dev.all('aws_ssm_parameter').map((parameter) => parameter.name)
    expect(names).toEqual(
      expect.arrayContaining(['/infra/dev/vpc/id', '/infra/dev/bastion/asg-name', '/infra/dev/database/endpoint', '/infra/dev/eks/cluster-name', '/infra/dev/nat/eni-ids', '/infra/dev/flow-logs/s3-destination', '/infra/dev/flow-logs/log-group']),
    )
    expect(dev.all('aws_ssm_parameter').find((p) => p.name === '/infra/dev/nat/eni-ids')!.type).toBe('StringList')
  })

  it('leaves out only the layers the estate names', () => {
    const slim = synth('dev', estateWith((doc) => (doc.environments.dev.omitLayers = ['cloudtrail', 'database'])))
    expect(slim.all('aws_cloudtrail')).toHaveLength(0)
    expect(slim.all('aws_db_instance')).toHaveLength(0)
    expect(slim.all('aws_flow_log')).toHaveLength(2)
    expect(slim.all('aws_eks_cluster')).toHaveLength(1)
    expect(slim.all('aws_ssm_parameter').map((p) => p.name)).not.toContain('/infra/dev/database/endpoint')
  })

  it('points every service at the emulator when an endpoint is set', () => {
    const emulated = synth('dev', estateWith((doc) => (doc.endpoint = 'https://127.0.0.1:4566')))
    const [provider] = emulated.estate.provider.aws
    expect(provider.endpoints[0].ec2).toBe('https://127.0.0.1:4566')
    expect(emulated.estate.terraform.backend.s3.endpoints.s3).toBe('https://127.0.0.1:4566')
  })
})
