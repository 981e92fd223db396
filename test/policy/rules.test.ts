import {readFileSync} from 'node:fs'

import {describe, expect, it} from 'vitest'

import {runAudit} from '../../src/policy/engine.js'
import {resourcesFromJson} from '../../src/policy/resources.js'
import {RULES} from '../../src/policy/rules.js'
import {RULE_FIXTURES, asPlan} from './fixtures.js'

const findingsOf = (doc: object, ruleId: string, isProtected = false) =>
  runAudit(resourcesFromJson(doc, 'fixture'), {protected: isProtected, rules: RULES.filter((rule) => rule.id === ruleId)}).findings

describe('the rule set', () => {
  it('is counted in the README from the code', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8')
    const counts = [...readme.matchAll(/(\d+) security rules/g)].map((match) => Number(match[1]))
    expect(counts.length).toBeGreaterThan(0)
    expect(counts).toEqual(counts.map(() => RULES.length))
  })

  it('cites AWS documentation for every rule, and names the checkov check it is stricter than', () => {
    for (const rule of RULES) {
      expect(rule.source, rule.id).toMatch(/https:\/\/docs\.aws\.amazon\.com\/\S+/)
      if (rule.stricter) expect(rule.stricter, rule.id).toContain(rule.checkov ?? 'no checkov id')
    }
  })

  it('has at least 40 rules, unique ids, and a fixture for each', () => {
    expect(RULES.length).toBeGreaterThanOrEqual(40)
    expect(new Set(RULES.map((rule) => rule.id)).size).toBe(RULES.length)
    expect(RULE_FIXTURES.map((fixture) => fixture.rule).sort()).toEqual(RULES.map((rule) => rule.id).sort())
  })
})

describe.each(RULE_FIXTURES.map((fixture) => [fixture.rule, fixture] as const))('%s', (id, fixture) => {
  it('passes the good example and fails the bad one, in configuration JSON', () => {
    expect(findingsOf({resource: fixture.pass}, id, fixture.protected)).toEqual([])
    const findings = findingsOf({resource: fixture.fail}, id, fixture.protected)
    expect(findings.length).toBeGreaterThan(0)
    expect(findings[0]).toMatchObject({rule: id, status: 'failed'})
    expect(findings[0].fix.length).toBeGreaterThan(10)
  })

  it('judges the same way in plan JSON', () => {
    expect(findingsOf(asPlan(fixture.pass), id, fixture.protected)).toEqual([])
    expect(findingsOf(asPlan(fixture.fail), id, fixture.protected).length).toBeGreaterThan(0)
  })
})

/**
 * Aurora, DocumentDB and Neptune in the database rules, in configuration JSON and plan JSON alike.
 * Instances find their cluster by reference or by the literal cluster_identifier both write.
 */
