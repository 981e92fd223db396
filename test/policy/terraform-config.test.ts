import {mkdirSync, mkdtempSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import {describe, expect, it} from 'vitest'

import {auditFile} from '../../src/policy/audit-stacks.js'
import {runAudit} from '../../src/policy/engine.js'
import {RULES} from '../../src/policy/rules.js'
import {toSarif} from '../../src/policy/sarif.js'
import {configurationInput} from '../../src/policy/terraform-config.js'

/**
 * Terraform configuration read as terraform plans it, and the rules on Terraform written by
 * others: examples from the AWS provider's documentation (hashicorp/terraform-provider-aws,
 * website/docs/r/*.html.markdown) and terraform-aws-modules, each with the verdict it should get,
 * plus the cases issue 28 found passing in silence.
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

describe('rules on Terraform written by others', () => {
  it('aws_vpc_security_group_ingress_rule: the provider docs example passes; the same rule open to the world on 22 fails', async () => {
    // hashicorp/terraform-provider-aws website/docs/r/vpc_security_group_ingress_rule.html.markdown, Example Usage.
    const docs = `resource "aws_security_group" "example" { name = "example" }
resource "aws_vpc_security_group_ingress_rule" "example" {
  security_group_id = aws_security_group.example.id

  cidr_ipv4   = "10.0.0.0/8"
  from_port   = 80
  ip_protocol = "tcp"
  to_port     = 80
}`
    expect((await audit({'main.tf': docs})).verdicts.filter((v) => v.includes('ingress_rule'))).toEqual([])
    const open = docs.replace('"10.0.0.0/8"', '"0.0.0.0/0"').replace('from_port   = 80', 'from_port   = 22').replace('to_port     = 80', 'to_port     = 22')
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

  it('aws_rds_cluster_instance: the provider docs example (count = 2) is private; its cluster keeps 1 day and a password in configuration', async () => {
    // hashicorp/terraform-provider-aws website/docs/r/rds_cluster_instance.html.markdown, Example Usage.
    const {verdicts} = await audit({
      'main.tf': `resource "aws_rds_cluster_instance" "cluster_instances" {
  count              = 2
  identifier         = "aurora-cluster-demo-\${count.index}"
  cluster_identifier = aws_rds_cluster.default.id
  instance_class     = "db.r4.large"
  engine             = aws_rds_cluster.default.engine
  engine_version     = aws_rds_cluster.default.engine_version
}

resource "aws_rds_cluster" "default" {
  cluster_identifier = "aurora-cluster-demo"
  availability_zones = ["us-west-2a", "us-west-2b", "us-west-2c"]
  database_name      = "mydb"
  master_username    = "foo"
  master_password    = "barbut8chars"
}`,
    })
    expect(verdicts.filter((v) => v.includes('INFRA_RDS_PRIVATE'))).toEqual([])
    expect(verdicts).toEqual(expect.arrayContaining(['aws_rds_cluster.default INFRA_RDS_BACKUPS', 'aws_rds_cluster.default INFRA_RDS_ENCRYPTED']))
  })

  it('terraform-aws-rds-aurora examples/postgresql: the instance with publicly_accessible = true fails INFRA_RDS_PRIVATE', async () => {
    // terraform-aws-modules/terraform-aws-rds-aurora examples/postgresql/main.tf (instances map) and
    // main.tf (aws_rds_cluster_instance "this" for_each over it, publicly_accessible = each.value.publicly_accessible).
    const {verdicts} = await audit({
      'main.tf': `variable "instances" {
  default = {
    1 = {
      instance_class      = "db.r8g.2xlarge"
      publicly_accessible = true
    }
    2 = {
      identifier     = "static-member-1"
      instance_class = "db.r8g.2xlarge"
    }
  }
}
resource "aws_rds_cluster" "this" {
  cluster_identifier          = "ex-postgresql"
  engine                      = "aurora-postgresql"
  master_username             = "root"
  manage_master_user_password = true
  storage_encrypted           = true
  backup_retention_period     = 7
}
resource "aws_rds_cluster_instance" "this" {
  for_each            = var.instances
  cluster_identifier  = aws_rds_cluster.this.id
  engine              = "aurora-postgresql"
  instance_class      = each.value.instance_class
  publicly_accessible = try(each.value.publicly_accessible, null)
}`,
    })
    expect(verdicts.filter((v) => v.includes('INFRA_RDS_PRIVATE'))).toEqual(['aws_rds_cluster_instance.this["1"] INFRA_RDS_PRIVATE'])
  })

  it('WAF Classic: the provider docs ALB association counts; an internet-facing ALB without one fails; a gateway LB is not asked', async () => {
    // hashicorp/terraform-provider-aws website/docs/r/wafregional_web_acl_association.html.markdown,
    // "Application Load Balancer Association Example" (internal = false here, so the rule applies).
    const alb = `resource "aws_wafregional_web_acl" "foo" {
  name        = "foo"
  metric_name = "foo"
  default_action {
    type = "ALLOW"
  }
}
resource "aws_alb" "foo" {
  internal                   = false
  subnets                    = ["subnet-1", "subnet-2"]
  drop_invalid_header_fields = true
}
`
    const association = `resource "aws_wafregional_web_acl_association" "foo" {
  resource_arn = "\${aws_alb.foo.arn}"
  web_acl_id   = "\${aws_wafregional_web_acl.foo.id}"
}`
    expect((await audit({'main.tf': alb + association})).verdicts).not.toContain('aws_alb.foo INFRA_WAF_ON_PUBLIC_LB')
    expect((await audit({'main.tf': alb})).verdicts).toContain('aws_alb.foo INFRA_WAF_ON_PUBLIC_LB')
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

  it('INFRA_SECRET_CMK: the default key and alias/aws/secretsmanager are the AWS managed key; a customer alias passes', async () => {
    // The secure/insecure pair of KICS query b0d3ef3f (Secretsmanager Secret Encrypted With AWS Managed Key).
    const {verdicts} = await audit({
      'main.tf': `resource "aws_secretsmanager_secret" "test2" {
  name       = "test-cloudrail-1"
  kms_key_id = "alias/aws/secretsmanager"
}
resource "aws_secretsmanager_secret" "test222" {
  name       = "test-cloudrail-1"
  kms_key_id = "alias/MyAlias"
}
resource "aws_secretsmanager_secret" "example" {
  name = "example"
}`,
    })
    expect(verdicts.filter((v) => v.includes('INFRA_SECRET_CMK')).sort()).toEqual(['aws_secretsmanager_secret.example INFRA_SECRET_CMK', 'aws_secretsmanager_secret.test2 INFRA_SECRET_CMK'])
  })

  it('IAM: the provider docs aws_iam_policy example passes; "*" on one named resource fails as full control of it', async () => {
    // hashicorp/terraform-provider-aws website/docs/r/iam_policy.html.markdown, Example Usage.
    const docs = `resource "aws_iam_policy" "policy" {
  name        = "test_policy"
  path        = "/"
  description = "My test policy"

  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Action = [
          "ec2:Describe*",
        ]
        Effect   = "Allow"
        Resource = "*"
      },
    ]
  })
}`
    expect((await audit({'main.tf': docs})).verdicts).toEqual([])
    const named = docs.replace('"ec2:Describe*"', '"*"').replace('Resource = "*"', 'Resource = "arn:aws:s3:::acme-audit"')
    expect((await audit({'main.tf': named})).verdicts).toEqual(['aws_iam_policy.policy INFRA_IAM_NO_ADMIN_WILDCARD'])
  })

  it('aws_launch_configuration, the older launch resource, is held to the instance rules', async () => {
    // hashicorp/terraform-provider-aws website/docs/r/launch_configuration.html.markdown, Example Usage (image from a variable here).
    const {verdicts} = await audit({
      'main.tf': `variable "ami" { default = "ami-0123456789abcdef0" }
resource "aws_launch_configuration" "as_conf" {
  name          = "web_config"
  image_id      = var.ami
  instance_type = "t2.micro"
}`,
    })
    expect(verdicts.sort()).toEqual(['aws_launch_configuration.as_conf INFRA_EBS_INSTANCE_ENCRYPTED', 'aws_launch_configuration.as_conf INFRA_INSTANCE_IMDSV2'])
  })

  it('aws_s3_bucket_versioning: the provider docs example versions its bucket', async () => {
    // hashicorp/terraform-provider-aws website/docs/r/s3_bucket_versioning.html.markdown, "With Versioning Enabled".
    const {verdicts} = await audit({
      'main.tf': `resource "aws_s3_bucket" "example" {
  bucket = "example-bucket"
}

resource "aws_s3_bucket_versioning" "versioning_example" {
  bucket = aws_s3_bucket.example.id
  versioning_configuration {
    status = "Enabled"
  }
}`,
    })
    expect(verdicts).not.toContain('aws_s3_bucket.example INFRA_S3_VERSIONED')
    expect(verdicts).toContain('aws_s3_bucket.example INFRA_S3_ENCRYPTED')
  })
})
