import {mkdirSync, mkdtempSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import {describe, expect, it} from 'vitest'

import {auditFile} from '../../src/policy/audit-stacks.js'
import {runAudit} from '../../src/policy/engine.js'
import {RULES} from '../../src/policy/rules.js'
import {toSarif} from '../../src/policy/sarif.js'
import {configurationInput} from '../../src/policy/terraform-config.js'
import {OUTSIDE_EXAMPLES} from './outside-examples.js'

/**
 * Terraform configuration read as terraform plans it, and the cases issue 28 found passing in
 * silence, some of them variants of Terraform written by others (the examples themselves, each with
 * the verdict every rule should give, are test/policy/outside-examples.ts).
 */
const root = mkdtempSync(path.join(os.tmpdir(), 'infra-tf-config-'))
let counter = 0

/** Writes files into a fresh folder and returns it. */
function folder(files: Record<string, string>): string {
  const dir = path.join(root, `case-${++counter}`)
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, name)), {recursive: true})
    writeFileSync(path.join(dir, name), text)
  }
  return dir
}

/** The main.tf of an outside example, by the file it was taken from. */
function exampleText(sourcePath: string): string {
  return OUTSIDE_EXAMPLES.find((example) => example.source.path === sourcePath)!.files['main.tf']
}

async function audit(files: Record<string, string>, variables = {}) {
  const input = await configurationInput(folder(files), variables)
  const report = runAudit(input)
  const verdicts = report.findings.map((finding) => `${finding.address} ${finding.rule}`)
  return {input, report, verdicts}
}

