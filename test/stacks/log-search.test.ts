import {mkdtempSync, readFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import {describe, expect, it} from 'vitest'
import {parse} from 'yaml'

import {parseEstate} from '../../src/estate/load.js'
import type {Estate} from '../../src/estate/model.js'
import {auditEnvironment} from '../../src/policy/audit-stacks.js'
import {defaultEstate, estateWith, synth} from '../support/synth.js'

/** The shipped estate with `logs.opensearch` set on every environment. */
function shippedEstateWith(opensearch: Record<string, unknown>): Estate {
  const doc = parse(readFileSync(path.join(import.meta.dirname, '../../config/estate.yaml'), 'utf8'))
  for (const env of Object.values<any>(doc.environments)) env.logs = {opensearch}
  return parseEstate(doc, 'estate with OpenSearch')
}

const failedFindings = (estate: Estate) =>
  estate.environments.flatMap((env) =>
    auditEnvironment(estate, env, mkdtempSync(path.join(os.tmpdir(), 'infra-audit-search-'))).flatMap((report) =>
      report.findings.filter((finding) => finding.status === 'failed').map((finding) => `${env.name}: ${finding.rule} ${finding.address}`),
    ),
  )

describe('the OpenSearch log domain (logs.opensearch in the estate)', () => {
  it('is off by default: no domain, no security group, no shipper permission, no discovery parameter', () => {
    for (const env of defaultEstate().environments) {
      expect(env.logs?.opensearch.enabled).toBe(false)
      const stack = synth(env.name)
      expect(stack.all('aws_opensearch_domain')).toEqual([])
      expect(stack.all('aws_cloudwatch_log_resource_policy')).toEqual([])
      expect(stack.all('aws_security_group').filter((g) => g.name.endsWith('-logs-search'))).toEqual([])
      expect(stack.all('aws_iam_role_policy').filter((p) => p.policy.includes('es:'))).toEqual([])
      expect(stack.all('aws_ssm_parameter').filter((p) => p.name.includes('opensearch'))).toEqual([])
    }
  })

  const prod = synth('prod', shippedEstateWith({enabled: true}))
  const domain = prod.one('aws_opensearch_domain')

  it('when on, is a VPC-only domain in the data subnets with every secure default', () => {
    expect(domain.domain_name).toBe('acme-prod-logs')
    // Encrypted at rest with the environment's key, between nodes, HTTPS only on TLS 1.2+ with PFS.
    expect(domain.encrypt_at_rest).toEqual({enabled: true, kms_key_id: expect.stringMatching(/^\$\{aws_kms_key\.[\w-]+\.arn\}$/)})
    expect(domain.node_to_node_encryption).toEqual({enabled: true})
    expect(domain.domain_endpoint_options).toEqual({enforce_https: true, tls_security_policy: 'Policy-Min-TLS-1-2-PFS-2023-10'})
    // Fine-grained access control with IAM principals only: no internal users, nothing anonymous.
    expect(domain.advanced_security_options).toMatchObject({enabled: true, anonymous_auth_enabled: false, internal_user_database_enabled: false})
    const deployRole = prod.all('aws_iam_role').find((r) => r.name === 'acme-prod-deploy')!
    expect(deployRole).toBeDefined()
    expect(domain.advanced_security_options.master_user_options.master_user_arn).toMatch(/^\$\{aws_iam_role\.roles_deploy_[\w]+\.arn\}$/)
    // Three nodes of the HA default, one per zone, in the isolated data subnets.
    expect(domain.cluster_config).toMatchObject({instance_type: 'm6g.large.search', instance_count: 3, zone_awareness_enabled: true, zone_awareness_config: {availability_zone_count: 3}})
    expect(domain.ebs_options).toEqual({ebs_enabled: true, volume_type: 'gp3', volume_size: 100})
    expect(domain.vpc_options.subnet_ids).toHaveLength(3)
    for (const subnet of domain.vpc_options.subnet_ids) expect(subnet).toMatch(/^\$\{aws_subnet\.network_data-eu-west-1[abc]_[\w]+\.id\}$/)
  })

  it('takes HTTPS from the VPC only and opens nothing outwards', () => {
    const group = prod.all('aws_security_group').find((g) => g.name === 'acme-prod-logs-search')!
    expect(domain.vpc_options.security_group_ids).toEqual([expect.stringMatching(/^\$\{aws_security_group\.log-search_sg_[\w]+\.id\}$/)])
    expect(group.ingress).toEqual([expect.objectContaining({protocol: 'tcp', from_port: 443, to_port: 443, cidr_blocks: ['10.3.0.0/16']})])
    expect(group.egress).toEqual([])
  })

  it('lets only the shipper (POST, PUT) and the admin in, and the shipper may write to this domain only', () => {
    const access = JSON.parse(domain.access_policies).Statement
    const arn = 'arn:aws:es:eu-west-1:333333333333:domain/acme-prod-logs/*'
    expect(access).toEqual([
      {Sid: 'ShipperWrites', Effect: 'Allow', Principal: {AWS: expect.stringMatching(/^\$\{aws_iam_role\.log-shipper_role_\w+\.arn\}$/)}, Action: ['es:ESHttpPost', 'es:ESHttpPut'], Resource: arn},
      {Sid: 'Admin', Effect: 'Allow', Principal: {AWS: domain.advanced_security_options.master_user_options.master_user_arn}, Action: 'es:ESHttp*', Resource: arn},
    ])
    const policy = prod.all('aws_iam_role_policy').find((p) => p.name === 'opensearch-log-domain')!
    expect(policy.role).toMatch(/^\$\{aws_iam_role\.log-shipper_role_\w+\.id\}$/)
    expect(JSON.parse(policy.policy).Statement).toEqual([
      {Sid: 'Index', Effect: 'Allow', Action: ['es:ESHttpPost', 'es:ESHttpPut'], Resource: expect.stringMatching(/^\$\{aws_opensearch_domain\.log-search_domain_\w+\.arn\}\/\*$/)},
    ])
  })

  it('publishes its audit and error logs to KMS-encrypted groups with retention, under a policy for this domain only', () => {
    const groups = prod.all('aws_cloudwatch_log_group').filter((g) => g.name.startsWith('/aws/opensearch/acme-prod-logs/'))
    expect(groups.map((g) => g.name).sort()).toEqual(['/aws/opensearch/acme-prod-logs/audit', '/aws/opensearch/acme-prod-logs/errors'])
    for (const group of groups) expect(group).toMatchObject({retention_in_days: 365, kms_key_id: expect.stringContaining('aws_kms_key')})
    expect(domain.log_publishing_options.map((o: any) => o.log_type).sort()).toEqual(['AUDIT_LOGS', 'ES_APPLICATION_LOGS'])
    expect(domain.log_publishing_options.every((o: any) => o.enabled === true && /aws_cloudwatch_log_group\./.test(o.cloudwatch_log_group_arn))).toBe(true)
    const statement = JSON.parse(prod.one('aws_cloudwatch_log_resource_policy').policy_document).Statement[0]
    expect(statement).toMatchObject({Principal: {Service: 'es.amazonaws.com'}, Action: ['logs:CreateLogStream', 'logs:PutLogEvents']})
    expect(statement.Condition).toEqual({StringEquals: {'aws:SourceAccount': '333333333333'}, ArnLike: {'aws:SourceArn': 'arn:aws:es:eu-west-1:333333333333:domain/acme-prod-logs'}})
    expect(domain.depends_on).toEqual([expect.stringMatching(/^aws_cloudwatch_log_resource_policy\./)])
  })

  it('publishes its endpoint for the shipper under /infra/<env>/logs/opensearch-endpoint', () => {
    const parameter = prod.all('aws_ssm_parameter').find((p) => p.name === '/infra/prod/logs/opensearch-endpoint')
    expect(parameter?.value).toMatch(/^\$\{aws_opensearch_domain\.log-search_domain_\w+\.endpoint\}$/)
  })

  it('spreads over zones as the node count allows: one node none, two nodes two zones', () => {
    const single = synth('dev', estateWith((doc) => (doc.environments.dev.logs = {opensearch: {enabled: true}}))).one('aws_opensearch_domain')
    expect(single.cluster_config).toMatchObject({instance_count: 1, zone_awareness_enabled: false})
    expect(single.cluster_config.zone_awareness_config).toBeUndefined()
    expect(single.vpc_options.subnet_ids).toHaveLength(1)
    const pair = synth('dev', estateWith((doc) => (doc.environments.dev.logs = {opensearch: {enabled: true, instanceCount: 2, instanceType: 'r6g.large.search', volumeGb: 50}}))).one('aws_opensearch_domain')
    expect(pair.cluster_config).toMatchObject({instance_type: 'r6g.large.search', instance_count: 2, zone_awareness_enabled: true, zone_awareness_config: {availability_zone_count: 2}})
    expect(pair.vpc_options.subnet_ids).toHaveLength(2)
    expect(pair.ebs_options.volume_size).toBe(50)
  })

  it('passes the stack policy gate on every environment, off and on', () => {
    expect(failedFindings(defaultEstate())).toEqual([])
    expect(failedFindings(shippedEstateWith({enabled: true}))).toEqual([])
    expect(failedFindings(shippedEstateWith({enabled: true, instanceCount: 2}))).toEqual([])
  }, 120_000)

  it('refuses settings AWS would refuse, a line each with the fix', () => {
    const problems = (opensearch: unknown, extra: Record<string, unknown> = {}) => {
      try {
        estateWith((doc) => Object.assign(doc.environments.dev, {logs: {opensearch}}, extra))
        return []
      } catch (error) {
        return ((error as any).details?.problems ?? (error as any).details ?? []).map((p: any) => `${p.path}: ${p.problem}`)
      }
    }
    expect(problems({enabled: true, instanceCount: 5})).toEqual(['environments.dev.logs.opensearch.instanceCount: 5 nodes cannot be spread evenly over 3 zones'])
    expect(problems({enabled: true}, {omitLayers: ['eks']})).toEqual(['environments.dev.logs.opensearch.enabled: is true but the eks layer is left out: nothing would ship logs to the domain'])
    expect(problems({enabled: 'yes', instanceType: 'm6g.large', volumeGb: 5})).toEqual([
      'environments.dev.logs.opensearch.enabled: is not true or false',
      'environments.dev.logs.opensearch.instanceType: "m6g.large" is not an OpenSearch instance type',
      'environments.dev.logs.opensearch.volumeGb: 5 is not a whole number from 10 to 3072',
    ])
    expect(problems({enabled: false, instanceCount: 5})).toEqual([])
    expect(problems({enabeld: true})[0]).toMatch(/opensearch\.enabeld: is not a known setting/)
  })
})
