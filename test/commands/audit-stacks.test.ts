import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import {describe, expect, it} from 'vitest'

import {runCli} from '../support/cli.js'

const dir = mkdtempSync(path.join(os.tmpdir(), 'infra-audit-cli-'))
const bad = path.join(dir, 'bad.tf.json')
writeFileSync(bad, JSON.stringify({resource: {aws_db_instance: {orders: {engine: 'postgres', publicly_accessible: true, storage_encrypted: true, manage_master_user_password: true}}}}))

describe('infra audit stacks', () => {
  it('passes our prod stacks and says so', async () => {
    const result = await runCli(['audit', 'stacks', '--env', 'prod', '--work-dir', dir])
    expect(result.exitCode).toBe(0)
    expect(result.stdout).toMatch(/prod-estate\/cdk\.tf\.json \(synthesized, \d+ resources, \d+ rules\): PASSED/)
    expect(result.stdout).toContain('0 critical, 0 high')
  })

  it('fails a file that breaks a rule, with the rule, checkov id, resource and fix', async () => {
    const result = await runCli(['audit', 'stacks', '--file', bad])
    expect(result.exitCode).toBe(1)
    expect(result.stdout).toContain('CRITICAL          INFRA_RDS_PRIVATE (CKV_AWS_17)')
    expect(result.stdout).toContain('aws_db_instance.orders is reachable from the internet')
    expect(result.stdout).toContain('fix: set publicly_accessible = false')
  })

  it('gives --json a stable shape and exits 1 on failure', async () => {
    const result = await runCli(['audit', 'stacks', '--file', bad, '--json'])
    expect(result.exitCode).toBe(1)
    const body = JSON.parse(result.stdout)
    expect(Object.keys(body)).toEqual(['passed', 'reports'])
    expect(Object.keys(body.reports[0])).toEqual(['source', 'kind', 'resources', 'rules', 'findings', 'summary', 'passed'])
    expect(Object.keys(body.reports[0].findings[0])).toEqual(['rule', 'checkov', 'title', 'severity', 'address', 'resourceType', 'constructPath', 'message', 'fix', 'status', 'exception'])
  })

  it('writes SARIF to a file', async () => {
    const out = path.join(dir, 'audit.sarif')
    const result = await runCli(['audit', 'stacks', '--file', bad, '--format', 'sarif', '--output', out])
    expect(result.exitCode).toBe(1)
    expect(result.stdout).toContain(`Failed: report written to ${out}`)
    expect(JSON.parse(readFileSync(out, 'utf8')).runs[0].results.map((r: any) => r.ruleId)).toContain('INFRA_RDS_PRIVATE')
  })

  it('needs exactly one of --env and --file, and a readable file', async () => {
    expect((await runCli(['audit', 'stacks'])).exitCode).not.toBe(0)
    const missing = await runCli(['audit', 'stacks', '--file', path.join(dir, 'nope.json')])
    expect(missing.exitCode).toBe(1)
    expect(missing.stderr).toContain('nope.json does not exist')
  })
})