describe('configuration evaluated as terraform plans it', () => {
  it('reads a policy written with jsonencode, in HCL and as "${jsonencode(...)}" in JSON', async () => {
    const hcl = await audit({
      'main.tf': `resource "aws_iam_policy" "admin" {
  name   = "admin"
  policy = jsonencode({ Version = "2012-10-17", Statement = [{ Effect = "Allow", Action = "*", Resource = "*" }] })
}`,
    })
    expect(hcl.verdicts).toContain('aws_iam_policy.admin INFRA_IAM_NO_ADMIN_WILDCARD')
    const json = folder({
      'main.tf.json': JSON.stringify({resource: {aws_iam_policy: {admin: {name: 'admin', policy: '${jsonencode({Statement = [{Effect = "Allow", Action = "*", Resource = "*"}]})}'}}}}),
    })
    const report = await auditFile(path.join(json, 'main.tf.json'), {})
    expect(report.kind).toBe('configuration')
    expect(report.findings.map((f) => f.rule)).toContain('INFRA_IAM_NO_ADMIN_WILDCARD')
  })

  it('resolves variables (default, terraform.tfvars, --var-file, --var in that order) and locals', async () => {
    const files = {
      'main.tf': `variable "retention" {
  type    = number
  default = 1
}
variable "engine" { default = "postgres" }
locals { days = var.retention }
resource "aws_db_instance" "db" {
  engine                              = var.engine
  backup_retention_period             = local.days
  storage_encrypted                   = true
  manage_master_user_password         = true
  iam_database_authentication_enabled = true
}`,
    }
    expect((await audit(files)).verdicts).toContain('aws_db_instance.db INFRA_RDS_BACKUPS')
    expect((await audit({...files, 'terraform.tfvars': 'retention = 7\n'})).verdicts).not.toContain('aws_db_instance.db INFRA_RDS_BACKUPS')
    const varFile = path.join(root, 'short.tfvars')
    writeFileSync(varFile, 'retention = 2\n')
    expect((await audit({...files, 'terraform.tfvars': 'retention = 7\n'}, {varFiles: [varFile]})).verdicts).toContain('aws_db_instance.db INFRA_RDS_BACKUPS')
    expect((await audit({...files, 'terraform.tfvars': 'retention = 7\n'}, {varFiles: [varFile], vars: ['retention=30']})).verdicts).not.toContain('aws_db_instance.db INFRA_RDS_BACKUPS')
  })

  it('expands dynamic blocks: encryption written as a dynamic rule is there', async () => {
    // The shape of terraform-aws-modules/terraform-aws-s3-bucket main.tf
    // (aws_s3_bucket_server_side_encryption_configuration with dynamic "rule").
    const {verdicts} = await audit({
      'main.tf': `variable "sse" {
  default = { rule = { apply_server_side_encryption_by_default = { sse_algorithm = "aws:kms" } } }
}
resource "aws_s3_bucket" "this" { bucket = "acme-logs" }
resource "aws_s3_bucket_server_side_encryption_configuration" "this" {
  bucket = aws_s3_bucket.this.id
  dynamic "rule" {
    for_each = try(flatten([var.sse["rule"]]), [])
    content {
      dynamic "apply_server_side_encryption_by_default" {
        for_each = try([rule.value.apply_server_side_encryption_by_default], [])
        content {
          sse_algorithm = apply_server_side_encryption_by_default.value.sse_algorithm
        }
      }
    }
  }
}`,
    })
    expect(verdicts).not.toContain('aws_s3_bucket.this INFRA_S3_ENCRYPTED')
  })

  it('audits for_each and count instances by their addresses, and resources in local modules', async () => {
    const {input, verdicts} = await audit({
      'main.tf': `resource "aws_ebs_volume" "data" {
  for_each          = toset(["a", "b"])
  availability_zone = "eu-west-1a"
  size              = 10
  encrypted         = each.key == "a"
}
module "logs" {
  source = "./modules/logs"
  days   = 0
}`,
      'modules/logs/main.tf': `variable "days" { type = number }
resource "aws_cloudwatch_log_group" "this" {
  count             = 2
  name              = "g-\${count.index}"
  retention_in_days = var.days
  kms_key_id        = "arn:aws:kms:eu-west-1:111111111111:key/1"
}`,
    })
    expect(input.resources.map((r) => r.address)).toEqual(['aws_ebs_volume.data["a"]', 'aws_ebs_volume.data["b"]', 'module.logs.aws_cloudwatch_log_group.this[0]', 'module.logs.aws_cloudwatch_log_group.this[1]'])
    expect(verdicts).toEqual(['aws_ebs_volume.data["b"] INFRA_EBS_VOLUME_ENCRYPTED', 'module.logs.aws_cloudwatch_log_group.this[0] INFRA_LOG_RETENTION', 'module.logs.aws_cloudwatch_log_group.this[1] INFRA_LOG_RETENTION'])
  })

  it('links a setting to its bucket by the bucket\'s name as well as by reference', async () => {
    const {verdicts} = await audit({
      'main.tf': `resource "aws_s3_bucket" "b" { bucket = "acme-audit" }
resource "aws_s3_bucket_versioning" "v" {
  bucket = "acme-audit"
  versioning_configuration { status = "Enabled" }
}`,
    })
    expect(verdicts).not.toContain('aws_s3_bucket.b INFRA_S3_VERSIONED')
  })

  it('names what needs a plan, by resource and attribute, instead of passing it in silence', async () => {
    const {input, report} = await audit({
      'main.tf': `variable "key" {}
data "aws_kms_key" "k" { key_id = "alias/app" }
resource "aws_sns_topic" "t" { kms_master_key_id = data.aws_kms_key.k.arn }
resource "aws_cloudwatch_log_group" "g" {
  kms_key_id        = var.key
  retention_in_days = 90
}
resource "aws_ebs_volume" "v" {
  for_each          = data.aws_kms_key.k.id == "x" ? toset(["a"]) : toset([])
  availability_zone = "eu-west-1a"
  encrypted         = true
}`,
    })
    expect(input.notEvaluated).toEqual([
      {address: 'aws_cloudwatch_log_group.g', attribute: 'kms_key_id', reason: 'var.key has no value: give --var key=VALUE or --var-file'},
      {address: 'aws_ebs_volume.v', attribute: 'for_each', reason: 'data.aws_kms_key.k is read from AWS at plan time; instances audited as one'},
      {address: 'aws_sns_topic.t', attribute: 'kms_master_key_id', reason: 'data.aws_kms_key.k is read from AWS at plan time'},
    ])
    expect(report.notEvaluated).toHaveLength(3)
    const sarif = toSarif([report], RULES, '1.0.0') as any
    expect(sarif.runs[0].invocations[0].toolExecutionNotifications.map((n: any) => n.message.text)).toContain(
      'not evaluated: aws_sns_topic.t kms_master_key_id (data.aws_kms_key.k is read from AWS at plan time); rules saw it unset',
    )
  })

  it('keeps a string function of a value known only after apply as a token, so the policy around it is still read', async () => {
    // The IRSA trust policy of the EKS docs: the condition key is built from the OIDC provider's URL.
    const {input, verdicts} = await audit({
      'main.tf': `resource "aws_eks_cluster" "c" {
  name     = "c"
  role_arn = "arn:aws:iam::111111111111:role/eks"
  vpc_config {
    subnet_ids = ["subnet-1"]
  }
}
resource "aws_iam_openid_connect_provider" "eks" { url = aws_eks_cluster.c.identity[0].oidc[0].issuer }
resource "aws_iam_role" "irsa" {
  assume_role_policy = jsonencode({
    Statement = [{
      Effect    = "Allow"
      Principal = "*"
      Action    = "sts:AssumeRoleWithWebIdentity"
      Condition = { StringEquals = { "\${replace(aws_iam_openid_connect_provider.eks.url, "https://", "")}:sub" = "system:serviceaccount:app:app" } }
    }]
  })
}`,
    })
    expect(input.notEvaluated).toEqual([])
    const policy = JSON.parse(input.resources.find((r) => r.address === 'aws_iam_role.irsa')!.values.assume_role_policy)
    expect(Object.keys(policy.Statement[0].Condition.StringEquals)).toEqual(['\${replace(aws_iam_openid_connect_provider.eks.url, "https://", "")}:sub'])
    expect(verdicts).not.toContain('aws_iam_role.irsa INFRA_IAM_ROLE_TRUST_NOT_PUBLIC')
  })

  it('refuses HCL that terraform would refuse, naming the file (exit 2)', async () => {
    const dir = folder({'main.tf': 'resource "aws_s3_bucket" "b" { bucket = }\n'})
    await expect(configurationInput(dir)).rejects.toMatchObject({code: 'AUDIT_INPUT_UNREADABLE', exitCode: 2, message: expect.stringContaining('main.tf is not valid HCL')})
  })
})

