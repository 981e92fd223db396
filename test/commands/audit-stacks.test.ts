import {mkdirSync, mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

import {describe, expect, it} from 'vitest'

import {RULES} from '../../src/policy/rules.js'
import {runCli} from '../support/cli.js'

const PLAN = fileURLToPath(new URL('../policy/plans/dev-state.plan.json', import.meta.url))

const dir = mkdtempSync(path.join(os.tmpdir(), 'infra-audit-cli-'))
const bad = path.join(dir, 'bad.tf.json')
writeFileSync(bad, JSON.stringify({resource: {aws_db_instance: {orders: {engine: 'postgres', publicly_accessible: true, storage_encrypted: true, manage_master_user_password: true}}}}))

describe('infra audit stacks', () => {
  it('passes our prod stacks and says so', async () => {
    const result = await runCli(['audit', 'stacks', '--env', 'prod', '--work-dir', dir])
    expect(result.exitCode).toBe(0)
    expect(result.stdout).toMatch(/prod-estate\/cdk\.tf\.json \(synthesized, \d+ resources, \d+ rules, fail on high and above\): PASSED/)
    expect(result.stdout).toContain('failing: 0 critical, 0 high; below --fail-on: 0 medium, 0 low; accepted: 0')
  })

  it('fails a file that breaks a rule, with the rule, checkov id, resource and fix', async () => {
    const result = await runCli(['audit', 'stacks', '--file', bad])
    expect(result.exitCode).toBe(1)
    expect(result.stdout).toContain('CRITICAL          INFRA_RDS_PRIVATE (CKV_AWS_17)')
    expect(result.stdout).toContain('aws_db_instance.orders is reachable from the internet')
    expect(result.stdout).toContain('fix: set publicly_accessible = false')
  })

  it('audits a folder of .tf files: --var as terraform -var, and exit 3 naming what only a plan can tell', async () => {
    const tf = path.join(dir, 'tf')
    mkdirSync(tf, {recursive: true})
    writeFileSync(path.join(tf, 'main.tf'), [
      'variable "public" { default = true }',
      'variable "key" {}',
      'resource "aws_db_instance" "orders" {',
      '  engine = "postgres"',
      '  publicly_accessible = var.public',
      '  storage_encrypted = true',
      '  manage_master_user_password = true',
      '  backup_retention_period = 7',
      '  iam_database_authentication_enabled = true',
      '  kms_key_id = var.key',
      '}',
      '',
    ].join('\n'))
    const failing = await runCli(['audit', 'stacks', '--file', tf, '--var', 'key=arn:aws:kms:eu-west-1:111111111111:key/1'])
    expect(failing.exitCode).toBe(1)
    expect(failing.stdout).toContain('aws_db_instance.orders is reachable from the internet')
    const unproven = await runCli(['audit', 'stacks', '--file', tf, '--var', 'public=false', '--json'])
    expect(unproven.exitCode).toBe(3)
    const body = JSON.parse(unproven.stdout)
    expect(body).toMatchObject({passed: true, proven: false})
    expect(body.reports[0].notEvaluated).toEqual([{address: 'aws_db_instance.orders', attribute: 'kms_key_id', reason: 'var.key has no value: give --var key=VALUE or --var-file'}])
  })

  it('gives --json a stable shape and exits 1 on failure', async () => {
    const result = await runCli(['audit', 'stacks', '--file', bad, '--json'])
    expect(result.exitCode).toBe(1)
    const body = JSON.parse(result.stdout)
    expect(Object.keys(body)).toEqual(['passed', 'proven', 'reports'])
    expect(Object.keys(body.reports[0])).toEqual(['source', 'kind', 'resources', 'rules', 'findings', 'summary', 'failOn', 'passed', 'notEvaluated'])
    expect(Object.keys(body.reports[0].findings[0])).toEqual(['rule', 'checkov', 'title', 'severity', 'address', 'resourceType', 'constructPath', 'message', 'fix', 'status', 'exception', 'unprovenBy'])
  })

  it('writes SARIF to a file', async () => {
    const out = path.join(dir, 'audit.sarif')
    const result = await runCli(['audit', 'stacks', '--file', bad, '--format', 'sarif', '--output', out])
    expect(result.exitCode).toBe(1)
    expect(result.stdout).toContain(`Failed: report written to ${out}`)
    expect(JSON.parse(readFileSync(out, 'utf8')).runs[0].results.map((r: any) => r.ruleId)).toContain('INFRA_RDS_PRIVATE')
  })

  it('needs exactly one of --env and --file, and a readable file (exit 2, not the 1 of findings)', async () => {
    expect((await runCli(['audit', 'stacks'])).exitCode).toBe(2)
    const missing = await runCli(['audit', 'stacks', '--file', path.join(dir, 'nope.json')])
    expect(missing.exitCode).toBe(2)
    expect(missing.stderr.trim()).toBe(`Error: no such file or folder: ${path.join(dir, 'nope.json')}: check the path; a file can only be written into a folder that exists`)
    const notJson = path.join(dir, 'not.json')
    writeFileSync(notJson, 'resource "aws_s3_bucket" "b" {}')
    const unreadable = await runCli(['audit', 'stacks', '--file', notJson, '--json'])
    expect(unreadable.exitCode).toBe(2)
    expect(JSON.parse(unreadable.stdout).error.code).toBe('AUDIT_INPUT_UNREADABLE')
  })

  it('passes infra\'s own state-stack plan as terraform wrote it, with no --configuration', async () => {
    const result = await runCli(['audit', 'stacks', '--file', PLAN])
    expect(result.exitCode).toBe(0)
    expect(result.stdout).toContain('(plan, 9 resources')
    expect(result.stdout).toContain('): PASSED')
    expect(result.stdout).not.toContain('INFRA_S3_TLS_ONLY')
  })

  it('agrees with --fail-on: a high finding under --fail-on critical is reported below it, and the audit passes', async () => {
    const high = path.join(dir, 'high.tf.json')
    writeFileSync(high, JSON.stringify({resource: {aws_db_instance: {orders: {engine: 'postgres', storage_encrypted: true, backup_retention_period: 7, iam_database_authentication_enabled: true}}}}))
    const result = await runCli(['audit', 'stacks', '--file', high, '--fail-on', 'critical'])
    expect(result.exitCode).toBe(0)
    expect(result.stdout).toContain('fail on critical and above): PASSED')
    expect(result.stdout).toContain('high (below)      INFRA_RDS_PASSWORD_MANAGED')
    expect(result.stdout).toContain('failing: 0 critical; below --fail-on: 1 high, 0 medium, 0 low; accepted: 0')
    expect(result.stdout).not.toMatch(/FAILED|\bfailed\b/)
    const strict = await runCli(['audit', 'stacks', '--file', high])
    expect(strict.exitCode).toBe(1)
    expect(strict.stdout).toContain('fail on high and above): FAILED')
  })
})

describe('infra audit rules', () => {
  it('lists every rule with its id, checkov id, severity and fix, as text and JSON', async () => {
    const json = await runCli(['audit', 'rules', '--json'])
    expect(json.exitCode).toBe(0)
    const {rules} = JSON.parse(json.stdout)
    expect(rules.map((rule: any) => rule.id)).toEqual(RULES.map((rule) => rule.id))
    expect(rules.find((rule: any) => rule.id === 'INFRA_RDS_PRIVATE')).toEqual({
      id: 'INFRA_RDS_PRIVATE', checkov: 'CKV_AWS_17', severity: 'critical', title: 'Databases are not publicly accessible',
      resourceTypes: ['aws_db_instance', 'aws_rds_cluster_instance', 'aws_neptune_cluster_instance', 'aws_rds_shard_group'], fix: 'set publicly_accessible = false',
      stricterThanCheckov: expect.stringMatching(/^CKV_AWS_17 reads aws_db_instance and aws_rds_cluster_instance only/),
      source: expect.stringContaining('https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_VPC.WorkingWithRDSInstanceinaVPC.html#USER_VPC.Hiding'),
    })
    // Every rule cites AWS's documentation.
    for (const rule of rules) expect(rule.source, rule.id).toMatch(/https:\/\/docs\.aws\.amazon\.com\//)
    // Where a rule fails more than its checkov check, the listing says so and why.
    expect(rules.find((rule: any) => rule.id === 'INFRA_SECRET_CMK').stricterThanCheckov).toMatch(/alias\/aws\/secretsmanager/)
    const text = await runCli(['audit', 'rules'])
    for (const rule of RULES) expect(text.stdout).toMatch(new RegExp(`^${rule.id}\\s+${rule.checkov ?? '-'}\\s+${rule.severity}\\s`, 'm'))
    expect(text.stdout).toContain(`${RULES.length} rules, each citing the AWS documentation it follows (source in --json).`)
    const stricter = text.stdout.slice(text.stdout.indexOf('Stricter than the checkov check they name:\n'))
    for (const rule of RULES.filter((candidate) => candidate.stricter)) expect(stricter).toMatch(new RegExp(`^ {2}${rule.id}: ${rule.checkov}`, 'm'))
  })
})
