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
    expect(ssh).toMatchObject({status: 'unproven', unprovenBy: ['aws_security_group.web ingress']})
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
})