describe('variants of Terraform written by others (the examples themselves are in outside-examples.ts)', () => {
  it('aws_vpc_security_group_ingress_rule: the provider docs example opened to the world on 22 fails', async () => {
    const open = exampleText('website/docs/r/vpc_security_group_ingress_rule.html.markdown')
      .replace('"10.0.0.0/8"', '"0.0.0.0/0"').replace('from_port   = 80', 'from_port   = 22').replace('to_port     = 80', 'to_port     = 22')
    expect((await audit({'main.tf': open})).verdicts).toEqual(expect.arrayContaining([
      'aws_vpc_security_group_ingress_rule.example INFRA_SG_NO_WORLD_INGRESS', 'aws_vpc_security_group_ingress_rule.example INFRA_SG_NO_SSH',
    ]))
  })

  it('a rule added to the default security group by aws_security_group_rule breaks INFRA_DEFAULT_SG_CLOSED', async () => {
    const {verdicts} = await audit({
      'main.tf': `resource "aws_vpc" "main" { cidr_block = "10.0.0.0/16" }
resource "aws_default_security_group" "default" { vpc_id = aws_vpc.main.id }
resource "aws_security_group_rule" "https" {
  type              = "ingress"
  from_port         = 443
  to_port           = 443
  protocol          = "tcp"
  cidr_blocks       = ["10.0.0.0/16"]
  security_group_id = aws_default_security_group.default.id
}`,
    })
    expect(verdicts).toContain('aws_vpc.main INFRA_DEFAULT_SG_CLOSED')
  })

  it('WAF Classic: the provider docs ALB without its association fails; a gateway LB is not asked', async () => {
    const alb = exampleText('website/docs/r/wafregional_web_acl_association.html.markdown')
    const withoutAssociation = alb.slice(0, alb.indexOf('resource "aws_wafregional_web_acl_association"'))
    expect((await audit({'main.tf': withoutAssociation})).verdicts).toContain('aws_alb.foo INFRA_WAF_ON_PUBLIC_LB')
    // The AWS provider's acceptance tests for aws_vpc_endpoint_service (gateway_load_balancer_arns):
    // AWS WAF protects application load balancers only (AWS WAF developer guide, resources you can protect).
    const gateway = await audit({
      'main.tf': `resource "aws_lb" "test" {
  load_balancer_type = "gateway"
  name               = "gwlb"

  subnet_mapping {
    subnet_id = "subnet-1"
  }
}`,
    })
    expect(gateway.verdicts).toEqual([])
  })

  it('IAM: "*" on one named resource in the provider docs aws_iam_policy example fails as full control of it', async () => {
    const named = exampleText('website/docs/r/iam_policy.html.markdown').replace('"ec2:Describe*"', '"*"').replace('Resource = "*"', 'Resource = "arn:aws:s3:::acme-audit"')
    expect((await audit({'main.tf': named})).verdicts).toEqual(['aws_iam_policy.policy INFRA_IAM_NO_ADMIN_WILDCARD'])
  })
})
