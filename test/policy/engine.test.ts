import {describe, expect, it} from 'vitest'

import {parseEstate} from '../../src/estate/load.js'
import {auditFile} from '../../src/policy/audit-stacks.js'
import {runAudit} from '../../src/policy/engine.js'
import {enforceAudit} from '../../src/policy/gate.js'
import {resourcesFromJson} from '../../src/policy/resources.js'
import {RULES} from '../../src/policy/rules.js'
import {toSarif} from '../../src/policy/sarif.js'
import {allTargets} from '../../src/estate/model.js'
import {defaultEstate, synth} from '../support/synth.js'

const openSsh = {resource: {aws_security_group: {bastion: {'//': {metadata: {path: 'dev-estate/bastion/sg'}}, ingress: [{from_port: 22, to_port: 22, protocol: 'tcp', cidr_blocks: ['0.0.0.0/0']}]}}}}

describe('our own stacks', () => {
  const estate = defaultEstate()
  const withClient = parseEstate(
    {organization: estate.organization, environments: {dev: {accountId: '111111111111', vpcCidr: '10.1.0.0/16'}}, clients: {globex: {accountId: '444444444444', vpcCidr: '10.20.0.0/16', sizing: 'ha'}}},
    'client estate',
  )
  const cases = [...allTargets(estate).map((env) => [env.name, estate, env] as const), ['globex', withClient, allTargets(withClient)[1]] as const]

  it.each(cases)('%s passes with no high or critical finding', (name, e, env) => {
    const synthesized = synth(name, e)
    for (const doc of [synthesized.state, synthesized.estate]) {
      const report = runAudit(resourcesFromJson(doc, name), {protected: env.protected})
      const serious = report.findings.filter((f) => f.severity === 'critical' || f.severity === 'high')
      expect(serious).toEqual([])
      expect(report.passed).toBe(true)
    }
  })
})

describe('findings', () => {
  it('name the resource, its construct path, the rule, its checkov id, the severity and the fix', () => {
    const report = runAudit(resourcesFromJson(openSsh, 'x.json'))
    const ssh = report.findings.find((f) => f.rule === 'INFRA_SG_NO_SSH')!
    expect(ssh).toMatchObject({
      address: 'aws_security_group.bastion',
      constructPath: 'dev-estate/bastion/sg',
      checkov: 'CKV_AWS_24',
      severity: 'critical',
      status: 'failed',
      message: 'dev-estate/bastion/sg allows SSH (port 22) in from 0.0.0.0/0',
    })
    expect(ssh.fix).toContain('infra session')
    expect(report.passed).toBe(false)
    expect(report.findings.filter((f) => f.severity === 'critical').map((f) => f.rule).sort()).toEqual(['INFRA_SG_NO_SSH', 'INFRA_SG_NO_WORLD_INGRESS'])
    expect(report.summary.critical).toBe(2)
  })
})

describe('exceptions', () => {
  const exception = {rule: 'INFRA_SG_NO_SSH', resource: 'dev-estate/bastion/*', reason: 'vendor appliance needs SSH until March', expires: '2027-03-31'}

  it('are reported as accepted with their reason, never dropped', () => {
    const report = runAudit(resourcesFromJson(openSsh, 'x'), {exceptions: [exception], today: new Date('2026-12-01')})
    const ssh = report.findings.find((f) => f.rule === 'INFRA_SG_NO_SSH')!
    expect(ssh.status).toBe('accepted')
    expect(ssh.exception).toEqual({reason: exception.reason, expires: '2027-03-31', source: 'estate'})
    expect(report.summary.accepted).toBe(1)
    // The world-open ingress is a different rule and still fails.
    expect(report.passed).toBe(false)
  })

  it('stop covering a finding after they expire', () => {
    const report = runAudit(resourcesFromJson(openSsh, 'x'), {exceptions: [exception], today: new Date('2027-04-01')})
    expect(report.findings.find((f) => f.rule === 'INFRA_SG_NO_SSH')!.status).toBe('failed')
  })

  it('cover only the resources they name', () => {
    const report = runAudit(resourcesFromJson(openSsh, 'x'), {exceptions: [{...exception, resource: 'dev-estate/eks/*'}], today: new Date('2026-12-01')})
    expect(report.findings.find((f) => f.rule === 'INFRA_SG_NO_SSH')!.status).toBe('failed')
  })

  it('are validated in the estate file: rule id, reason and expiry', () => {
    const doc = {
      organization: {name: 'acme', managementAccountId: '999999999999'},
      environments: {dev: {accountId: '111111111111', vpcCidr: '10.1.0.0/16'}},
      exceptions: [{rule: 'ssh', resource: '*', reason: 'because', expires: 'soon'}],
    }
    expect(() => parseEstate(doc, 'e')).toThrow(/has 3 problems: exceptions\[0\]\.rule "ssh" is not a rule id; exceptions\[0\]\.reason is too short; exceptions\[0\]\.expires "soon" is not a date$/)
  })
})

describe('the provision gate', () => {
  it('refuses on high or critical findings and carries them for --json', () => {
    const report = runAudit(resourcesFromJson(openSsh, 'x'))
    try {
      enforceAudit([report], 'plan')
      expect.unreachable()
    } catch (error: any) {
      expect(error.code).toBe('AUDIT_FAILED')
      expect(error.message).toMatch(/^refusing to apply: the plan break 2 high or critical rules, first /)
      expect(error.fix).toContain('--accept-risk')
      expect(error.details.findings).toHaveLength(2)
    }
  })

  it('lets medium and low findings through', () => {
    const doc = {resource: {aws_sns_topic: {t: {name: 't'}}}}
    const report = runAudit(resourcesFromJson(doc, 'x'))
    expect(report.findings.map((f) => f.severity)).toEqual(['medium'])
    expect(() => enforceAudit([report], 'plan')).not.toThrow()
  })
})

describe('inputs and outputs', () => {
  it('rejects JSON that is not Terraform', async () => {
    expect(() => resourcesFromJson({hello: 'world'}, 'x.json')).toThrow(/neither Terraform JSON configuration nor a plan/)
    await expect(auditFile('/nonexistent.json', {})).rejects.toThrow('no such file or folder: /nonexistent.json')
  })

  it('writes SARIF 2.1.0 with every rule, results, and accepted findings as suppressed', () => {
    const report = runAudit(resourcesFromJson(openSsh, 'x.json'), {
      exceptions: [{rule: 'INFRA_SG_NO_SSH', resource: '*', reason: 'vendor appliance needs SSH', expires: '2999-01-01'}],
    })
    const sarif = toSarif([report], RULES, '1.0.0') as any
    expect(sarif.version).toBe('2.1.0')
    expect(sarif.runs[0].tool.driver.rules).toHaveLength(RULES.length)
    // Each rule links the AWS documentation it follows.
    for (const rule of sarif.runs[0].tool.driver.rules) expect(rule.helpUri, rule.id).toMatch(/^https:\/\/docs\.aws\.amazon\.com\/[^\s,;)]+$/)
    const results = sarif.runs[0].results
    expect(results.find((r: any) => r.ruleId === 'INFRA_SG_NO_SSH').suppressions[0].status).toBe('accepted')
    expect(results.find((r: any) => r.ruleId === 'INFRA_SG_NO_WORLD_INGRESS')).toMatchObject({level: 'error', locations: [{logicalLocations: [{fullyQualifiedName: 'dev-estate/bastion/sg'}]}]})
  })
})
