import path from 'node:path'

import {describe, expect, it} from 'vitest'

import {type AuditReport, runAudit} from '../../src/policy/engine.js'
import {configurationInput} from '../../src/policy/terraform-config.js'

/**
 * Two terraform-aws-modules modules and their `examples/complete`, copied unchanged
 * (test/policy/fixtures/terraform-aws-modules/SOURCE.md), audited as `audit stacks --file FOLDER`
 * reads them: the example calls the module through `source = "../../"`, and the module's count,
 * for_each, dynamic blocks, lookups and try() decide what exists. Expected verdicts are what
 * terraform's plan of the same example would give each rule; what only a plan can know (data
 * sources, a registry module) must come out as unproven, never as a finding on a resource that may
 * be innocent, and never as a pass.
 */
const FIXTURES = path.join(import.meta.dirname, 'fixtures', 'terraform-aws-modules')

async function audit(module: string): Promise<AuditReport> {
  return runAudit(await configurationInput(path.join(FIXTURES, module, 'examples', 'complete')))
}

const byStatus = (report: AuditReport, status: string, rule: string) =>
  report.findings
    .filter((finding) => finding.status === status && finding.rule === rule)
    .map((finding) => finding.address)
    .sort()

describe('terraform-aws-modules/s3-bucket examples/complete', () => {
  const bucket = (name: string) => `module.${name}.aws_s3_bucket.this[0]`

  it('judges each of the five buckets the module makes as its inputs set it', async () => {
    const report = await audit('s3-bucket')
    // module "disabled" sets create_bucket = false: no bucket; "s3_bucket" sets KMS encryption and
    // versioning; the three others are the module's defaults (S3-managed keys, no versioning).
    expect(report.findings.filter((finding) => finding.address.startsWith('module.disabled.'))).toEqual([])
    expect(byStatus(report, 'failed', 'INFRA_S3_ENCRYPTED')).toEqual(['cloudfront_log_bucket', 'log_bucket', 'simple_account_regional_bucket', 'simple_bucket'].map(bucket))
    expect(byStatus(report, 'failed', 'INFRA_S3_VERSIONED')).toEqual(['cloudfront_log_bucket', 'log_bucket', 'simple_account_regional_bucket', 'simple_bucket'].map(bucket))
    // ObjectWriter and BucketOwnerPreferred keep ACLs; the log bucket's controls (the default,
    // BucketOwnerEnforced) are linked through the bucket policy's id, as the module chains them;
    // buckets without controls are BucketOwnerEnforced by S3's default.
    expect(byStatus(report, 'failed', 'INFRA_S3_OWNER_ENFORCED')).toEqual(['cloudfront_log_bucket', 's3_bucket'].map(bucket))
  })

  it('leaves the TLS-only verdict unproven where the deny statement comes from a document that reads the account or region', async () => {
    const report = await audit('s3-bucket')
    // attach_deny_insecure_transport_policy = true on these two, in a policy document built from
    // data.aws_caller_identity / data.aws_region: a plan proves it, the configuration cannot.
    expect(byStatus(report, 'unproven', 'INFRA_S3_TLS_ONLY')).toEqual(['log_bucket', 's3_bucket'].map(bucket))
    const unproven = report.findings.find((finding) => finding.status === 'unproven' && finding.address === bucket('s3_bucket'))!
    expect(unproven.unprovenBy).toEqual(['module.s3_bucket.aws_s3_bucket_policy.this[0] policy'])
    expect(report.notEvaluated).toContainEqual(expect.objectContaining({address: 'module.s3_bucket.aws_s3_bucket_policy.this[0]', attribute: 'policy'}))
    // Buckets with no policy at all fail outright.
    expect(byStatus(report, 'failed', 'INFRA_S3_TLS_ONLY')).toEqual(['cloudfront_log_bucket', 'simple_account_regional_bucket', 'simple_bucket'].map(bucket))
    expect(report.summary.unproven).toBe(2)
  })
})

describe('terraform-aws-modules/security-group examples/complete', () => {
  it('finds the rules the example opens to the internet and to SSH, from literal inputs', async () => {
    const report = await audit('security-group')
    // ingress_with_cidr_blocks: postgresql-tcp from "0.0.0.0/0,2.2.2.2/32"; 8080-8090 from 0.0.0.0/0.
    expect(report.findings.filter((finding) => finding.status === 'failed' && finding.rule === 'INFRA_SG_NO_WORLD_INGRESS').map((finding) => [finding.address, finding.message.slice(finding.address.length + 1)])).toEqual([
      ['module.complete_sg.aws_security_group_rule.ingress_with_cidr_blocks[0]', 'allows ports 5432-5432 in from the internet'],
      ['module.ipv4_ipv6_example.aws_security_group_rule.ingress_with_cidr_blocks[0]', 'allows ports 8080-8090 in from the internet'],
    ])
    // computed_ingress_rules = ["ssh-tcp"] from ingress_cidr_blocks; "all-all" from the group itself
    // (this rule fails port 22 from any source: shells go through Session Manager).
    expect(byStatus(report, 'failed', 'INFRA_SG_NO_SSH')).toEqual([
      'module.complete_sg.aws_security_group_rule.computed_ingress_rules[0]',
      'module.complete_sg.aws_security_group_rule.ingress_with_self[0]',
    ])
    const self = report.findings.find((finding) => finding.rule === 'INFRA_SG_NO_SSH' && finding.address === 'module.complete_sg.aws_security_group_rule.ingress_with_self[0]')!
    expect(self.message).toMatch(/allows SSH \(port 22\) in from the group itself$/)
  })

  it('never turns a port it could not read into an SSH or RDP finding: rules built from the registry VPC module are unproven', async () => {
    const report = await audit('security-group')
    // Their ports come from elements of lists that also hold module.vpc outputs (a registry module
    // not on this machine): read as unset, they would look like "all ports" and fail as critical.
    const unproven = report.findings.filter((finding) => finding.status === 'unproven')
    expect(unproven.length).toBeGreaterThan(0)
    for (const finding of unproven) {
      expect(finding.unprovenBy!.length).toBeGreaterThan(0)
      for (const read of finding.unprovenBy!) expect(read.startsWith(finding.address)).toBe(true)
    }
    expect(byStatus(report, 'unproven', 'INFRA_SG_NO_SSH')).toContain('module.complete_sg.aws_security_group_rule.computed_ingress_with_cidr_blocks[0]')
    expect(report.notEvaluated).toContainEqual(
      expect.objectContaining({address: 'module.complete_sg.aws_security_group_rule.computed_ingress_with_cidr_blocks[0]', attribute: 'from_port', reason: expect.stringContaining('module.vpc: module source terraform-aws-modules/vpc/aws is not on this machine')}),
    )
    // Unproven findings are counted apart and do not fail the audit; the failed ones do.
    expect(report.summary).toMatchObject({critical: 5, unproven: unproven.length})
    expect(report.passed).toBe(false)
  })
})
