import {mkdtempSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import {describe, expect, it} from 'vitest'

import {runCli} from '../support/cli.js'

describe('infra as a user meets it', () => {
  it('shows topics and commands in --help, and its version', async () => {
    const help = await runCli(['--help'])
    expect(help.exitCode).toBe(0)
    expect(help.stdout).toMatch(/TOPICS[\s\S]*env/)
    expect(help.stdout).toMatch(/COMMANDS[\s\S]*provision/)
    expect(help.stdout).toContain('autocomplete')
    const version = await runCli(['--version'])
    expect(version.stdout).toMatch(/^infra\/\d+\.\d+\.\d+ /)
  })

  it('suggests the command meant by a typo, without a terminal', async () => {
    const result = await runCli(['provison', '--env', 'dev'])
    expect(result.exitCode).toBe(127)
    expect(result.stderr).toContain('Did you mean "infra provision"?')
    const topic = await runCli(['env', 'lst'])
    expect(topic.stderr).toContain('Did you mean "infra env list"?')
  })

  it('documents every flag of provision', async () => {
    const result = await runCli(['provision', '--help'])
    for (const flag of ['--env', '--dry-run', '--destroy', '--yes', '--json', '--profile', '--region', '--estate', '--terraform', '--plugin-mirror']) {
      expect(result.stdout).toContain(flag)
    }
  })

  it('lists the estate as a table and as stable JSON', async () => {
    const table = await runCli(['env', 'list'])
    expect(table.stdout).toMatch(/prod\s+environment\s+333333333333\s+eu-west-1\s+10\.3\.0\.0\/16\s+ha\s+nat\s+yes/)
    const json = JSON.parse((await runCli(['env', 'list', '--json'])).stdout)
    expect(Object.keys(json)).toEqual(['source', 'organization', 'environments'])
    expect(json.environments.map((env: any) => [env.name, env.accountId, env.vpcCidr])).toEqual([
      ['dev', '111111111111', '10.1.0.0/16'],
      ['test', '222222222222', '10.2.0.0/16'],
      ['prod', '333333333333', '10.3.0.0/16'],
    ])
  })
})

describe('bad input: one line, the fix, a non-zero exit', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'infra-cli-'))

  it('names the bad field of an estate file', async () => {
    const file = path.join(dir, 'bad.yaml')
    writeFileSync(file, 'organization: {name: acme, managementAccountId: "999999999999"}\nenvironments:\n  dev: {accountId: "12", vpcCidr: 10.1.0.0/16}\n')
    const result = await runCli(['env', 'list', '--estate', file])
    expect(result.exitCode).toBe(1)
    expect(result.stderr.trim().split('\n')).toHaveLength(1)
    expect(result.stderr).toContain('environments.dev.accountId "12" is not valid: exactly 12 digits')
    const json = await runCli(['env', 'list', '--estate', file, '--json'])
    expect(JSON.parse(json.stdout).error).toMatchObject({code: 'ESTATE_INVALID'})
    expect(json.exitCode).toBe(1)
  })

  it('names the environments that exist for an unknown one', async () => {
    const result = await runCli(['provision', '--env', 'staging', '--dry-run'])
    expect(result.exitCode).toBe(1)
    expect(result.stderr.trim()).toBe(`Error: unknown environment "staging" in ${path.resolve('config/estate.yaml')}: use one of: dev, test, prod`)
  })

  it('names the missing flag when no one can be asked', async () => {
    const result = await runCli(['provision', '--dry-run'])
    expect(result.exitCode).toBe(1)
    expect(result.stderr).toContain('missing --env: pass --env')
  })

  it('says terraform is missing before touching anything', async () => {
    const result = await runCli(['provision', '--env', 'dev', '--dry-run', '--json'], {env: {PATH: path.dirname(process.execPath)}})
    expect(result.exitCode).toBe(1)
    expect(JSON.parse(result.stdout).error).toEqual({
      code: 'TERRAFORM_NOT_FOUND',
      message: 'neither terraform nor tofu is on PATH',
      fix: 'install terraform >= 1.10 or OpenTofu, or pass --terraform /path/to/binary',
      details: null,
    })
    const named = await runCli(['provision', '--env', 'dev', '--dry-run', '--terraform', '/nonexistent/terraform'])
    expect(named.stderr).toContain('terraform binary "/nonexistent/terraform" was not found')
  })

  it('says there are no AWS credentials, with how to get them', async () => {
    const home = mkdtempSync(path.join(os.tmpdir(), 'infra-home-'))
    const result = await runCli(['provision', '--env', 'dev', '--yes', '--work-dir', path.join(home, '.infra')], {
      env: {HOME: home, AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '', AWS_SESSION_TOKEN: '', AWS_PROFILE: '', AWS_EC2_METADATA_DISABLED: 'true', AWS_CONFIG_FILE: path.join(home, 'none'), AWS_SHARED_CREDENTIALS_FILE: path.join(home, 'none')},
    })
    expect(result.exitCode).toBe(1)
    expect(result.stderr.trim()).toBe('Error: no AWS credentials found: pass --profile, set AWS_PROFILE, or export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY')
  })

  it('refuses --region that contradicts the estate', async () => {
    const result = await runCli(['provision', '--env', 'dev', '--dry-run', '--no-validate', '--region', 'us-east-1'])
    expect(result.stderr).toContain("--region us-east-1 disagrees with dev's region eu-west-1")
  })

  it('refuses --dry-run with --destroy', async () => {
    const result = await runCli(['provision', '--env', 'dev', '--dry-run', '--destroy'])
    expect(result.exitCode).not.toBe(0)
    expect(result.stderr).toMatch(/--destroy=true cannot also be provided when using --dry-run|cannot also be provided/)
  })
})

describe('provision --dry-run', () => {
  it('synthesizes without terraform or AWS and reports what would be created, as JSON', async () => {
    const work = mkdtempSync(path.join(os.tmpdir(), 'infra-dry-'))
    const result = await runCli(['provision', '--env', 'prod', '--dry-run', '--no-validate', '--json', '--work-dir', work], {env: {AWS_ACCESS_KEY_ID: '', AWS_PROFILE: ''}})
    expect(result.exitCode).toBe(0)
    const report = JSON.parse(result.stdout)
    expect(Object.keys(report)).toEqual(['environment', 'accountId', 'region', 'mode', 'synthMs', 'validated', 'stacks', 'acceptedRisksLog', 'outputDir', 'bootstrapState'])
    expect(report.stacks[1].audit.synthesized).toMatchObject({passed: true, summary: {critical: 0, high: 0}})
    expect(report).toMatchObject({environment: 'prod', accountId: '333333333333', mode: 'dry-run', validated: false})
    expect(report.stacks.map((stack: any) => stack.name)).toEqual(['prod-state', 'prod-estate'])
    expect(report.stacks[1].resources.byType.aws_nat_gateway).toBe(3)
    expect(report.stacks[1].dependencies).toEqual(['prod-state'])
  })
})