describe('database clusters', () => {
  type Doc = Record<string, Record<string, Record<string, unknown>>>
  const judge = (doc: Doc, ruleId: string, isProtected = false) => {
    const config = findingsOf({resource: doc}, ruleId, isProtected).map((finding) => finding.address).sort()
    expect(findingsOf(asPlan(doc), ruleId, isProtected).map((finding) => finding.address).sort()).toEqual(config)
    return config
  }
  const instances = (type: string, cluster: string, zones: (string | undefined)[]) =>
    ({[type]: Object.fromEntries(zones.map((zone, index) => [`i${index}`, {cluster_identifier: cluster, ...(zone ? {availability_zone: zone} : {})}]))})

  it.each([
    ['aws_rds_cluster', 'aws_rds_cluster_instance'],
    ['aws_docdb_cluster', 'aws_docdb_cluster_instance'],
    ['aws_neptune_cluster', 'aws_neptune_cluster_instance'],
  ])('%s is Multi-AZ with two instances not pinned to one AZ (protected only)', (cluster, instance) => {
    const of = (zones: (string | undefined)[]) => ({[cluster]: {c: {cluster_identifier: 'prod-db'}}, ...instances(instance, 'prod-db', zones)})
    expect(judge(of([undefined, undefined]), 'INFRA_RDS_MULTI_AZ', true)).toEqual([])
    expect(judge(of(['eu-west-1a', 'eu-west-1b']), 'INFRA_RDS_MULTI_AZ', true)).toEqual([])
    expect(judge(of(['eu-west-1a', 'eu-west-1a']), 'INFRA_RDS_MULTI_AZ', true)).toEqual([`${cluster}.c`])
    expect(judge(of([undefined]), 'INFRA_RDS_MULTI_AZ', true)).toEqual([`${cluster}.c`])
    expect(judge({[cluster]: {c: {cluster_identifier: 'prod-db'}}}, 'INFRA_RDS_MULTI_AZ', true)).toEqual([`${cluster}.c`])
    // By reference, as synthesized JSON writes it.
    const byReference: Doc = {[cluster]: {c: {cluster_identifier: 'prod-db'}}, [instance]: {a: {cluster_identifier: `\${${cluster}.c.id}`}, b: {cluster_identifier: `\${${cluster}.c.id}`}}}
    expect(judge(byReference, 'INFRA_RDS_MULTI_AZ', true)).toEqual([])
    // Another cluster's instances do not count.
    expect(judge({...of([undefined, undefined]), [cluster]: {c: {cluster_identifier: 'prod-db'}, d: {cluster_identifier: 'other'}}}, 'INFRA_RDS_MULTI_AZ', true)).toEqual([`${cluster}.d`])
    expect(judge({[cluster]: {c: {cluster_identifier: 'dev-db'}}}, 'INFRA_RDS_MULTI_AZ', false)).toEqual([])
  })

  it('a Multi-AZ DB cluster (db_cluster_instance_class) is Multi-AZ without instance resources', () => {
    expect(judge({aws_rds_cluster: {c: {engine: 'postgres', db_cluster_instance_class: 'db.r6gd.xlarge'}}}, 'INFRA_RDS_MULTI_AZ', true)).toEqual([])
  })

  it('encryption: DocumentDB and Neptune clusters and global clusters; a global cluster made from a cluster, and Aurora Serverless v1, are exempt', () => {
    const doc = {
      aws_docdb_cluster: {plain: {}, sealed: {storage_encrypted: true}},
      aws_neptune_cluster: {plain: {}, sealed: {storage_encrypted: true}},
      aws_rds_global_cluster: {fresh: {global_cluster_identifier: 'g'}, sourced: {source_db_cluster_identifier: 'arn:aws:rds:eu-west-1:333333333333:cluster:prod'}},
      aws_docdb_global_cluster: {fresh: {global_cluster_identifier: 'g'}},
      aws_neptune_global_cluster: {fresh: {global_cluster_identifier: 'g'}},
      aws_rds_cluster: {serverless: {engine_mode: 'serverless'}, serverlessOff: {engine_mode: 'serverless', storage_encrypted: false}, provisioned: {engine_mode: 'provisioned'}},
    }
    expect(judge(doc, 'INFRA_RDS_ENCRYPTED')).toEqual([
      'aws_docdb_cluster.plain', 'aws_docdb_global_cluster.fresh', 'aws_neptune_cluster.plain', 'aws_neptune_global_cluster.fresh',
      'aws_rds_cluster.provisioned', 'aws_rds_cluster.serverlessOff', 'aws_rds_global_cluster.fresh',
    ])
  })

  it('backups, deletion protection and IAM auth reach DocumentDB and Neptune clusters', () => {
    expect(judge({aws_docdb_cluster: {a: {}, b: {backup_retention_period: 7}}, aws_neptune_cluster: {a: {backup_retention_period: 3}}, aws_docdbelastic_cluster: {a: {backup_retention_period: 14}}}, 'INFRA_RDS_BACKUPS'))
      .toEqual(['aws_docdb_cluster.a', 'aws_neptune_cluster.a'])
    expect(judge({aws_docdb_cluster: {a: {}}, aws_neptune_cluster: {a: {deletion_protection: true}}, aws_neptune_global_cluster: {g: {}}}, 'INFRA_RDS_DELETION_PROTECTION', true))
      .toEqual(['aws_docdb_cluster.a', 'aws_neptune_global_cluster.g'])
    // Oracle, SQL Server and Db2 have no IAM database authentication: not asked.
    expect(judge({aws_neptune_cluster: {a: {}}, aws_db_instance: {ora: {engine: 'oracle-ee'}, sql: {engine: 'sqlserver-se'}, pg: {engine: 'postgres'}}}, 'INFRA_RDS_IAM_AUTH'))
      .toEqual(['aws_db_instance.pg', 'aws_neptune_cluster.a'])
  })

  it('public access: Neptune instances and Aurora Limitless shard groups', () => {
    expect(judge({aws_neptune_cluster_instance: {open: {publicly_accessible: true}, closed: {}}, aws_rds_shard_group: {open: {publicly_accessible: true}}}, 'INFRA_RDS_PRIVATE'))
      .toEqual(['aws_neptune_cluster_instance.open', 'aws_rds_shard_group.open'])
  })

  it('master passwords: a cluster\'s master_password, DocumentDB\'s too, and an elastic cluster\'s PLAIN_TEXT admin password', () => {
    expect(judge({
      aws_rds_cluster: {pw: {master_password: 'barbut8chars'}, managed: {manage_master_user_password: true}, replica: {replication_source_identifier: 'arn:aws:rds:eu-west-1:333333333333:cluster:src'}},
      aws_docdb_cluster: {pw: {master_password: 'barbut8chars'}, managed: {manage_master_user_password: true}},
      aws_docdbelastic_cluster: {plain: {auth_type: 'PLAIN_TEXT', admin_user_password: 'barbut8chars'}, secret: {auth_type: 'SECRET_ARN', admin_user_password: 'arn:aws:secretsmanager:eu-west-1:333333333333:secret:x'}},
    }, 'INFRA_RDS_PASSWORD_MANAGED')).toEqual(['aws_docdb_cluster.pw', 'aws_docdbelastic_cluster.plain', 'aws_rds_cluster.pw'])
  })
})

