import {mkdtempSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import {describe, expect, it} from 'vitest'

import {runAudit} from '../../src/policy/engine.js'
import {RULES} from '../../src/policy/rules.js'
import {toSarif} from '../../src/policy/sarif.js'
import {configurationInput} from '../../src/policy/terraform-config.js'

/** Configuration input with values only a plan knows: a rule that read them has proven nothing. */
async function auditHcl(text: string, vars: string[] = []) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'infra-unproven-'))
  writeFileSync(path.join(dir, 'main.tf'), text)
  return runAudit(await configurationInput(dir, {vars}))
}

const GROUP = `
variable "port" {}
resource "aws_security_group" "web" {
  name = "web"
  ingress {
    from_port   = var.port
    to_port     = var.port
    protocol    = "tcp"
    cidr_blocks = ["10.0.0.0/8"]
  }
}
`

describe('findings that rest on what configuration cannot know', () => {
  it('are unproven, not failed, when the rule read an attribute that needs a plan; the same input with the value given is judged', async () => {
    const unknown = await auditHcl(GROUP)
    const ssh = unknown.findings.find((finding) => finding.rule === 'INFRA_SG_NO_SSH')!
    expect(ssh).toMatchObject({status: 'unproven', unprovenBy: ['aws_security_group.web ingress.0.from_port', 'aws_security_group.web ingress.0.to_port']})
    expect(unknown.summary).toMatchObject({critical: 0, unproven: 2}) // SSH and RDP
    expect(unknown.passed).toBe(true)
    // The SARIF asks for review, not a fix.
    const result = (toSarif([unknown], RULES, '0.0.0') as any).runs[0].results.find((r: any) => r.ruleId === 'INFRA_SG_NO_SSH')
    expect(result).toMatchObject({kind: 'review', level: 'none'})

    const https = await auditHcl(GROUP, ['port=443'])
    expect(https.findings.filter((finding) => finding.rule === 'INFRA_SG_NO_SSH')).toEqual([])
    const ssh22 = await auditHcl(GROUP, ['port=22'])
    expect(ssh22.findings.find((finding) => finding.rule === 'INFRA_SG_NO_SSH')).toMatchObject({status: 'failed', unprovenBy: null})
  })

  it('keep a failure proven when the unknown attribute is not one the rule read', async () => {
    const report = await auditHcl(`
variable "owner" {}
resource "aws_security_group" "open" {
  name = "open"
  tags = {Owner = var.owner}
  ingress {
    from_port   = 22
    to_port     = 22
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }
}
`)
    expect(report.notEvaluated.map((entry) => `${entry.address} ${entry.attribute}`)).toEqual(['aws_security_group.open tags.Owner'])
    expect(report.findings.find((finding) => finding.rule === 'INFRA_SG_NO_SSH')).toMatchObject({status: 'failed'})
    expect(report.passed).toBe(false)
  })

  it('prove an open port from the known blocks even when a block or attribute beside it needs a plan', async () => {
    const twoBlocks = await auditHcl(`
variable "p" {}
resource "aws_security_group" "mixed" {
  name = "mixed"
  ingress {
    from_port   = 22
    to_port     = 22
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }
  ingress {
    from_port   = var.p
    to_port     = var.p
    protocol    = "tcp"
    cidr_blocks = ["10.0.0.0/8"]
  }
  ingress {
    from_port   = 3389
    to_port     = 3389
    protocol    = "tcp"
    cidr_blocks = ["10.0.0.0/8"]
  }
}
`)
    expect(twoBlocks.notEvaluated.map((entry) => entry.attribute).sort()).toEqual(['ingress.from_port', 'ingress.to_port'])
    // Both unknowns are in the middle block: only it is set aside, the RDP block after it still counts.
    expect(twoBlocks.findings.find((finding) => finding.rule === 'INFRA_SG_NO_RDP')).toMatchObject({status: 'failed', message: 'aws_security_group.mixed allows RDP (port 3389) in from 10.0.0.0/8'})
    for (const rule of ['INFRA_SG_NO_SSH', 'INFRA_SG_NO_WORLD_INGRESS']) {
      expect(twoBlocks.findings.find((finding) => finding.rule === rule)).toMatchObject({status: 'failed', unprovenBy: null})
    }
    expect(twoBlocks.passed).toBe(false)

    const described = await auditHcl(`
variable "d" {}
resource "aws_security_group_rule" "ssh" {
  type              = "ingress"
  security_group_id = "sg-0123456789abcdef0"
  description       = var.d
  from_port         = 22
  to_port           = 22
  protocol          = "tcp"
  cidr_blocks       = ["0.0.0.0/0"]
}
`)
    expect(described.findings.find((finding) => finding.rule === 'INFRA_SG_NO_SSH')).toMatchObject({status: 'failed'})
    // An unknown attribute outside a block is never dropped to its default (from_port unset reads
    // as every port): the finding stays unproven.
    const v6 = await auditHcl(`
variable "from" {}
resource "aws_security_group_rule" "ssh" {
  type              = "ingress"
  security_group_id = "sg-0123456789abcdef0"
  from_port         = var.from
  to_port           = 22
  protocol          = "tcp"
  cidr_blocks       = ["0.0.0.0/0"]
}
`)
    expect(v6.findings.find((finding) => finding.rule === 'INFRA_SG_NO_SSH')).toMatchObject({status: 'unproven', unprovenBy: ['aws_security_group_rule.ssh from_port']})
  })

  it('look through unknown links only where they could lead, and never pass an unknown setting', async () => {
    const report = await auditHcl(`
variable "other" {}
variable "ownership" {}
resource "aws_s3_bucket" "a" {
  bucket = "a"
}
resource "aws_s3_bucket_ownership_controls" "elsewhere" {
  bucket = var.other
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}
resource "aws_s3_bucket" "b" {
  bucket = "b"
}
resource "aws_s3_bucket_ownership_controls" "b" {
  bucket = aws_s3_bucket.b.id
  rule {
    object_ownership = var.ownership
  }
}
`)
    const of = (rule: string, address: string) => report.findings.find((finding) => finding.rule === rule && finding.address === address)
    // No encryption configuration anywhere: an ownership-controls link that needs a plan says nothing about it.
    expect(of('INFRA_S3_ENCRYPTED', 'aws_s3_bucket.a')).toMatchObject({status: 'failed'})
    // An object_ownership that needs a plan is neither enforced nor passed.
    // (The other controls' bucket needs a plan too: it may be b's.)
    expect(of('INFRA_S3_OWNER_ENFORCED', 'aws_s3_bucket.b')).toMatchObject({status: 'unproven', unprovenBy: ['aws_s3_bucket_ownership_controls.b rule.0.object_ownership', 'aws_s3_bucket_ownership_controls.elsewhere bucket']})
  })
})

