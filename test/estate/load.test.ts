import {mkdtempSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import {describe, expect, it} from 'vitest'

import {DEFAULT_ESTATE_FILE, type EstateIssue, EstateValidationError, findTarget, loadEstate, parseEstate, resolveEstatePath} from '../../src/estate/load.js'

const valid = () => ({
  organization: {name: 'acme', managementAccountId: '999999999999'},
  environments: {
    dev: {accountId: '111111111111', vpcCidr: '10.1.0.0/16'},
    prod: {accountId: '333333333333', vpcCidr: '10.3.0.0/16', sizing: 'ha'},
  },
})

function issuesOf(doc: unknown): EstateIssue[] {
  try {
    parseEstate(doc, 'estate.yaml')
  } catch (error) {
    expect(error).toBeInstanceOf(EstateValidationError)
    return (error as EstateValidationError).issues
  }
  throw new Error('expected the estate to be rejected')
}

describe('the shipped default estate', () => {
  it('matches the estate the product promises', () => {
    const estate = loadEstate({file: DEFAULT_ESTATE_FILE, env: {}})
    const summary = estate.environments.map((env) => [env.name, env.accountId, env.vpcCidr, env.sizing, env.protected])
    expect(summary).toEqual([
      ['dev', '111111111111', '10.1.0.0/16', 'small', false],
      ['test', '222222222222', '10.2.0.0/16', 'small', false],
      ['prod', '333333333333', '10.3.0.0/16', 'ha', true],
    ])
    expect(findTarget(estate, 'prod').roleArn).toBe('arn:aws:iam::333333333333:role/OrganizationAccountAccessRole')
    expect(findTarget(estate, 'dev').availabilityZones).toEqual(['eu-west-1a', 'eu-west-1b', 'eu-west-1c'])
  })
})

describe('estate validation', () => {
  it('resolves defaults', () => {
    const estate = parseEstate(valid(), 'x')
    const dev = findTarget(estate, 'dev')
    expect(dev).toMatchObject({region: 'eu-west-1', sizing: 'small', egress: 'nat', protected: false, stateBucket: 'acme-dev-tfstate-111111111111'})
    expect(findTarget(estate, 'prod').protected).toBe(true)
  })

  it('names a bad account id and how to write it', () => {
    const doc = valid()
    doc.environments.dev.accountId = '1234'
    const [issue] = issuesOf(doc)
    expect(issue).toEqual({path: 'environments.dev.accountId', problem: '"1234" is not valid', fix: 'write exactly 12 digits in quotes, e.g. "111111111111"'})
  })

  it('insists on quoted account ids, since YAML drops leading zeros', () => {
    const doc = valid() as any
    doc.environments.dev.accountId = 11111111111
    expect(issuesOf(doc)[0].problem).toBe('is the number 11111111111, not a quoted string')
  })

  it('rejects malformed, public and overlapping CIDRs', () => {
    const doc = valid()
    doc.environments.dev.vpcCidr = '10.1.0.0/33'
    expect(issuesOf(doc)[0]).toMatchObject({path: 'environments.dev.vpcCidr'})
    doc.environments.dev.vpcCidr = '8.8.0.0/16'
    expect(issuesOf(doc)[0]).toMatchObject({problem: '"8.8.0.0/16" is not in a private range', fix: expect.stringContaining('10.0.0.0/8')})
    doc.environments.dev.vpcCidr = '10.3.128.0/20'
    const overlap = issuesOf(doc)
    expect(overlap[0].problem).toContain('overlaps')
  })

  it('rejects a shared account, an unknown setting, a bad layer and a bad sizing, all at once', () => {
    const doc = valid() as any
    doc.environments.prod.accountId = '111111111111'
    doc.environments.dev.sizng = 'small'
    doc.environments.dev.omitLayers = ['network']
    doc.environments.prod.sizing = 'huge'
    const fields = issuesOf(doc).map((issue) => issue.path)
    expect(fields).toEqual(expect.arrayContaining(['environments.prod.accountId', 'environments.dev.sizng', 'environments.dev.omitLayers', 'environments.prod.sizing']))
  })

  it('takes the service\'s retention in whole days, and refuses anything else', () => {
    const doc = valid() as any
    doc.environments.dev.service = {retentionDays: 7}
    expect(parseEstate(doc, 'e.yaml').environments.find((e) => e.name === 'dev')!.service).toEqual({retentionDays: 7})
    for (const bad of [0, 1.5, '30', 4000]) {
      doc.environments.dev.service = {retentionDays: bad}
      expect(() => parseEstate(doc, 'e.yaml'), String(bad)).toThrow(EstateValidationError)
    }
  })

  it('takes the service\'s tracing collector per environment, off by default, and refuses one that is not a URL', () => {
    const doc = valid() as any
    expect(parseEstate(doc, 'e.yaml').environments.find((e) => e.name === 'dev')!.service).toBeUndefined()
    doc.environments.dev.service = {tracing: {otlpEndpoint: 'http://otel-collector.observability:4318'}}
    expect(parseEstate(doc, 'e.yaml').environments.find((e) => e.name === 'dev')!.service).toEqual({tracing: {otlpEndpoint: 'http://otel-collector.observability:4318'}})
    doc.environments.dev.service = {tracing: {otlpEndpoint: 'otel-collector:4318', sampler: 'x'}}
    const error = (() => {
      try {
        parseEstate(doc, 'e.yaml')
      } catch (e) {
        return e as EstateValidationError
      }
    })()!
    expect(error.details).toEqual([
      {path: 'environments.dev.service.tracing.sampler', problem: 'is not a known setting', fix: 'remove it; known: otlpEndpoint'},
      {path: 'environments.dev.service.tracing.otlpEndpoint', problem: '"otel-collector:4318" is not an http(s) URL', fix: expect.stringContaining('http://otel-collector.observability:4318')},
    ])
  })

  it('lists every problem with its fix: in the message, in details, and a line each for a person', () => {
    const doc = valid() as any
    doc.environments.dev.accountId = 'x'
    doc.environments.prod.vpcCidr = 'y'
    doc.environments.prod.region = 'eu-wset-1'
    doc.environments.dev.sizng = 'small'
    const error = (() => {
      try {
        parseEstate(doc, 'e.yaml')
      } catch (e) {
        return e as EstateValidationError
      }
    })()!
    expect(error.details).toEqual([
      {path: 'environments.dev.sizng', problem: 'is not a known setting', fix: expect.stringMatching(/^did you mean sizing\? Known: accountId, /)},
      {path: 'environments.dev.accountId', problem: '"x" is not valid', fix: 'write exactly 12 digits in quotes, e.g. "111111111111"'},
      {path: 'environments.prod.region', problem: '"eu-wset-1" is not an AWS region', fix: 'did you mean "eu-west-1"? (`aws ec2 describe-regions` lists the regions)'},
      {path: 'environments.prod.vpcCidr', problem: '"y" is not a valid IPv4 CIDR with no host bits set', fix: 'write a network address and prefix, e.g. 10.1.0.0/16'},
    ])
    expect(error.message).not.toContain('\n')
    expect(error.message).toBe('estate file e.yaml has 4 problems: environments.dev.sizng is not a known setting; environments.dev.accountId "x" is not valid; environments.prod.region "eu-wset-1" is not an AWS region; environments.prod.vpcCidr "y" is not a valid IPv4 CIDR with no host bits set')
    expect(error.fix).toBe('fix each problem as listed (in --json: details), then run again')
    expect(error.describe().split('\n')).toEqual([
      'estate file e.yaml has 4 problems:',
      ...(error.details as EstateIssue[]).map((issue) => `  ${issue.path} ${issue.problem}; fix: ${issue.fix}`),
    ])
  })

  it('gives every problem a fix that is a sentence, never empty or ending in a colon', () => {
    const doc = {organization: {name: 'A', managementAccountId: 1}, defaults: {region: 'moon-1', roleName: 'a b'}, endpoint: 'ftp://x', environments: {
      Dev: {accountId: '111111111111', vpcCidr: '10.1.0.0/8', availabilityZones: ['x'], roleArn: 'nope', stateBucket: 'A_B', sizing: 'big', egress: 'all', protected: 'yes', omitLayers: ['network'], email: 'no'},
      test: {accountId: '111111111111', vpcCidr: '10.1.0.0/16'},
      x: 'y',
    }, exceptions: [{rule: 'ssh', resource: '', reason: 'short', expires: 'soon'}, 'z']}
    const issues = issuesOf(doc)
    expect(issues.length).toBeGreaterThanOrEqual(20)
    for (const issue of issues) {
      expect(issue.fix, issue.path).toMatch(/^\S.{8,}[^:]$/)
      expect(issue.problem, issue.path).not.toMatch(/:$/)
    }
  })

  it('checks regions against the AWS list', () => {
    const doc = valid() as any
    doc.environments.dev.region = 'eu-west-9'
    expect(issuesOf(doc)).toEqual([{path: 'environments.dev.region', problem: '"eu-west-9" is not an AWS region', fix: 'did you mean "eu-west-1"? (`aws ec2 describe-regions` lists the regions)'}])
    doc.environments.dev.region = 'ap-southeast-7'
    expect(parseEstate(doc, 'x').environments[0].availabilityZones).toEqual(['ap-southeast-7a', 'ap-southeast-7b', 'ap-southeast-7c'])
  })

  it('names the known environments for an unknown one', () => {
    expect(() => findTarget(parseEstate(valid(), 'x'), 'staging')).toThrow(/unknown environment "staging"/)
    try {
      findTarget(parseEstate(valid(), 'x'), 'staging')
    } catch (error) {
      expect((error as {fix: string}).fix).toBe('use one of: dev, prod')
    }
  })
})

describe('finding the estate file', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'infra-estate-'))

  it('prefers the flag, then INFRA_ESTATE, then the working folder, then the default', () => {
    expect(resolveEstatePath(undefined, dir, {})).toBe(DEFAULT_ESTATE_FILE)
    writeFileSync(path.join(dir, 'infra.estate.yaml'), 'x: 1')
    expect(resolveEstatePath(undefined, dir, {})).toBe(path.join(dir, 'infra.estate.yaml'))
    writeFileSync(path.join(dir, 'other.yaml'), 'x: 1')
    expect(resolveEstatePath(undefined, dir, {INFRA_ESTATE: 'other.yaml'})).toBe(path.join(dir, 'other.yaml'))
    expect(resolveEstatePath(DEFAULT_ESTATE_FILE, dir, {INFRA_ESTATE: 'other.yaml'})).toBe(DEFAULT_ESTATE_FILE)
  })

  it('fails clearly on a missing file or broken YAML', () => {
    expect(() => resolveEstatePath('nope.yaml', dir, {})).toThrow(/does not exist/)
    writeFileSync(path.join(dir, 'broken.yaml'), 'environments: [unclosed')
    writeFileSync(path.join(dir, 'broken.yaml'), 'organization: {name: acme\nenvironments:\n  dev: {accountId: "1"}\n')
    try {
      loadEstate({file: 'broken.yaml', cwd: dir, env: {}})
      expect.unreachable()
    } catch (error) {
      const {message, fix} = error as EstateValidationError
      expect(message).toMatch(/^estate file .*broken\.yaml is not valid YAML: .*[^:]$/)
      expect(fix).toMatch(/^correct line \d+ /)
    }
    expect(() => loadEstate({file: dir, env: {}})).toThrow(`${dir} is a folder, not a file`)
  })

  it('takes the emulator endpoint from AWS_ENDPOINT_URL', () => {
    expect(loadEstate({env: {AWS_ENDPOINT_URL: 'https://127.0.0.1:4566'}}).endpoint).toBe('https://127.0.0.1:4566')
  })
})
