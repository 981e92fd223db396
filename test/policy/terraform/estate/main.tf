# A small estate written the way people write Terraform: variables with defaults and a tfvars
# file, locals, for_each and count, a dynamic block, jsonencode, a local module, and a bucket
# linked to its versioning by name. test/policy/terraform-plan.integration.test.ts plans it with
# terraform (against moto) and checks that `audit stacks --file` on this folder gives the same
# verdicts, resource by resource, as the audit of that plan.
terraform {
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "5.100.0"
    }
  }
}

provider "aws" {
  region                      = "eu-west-1"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
}

variable "env" {
  type    = string
  default = "sandbox"
}

variable "buckets" {
  type = map(object({ versioned = bool }))
  default = {
    logs    = { versioned = true }
    scratch = { versioned = false }
  }
}

variable "admin_ports" {
  type    = list(number)
  default = [22, 443]
}

locals {
  prefix        = "acme-${var.env}"
  kms_algorithm = "aws:kms"
  tags          = { env = var.env }
  read_only     = ["s3:GetObject", "s3:ListBucket"]
}

resource "aws_s3_bucket" "data" {
  for_each = var.buckets
  bucket   = "${local.prefix}-${each.key}"
  tags     = local.tags
}

resource "aws_s3_bucket_versioning" "data" {
  for_each = { for name, settings in var.buckets : name => settings if settings.versioned }
  bucket   = aws_s3_bucket.data[each.key].id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket" "named" {
  bucket = "${local.prefix}-named"
}

# Linked by the bucket's name, not by reference.
resource "aws_s3_bucket_versioning" "named" {
  bucket = "acme-dev-named"
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "named" {
  bucket = aws_s3_bucket.named.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = local.kms_algorithm
    }
  }
}

resource "aws_vpc" "main" {
  cidr_block = "10.9.0.0/16"
}

resource "aws_security_group" "web" {
  name   = "${local.prefix}-web"
  vpc_id = aws_vpc.main.id

  dynamic "ingress" {
    for_each = var.admin_ports
    content {
      from_port   = ingress.value
      to_port     = ingress.value
      protocol    = "tcp"
      cidr_blocks = ["0.0.0.0/0"]
    }
  }
}

# A rule added to the VPC's default security group by a separate resource.
resource "aws_vpc_security_group_ingress_rule" "default_open" {
  security_group_id = aws_vpc.main.default_security_group_id
  cidr_ipv4         = "10.9.0.0/16"
  ip_protocol       = "-1"
}

resource "aws_iam_policy" "access" {
  count = 2
  name  = "${local.prefix}-access-${count.index}"
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect   = "Allow"
      Action   = count.index == 0 ? ["*"] : local.read_only
      Resource = "arn:aws:s3:::${local.prefix}-named/*"
    }]
  })
}

resource "aws_secretsmanager_secret" "app" {
  name       = "${local.prefix}-app"
  kms_key_id = "alias/aws/secretsmanager"
}

module "database" {
  source    = "./modules/database"
  name      = local.prefix
  retention = 3
}

resource "aws_iam_role" "app" {
  name = "${local.prefix}-app"
  assume_role_policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Principal = { Service = "ec2.amazonaws.com" }, Action = "sts:AssumeRole" }]
  })
}

# Every action on one bucket, named by its ARN: the plan knows the policy only after apply.
resource "aws_iam_role_policy" "bucket_admin" {
  role = aws_iam_role.app.id
  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Action = "*", Resource = aws_s3_bucket.named.arn }]
  })
}
