import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
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
    expect(result.stderr.trim()).toBe('Error: "provison" is not an infra command: did you mean "infra provision"? Or run "infra --help" for the list')
    const topic = await runCli(['env', 'lst'])
    expect(topic.stderr).toContain('did you mean "infra env list"?')
    // A word that resembles no command gets the list, not a guess.
    const unrelated = await runCli(['nosuch'])
    expect(unrelated.exitCode).toBe(127)
    expect(unrelated.stderr.trim()).toBe('Error: "nosuch" is not an infra command: run "infra --help" for the list')
  })

  it('documents every flag of provision', async () => {
    const result = await runCli(['provision', '--help'])
    for (const flag of ['--env', '--dry-run', '--destroy', '--yes', '--json', '--profile', '--region', '--estate', '--terraform', '--plugin-mirror']) {
      expect(result.stdout).toContain(flag)
    }
  })

  it('offers --estate only on commands that read the estate', async () => {
    const {commands} = JSON.parse(readFileSync(new URL('../../oclif.manifest.json', import.meta.url), 'utf8'))
    const withEstate = (id: string) => 'estate' in commands[id].flags
    for (const id of ['provision', 'audit:stacks', 'audit:flow-logs', 'env:list']) expect(withEstate(id), id).toBe(true)
    for (const id of Object.keys(commands).filter((id) => /^(jobs|service):/.test(id) || id === 'audit:rules')) expect(withEstate(id), id).toBe(false)
    expect((await runCli(['jobs', 'status', '--help'])).stdout).not.toContain('--estate')
  })

  it('lists the estate as a table and as stable JSON', async () => {
    const table = await runCli(['env', 'list'])
    expect(table.stdout).toMatch(/prod\s+environment\s+333333333333\s+eu-west-1\s+10\.3\.0\.0\/16\s+ha\s+nat\s+yes/)
    const json = JSON.parse((await runCli(['env', 'list', '--json'])).stdout)
    expect(Object.keys(json)).toEqual(['source', 'organization', 'environments', 'pendingClients', 'pool'])
    expect(json.pool).toMatchObject({pool: '10.64.0.0/10', blockPrefix: 16, capacity: 64, remaining: 64, next: '10.64.0.0/16'})
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
    expect(result.stderr.trim()).toBe(`Error: estate file ${file} is invalid: environments.dev.accountId "12" is not valid: write exactly 12 digits in quotes, e.g. "111111111111"`)
    const json = await runCli(['env', 'list', '--estate', file, '--json'])
    expect(JSON.parse(json.stdout).error).toMatchObject({
      code: 'ESTATE_INVALID',
      fix: 'write exactly 12 digits in quotes, e.g. "111111111111"',
      details: [{path: 'environments.dev.accountId', problem: '"12" is not valid', fix: 'write exactly 12 digits in quotes, e.g. "111111111111"'}],
    })
    expect(json.exitCode).toBe(1)
  })

  it('lists every problem of an estate file, a line each with its fix', async () => {
    const file = path.join(dir, 'several.yaml')
    writeFileSync(file, 'organization: {name: acme, managementAccountId: "999999999999"}\nenvironments:\n  dev: {accountId: "12", vpcCidr: 10.1.0.0/16, region: eu-wset-1}\n  prod: {accountId: "333333333333", vpcCidr: 10.1.0.0/16, sizing: huge}\n')
    const result = await runCli(['env', 'list', '--estate', file])
    expect(result.exitCode).toBe(1)
    expect(result.stderr.trim().split('\n')).toEqual([
      `Error: estate file ${file} has 4 problems:`,
      '  environments.dev.accountId "12" is not valid; fix: write exactly 12 digits in quotes, e.g. "111111111111"',
      '  environments.dev.region "eu-wset-1" is not an AWS region; fix: did you mean "eu-west-1"? (`aws ec2 describe-regions` lists the regions)',
      '  environments.prod.sizing "huge" is not a sizing; fix: use one of: small, ha',
      "  environments.prod.vpcCidr 10.1.0.0/16 overlaps dev's 10.1.0.0/16; fix: give each account its own range, e.g. the next free 10.x.0.0/16",
    ])
    const json = JSON.parse((await runCli(['env', 'list', '--estate', file, '--json'])).stdout)
    expect(json.error.details.map((issue: any) => issue.path)).toEqual(['environments.dev.accountId', 'environments.dev.region', 'environments.prod.sizing', 'environments.prod.vpcCidr'])
  })

  it('names the environments that exist for an unknown one', async () => {
    const result = await runCli(['provision', '--env', 'staging', '--dry-run'])
    expect(result.exitCode).toBe(2)
    expect(result.stderr.trim()).toBe(`Error: unknown environment "staging" in ${path.resolve('config/estate.yaml')}: use one of: dev, test, prod`)
  })

  it('names the missing flag when no one can be asked', async () => {
    const result = await runCli(['provision', '--dry-run'])
    expect(result.exitCode).toBe(2)
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
    expect(result.exitCode).toBe(2)
    expect(result.stderr.trim()).toBe('Error: --destroy and --dry-run cannot be used together: see "infra provision --help"')
  })
})

describe('provision --dry-run', () => {
  it('synthesizes without terraform or AWS and reports what would be created, as JSON', async () => {
    const work = mkdtempSync(path.join(os.tmpdir(), 'infra-dry-'))
    const result = await runCli(['provision', '--env', 'prod', '--dry-run', '--no-validate', '--json', '--work-dir', work], {env: {AWS_ACCESS_KEY_ID: '', AWS_PROFILE: ''}})
    expect(result.exitCode).toBe(0)
    const report = JSON.parse(result.stdout)
    expect(Object.keys(report)).toEqual(['environment', 'accountId', 'region', 'mode', 'synthMs', 'validated', 'stacks', 'acceptedRisksLog', 'outputDir', 'bootstrapState', 'serviceManifests'])
    // prod has EKS: its service manifests are written beside the stacks and gated.
    expect(report.serviceManifests).toMatchObject({dir: path.join(work, 'prod', 'k8s', 'manifests'), audit: {passed: true}})
    expect(report.stacks[1].audit.synthesized).toMatchObject({passed: true, summary: {critical: 0, high: 0}})
    expect(report).toMatchObject({environment: 'prod', accountId: '333333333333', mode: 'dry-run', validated: false})
    expect(report.stacks.map((stack: any) => stack.name)).toEqual(['prod-state', 'prod-estate'])
    expect(report.stacks[1].resources.byType.aws_nat_gateway).toBe(3)
    expect(report.stacks[1].dependencies).toEqual(['prod-state'])
  })
})