/** The main route table serves every subnet with no explicit association (Amazon VPC user guide, route tables). */
describe('INFRA_PUBLIC_SUBNET_NAT_ONLY and the main route table', () => {
  const vpc = {aws_vpc: {v: {cidr_block: '10.0.0.0/16'}}, aws_internet_gateway: {igw: {vpc_id: '${aws_vpc.v.id}'}}}
  const subnets = {aws_subnet: {open: {vpc_id: '${aws_vpc.v.id}'}, kept: {vpc_id: '${aws_vpc.v.id}'}}, aws_instance: {a: {subnet_id: '${aws_subnet.open.id}'}, b: {subnet_id: '${aws_subnet.kept.id}'}}}
  // kept is associated with a private table, so the main table does not serve it.
  const privateTable = {aws_route_table: {private: {vpc_id: '${aws_vpc.v.id}'}}, aws_route_table_association: {kept: {subnet_id: '${aws_subnet.kept.id}', route_table_id: '${aws_route_table.private.id}'}}}
  const judge = (doc: object) => findingsOf({resource: {...vpc, ...subnets, ...privateTable, ...doc}}, 'INFRA_PUBLIC_SUBNET_NAT_ONLY').map((finding) => finding.address)

  it.each([
    ['aws_route on main_route_table_id', {aws_route: {r: {route_table_id: '${aws_vpc.v.main_route_table_id}', destination_cidr_block: '0.0.0.0/0', gateway_id: '${aws_internet_gateway.igw.id}'}}}],
    ['aws_route on default_route_table_id', {aws_route: {r: {route_table_id: '${aws_vpc.v.default_route_table_id}', destination_cidr_block: '0.0.0.0/0', gateway_id: '${aws_internet_gateway.igw.id}'}}}],
    ['aws_default_route_table with an inline route', {aws_default_route_table: {d: {default_route_table_id: '${aws_vpc.v.default_route_table_id}', route: [{cidr_block: '0.0.0.0/0', gateway_id: '${aws_internet_gateway.igw.id}'}]}}}],
    ['aws_main_route_table_association to a public table', {
      aws_route_table: {private: {vpc_id: '${aws_vpc.v.id}'}, public: {vpc_id: '${aws_vpc.v.id}', route: [{cidr_block: '0.0.0.0/0', gateway_id: '${aws_internet_gateway.igw.id}'}]}},
      aws_main_route_table_association: {m: {vpc_id: '${aws_vpc.v.id}', route_table_id: '${aws_route_table.public.id}'}},
    }],
  ])('%s makes the unassociated subnet public, not the associated one', (_how, doc) => {
    expect(judge(doc)).toEqual(['aws_subnet.open'])
  })

  it('a main route table with no route to the gateway leaves both private', () => {
    expect(judge({})).toEqual([])
  })
})

