import {readFileSync} from 'node:fs'
import {fileURLToPath} from 'node:url'

import {describe, expect, it} from 'vitest'

import {runAudit} from '../../src/policy/engine.js'
import {resourcesFromJson} from '../../src/policy/resources.js'
import {RULES} from '../../src/policy/rules.js'

// `terraform show -json` of terraform 1.11 / hashicorp/aws 5.100.0 planning infra's own dev-state
// stack (synthesized by `infra provision --env dev --dry-run`, planned against moto): the bucket
// policy embeds the bucket's ARN, so planned_values leaves the whole policy unknown until apply.
const PLAN_FILE = fileURLToPath(new URL('plans/dev-state.plan.json', import.meta.url))
const plan = () => JSON.parse(readFileSync(PLAN_FILE, 'utf8'))

describe('a terraform plan judged alone', () => {
  it('is a plan whose bucket policy is unknown until apply (the case that matters)', () => {
    const doc = plan()
    const policy = doc.resource_changes.find((change: any) => change.type === 'aws_s3_bucket_policy')
    expect(policy.change.after_unknown).toMatchObject({policy: true, bucket: true})
    expect(doc.planned_values.root_module.resources.find((r: any) => r.type === 'aws_s3_bucket_policy').values).toBeUndefined()
  })

  it('takes unknown values from the plan\'s configuration section: the state stack passes every rule', () => {
    const input = resourcesFromJson(plan(), 'dev-state.plan.json')
    const policy = input.resources.find((resource) => resource.type === 'aws_s3_bucket_policy')!
    expect(JSON.parse(policy.values.policy).Statement[0]).toMatchObject({Effect: 'Deny', Condition: {Bool: {'aws:SecureTransport': 'false'}}})
    expect(policy.values.bucket).toBe('${aws_s3_bucket.state-bucket_828F7150.id}')
    const report = runAudit(input)
    expect(report.findings).toEqual([])
    expect(report).toMatchObject({kind: 'plan', resources: 9, rules: RULES.length, passed: true})
  })

  it('without that section the policy is unknown and TLS-only cannot be shown (the section is what decides)', () => {
    const doc = plan()
    delete doc.configuration
    const report = runAudit(resourcesFromJson(doc, 'dev-state.plan.json'))
    expect(report.findings.map((finding) => finding.rule)).toContain('INFRA_S3_TLS_ONLY')
  })

  it('keeps the plan\'s known values over the configuration\'s', () => {
    const doc = plan()
    const bucket = doc.configuration.root_module.resources.find((r: any) => r.type === 'aws_s3_bucket')
    bucket.expressions.bucket = {constant_value: 'written-in-configuration'}
    const input = resourcesFromJson(doc, 'dev-state.plan.json')
    expect(input.resources.find((r) => r.type === 'aws_s3_bucket')!.values.bucket).toBe('acme-dev-tfstate-111111111111')
  })
})

describe('messages say what is wrong', () => {
  const rule = (id: string) => RULES.filter((candidate) => candidate.id === id)
  it('INFRA_RDS_PASSWORD_MANAGED names a password only when one is there', () => {
    const withNone = runAudit(resourcesFromJson({resource: {aws_db_instance: {db: {engine: 'postgres'}}}}, 'x'), {rules: rule('INFRA_RDS_PASSWORD_MANAGED')})
    expect(withNone.findings[0].message).toBe('aws_db_instance.db does not set manage_master_user_password = true, so its master password is not kept in Secrets Manager')
    const withOne = runAudit(resourcesFromJson({resource: {aws_db_instance: {db: {engine: 'postgres', password: 'x'}}}}, 'x'), {rules: rule('INFRA_RDS_PASSWORD_MANAGED')})
    expect(withOne.findings[0].message).toBe('aws_db_instance.db has its master password in configuration, so also in the state file')
    const managed = runAudit(resourcesFromJson({resource: {aws_db_instance: {db: {engine: 'postgres', manage_master_user_password: true}}}}, 'x'), {rules: rule('INFRA_RDS_PASSWORD_MANAGED')})
    expect(managed.findings).toEqual([])
  })

  it('a failed finding below --fail-on does not fail the report', () => {
    const input = resourcesFromJson({resource: {aws_db_instance: {db: {engine: 'postgres', storage_encrypted: true, manage_master_user_password: true}}}}, 'x')
    const high = runAudit(input, {blockAt: 'high'})
    expect(high.findings.map((finding) => finding.severity)).toEqual(['medium', 'medium'])
    expect(high).toMatchObject({failOn: 'high', passed: true, summary: {medium: 2}})
    expect(runAudit(input, {blockAt: 'medium'})).toMatchObject({failOn: 'medium', passed: false})
  })
})