/** Other split resources of the AWS provider (5.100 schema) that set what a rule reads. */
describe('split resources', () => {
  const judge = (doc: Record<string, Record<string, Record<string, unknown>>>, ruleId: string) => {
    const config = findingsOf({resource: doc}, ruleId).map((finding) => finding.address).sort()
    expect(findingsOf(asPlan(doc), ruleId).map((finding) => finding.address).sort()).toEqual(config)
    return config
  }

  it('aws_spot_instance_request is held to the instance rules', () => {
    const spot = {aws_spot_instance_request: {s: {associate_public_ip_address: true, key_name: 'ops', root_block_device: [{encrypted: false}]}}}
    for (const id of ['INFRA_EBS_INSTANCE_ENCRYPTED', 'INFRA_INSTANCE_NO_PUBLIC_IP', 'INFRA_INSTANCE_IMDSV2', 'INFRA_NO_KEY_PAIR']) expect(judge(spot, id), id).toEqual(['aws_spot_instance_request.s'])
  })

  it('a block device made from a snapshot passes only where the region encrypts by default: its encryption is the snapshot\'s, which the configuration cannot show', () => {
    const fromSnapshot = {aws_instance: {i: {root_block_device: [{encrypted: true}], ebs_block_device: [{device_name: '/dev/sdf', snapshot_id: 'snap-0123456789abcdef0'}]}}}
    expect(judge(fromSnapshot, 'INFRA_EBS_INSTANCE_ENCRYPTED')).toEqual(['aws_instance.i'])
    expect(judge({...fromSnapshot, aws_ebs_encryption_by_default: {on: {enabled: true}}}, 'INFRA_EBS_INSTANCE_ENCRYPTED')).toEqual([])
    expect(judge({aws_launch_template: {lt: {block_device_mappings: [{ebs: [{snapshot_id: 'snap-0123456789abcdef0'}]}]}}}, 'INFRA_EBS_LAUNCH_TEMPLATE_ENCRYPTED')).toEqual(['aws_launch_template.lt'])
    expect(judge({aws_launch_template: {lt: {block_device_mappings: [{ebs: [{snapshot_id: 'snap-0123456789abcdef0', kms_key_id: 'arn:aws:kms:eu-west-1:111111111111:key/k'}]}]}}}, 'INFRA_EBS_LAUNCH_TEMPLATE_ENCRYPTED')).toEqual([])
    expect(judge({aws_instance: {i: {root_block_device: [{encrypted: true}], ebs_block_device: [{device_name: '/dev/sdf', volume_size: 10}]}}}, 'INFRA_EBS_INSTANCE_ENCRYPTED')).toEqual(['aws_instance.i'])
  })

  it('aws_default_vpc needs flow logs and a closed default security group like any VPC', () => {
    expect(judge({aws_default_vpc: {d: {}}}, 'INFRA_VPC_FLOW_LOGS')).toEqual(['aws_default_vpc.d'])
    expect(judge({aws_default_vpc: {d: {}}}, 'INFRA_DEFAULT_SG_CLOSED')).toEqual(['aws_default_vpc.d'])
    const closed = {aws_default_vpc: {d: {}}, aws_default_security_group: {sg: {vpc_id: '${aws_default_vpc.d.id}'}}, aws_flow_log: {f: {vpc_id: '${aws_default_vpc.d.id}', traffic_type: 'ALL'}}}
    expect(judge(closed, 'INFRA_VPC_FLOW_LOGS')).toEqual([])
    expect(judge(closed, 'INFRA_DEFAULT_SG_CLOSED')).toEqual([])
  })

  it('a secret replica without a customer key is under aws/secretsmanager of its region', () => {
    const key = 'arn:aws:kms:eu-west-1:333333333333:key/3f1c2d4e-0000-4000-8000-000000000001'
    expect(judge({aws_secretsmanager_secret: {
      bare: {kms_key_id: key, replica: [{region: 'eu-central-1'}]},
      managed: {kms_key_id: key, replica: [{region: 'eu-central-1', kms_key_id: 'alias/aws/secretsmanager'}]},
      own: {kms_key_id: key, replica: [{region: 'eu-central-1', kms_key_id: 'alias/acme-secrets'}]},
    }}, 'INFRA_SECRET_CMK')).toEqual(['aws_secretsmanager_secret.bare', 'aws_secretsmanager_secret.managed'])
  })

  it('every long-lived IAM user credential the provider creates', () => {
    expect(judge({
      aws_iam_service_specific_credential: {c: {service_name: 'codecommit.amazonaws.com', user_name: 'ci'}},
      aws_iam_user_ssh_key: {k: {username: 'ci', encoding: 'SSH', public_key: 'ssh-ed25519 AAAA'}},
      aws_iam_signing_certificate: {s: {user_name: 'ci', certificate_body: '-----BEGIN CERTIFICATE-----'}},
    }, 'INFRA_IAM_NO_USER_KEYS')).toEqual(['aws_iam_service_specific_credential.c', 'aws_iam_signing_certificate.s', 'aws_iam_user_ssh_key.k'])
  })

  it('an OpenSearch domain naming alias/aws/es is under the AWS managed key, not a customer key', () => {
    const domain = (kms: string) => ({domain_name: 'logs', encrypt_at_rest: {enabled: true, kms_key_id: kms}})
    expect(judge({aws_opensearch_domain: {managed: domain('alias/aws/es'), own: domain('arn:aws:kms:eu-west-1:333333333333:key/3f1c2d4e-0000-4000-8000-000000000001')}}, 'INFRA_OPENSEARCH_ENCRYPTED'))
      .toEqual(['aws_opensearch_domain.managed'])
  })
})
