import {mkdtempSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import {describe, expect, it} from 'vitest'

import {DEFAULT_ESTATE_FILE, EstateValidationError, findTarget, loadEstate, parseEstate, resolveEstatePath} from '../../src/estate/load.js'

const valid = () => ({
  organization: {name: 'acme', managementAccountId: '999999999999'},
  environments: {
    dev: {accountId: '111111111111', vpcCidr: '10.1.0.0/16'},
    prod: {accountId: '333333333333', vpcCidr: '10.3.0.0/16', sizing: 'ha'},
  },
})

function issuesOf(doc: unknown): {field: string; problem: string}[] {
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
    expect(issue.field).toBe('environments.dev.accountId')
    expect(issue.problem).toContain('12 digits')
  })

  it('insists on quoted account ids, since YAML drops leading zeros', () => {
    const doc = valid() as any
    doc.environments.dev.accountId = 11111111111
    expect(issuesOf(doc)[0].problem).toContain('quoted string')
  })

  it('rejects malformed, public and overlapping CIDRs', () => {
    const doc = valid()
    doc.environments.dev.vpcCidr = '10.1.0.0/33'
    expect(issuesOf(doc)[0]).toMatchObject({field: 'environments.dev.vpcCidr'})
    doc.environments.dev.vpcCidr = '8.8.0.0/16'
    expect(issuesOf(doc)[0].problem).toContain('private range')
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
    const fields = issuesOf(doc).map((issue) => issue.field)
    expect(fields).toEqual(expect.arrayContaining(['environments.prod.accountId', 'environments.dev.sizng', 'environments.dev.omitLayers', 'environments.prod.sizing']))
  })

  it('summarizes every problem in one line', () => {
    const doc = valid() as any
    doc.environments.dev.accountId = 'x'
    doc.environments.prod.vpcCidr = 'y'
    const error = (() => {
      try {
        parseEstate(doc, 'e.yaml')
      } catch (e) {
        return e as EstateValidationError
      }
    })()!
    expect(error.message).not.toContain('\n')
    expect(error.message).toMatch(/^estate file e.yaml is invalid: environments.dev.accountId .*\(and 1 more problem\)$/)
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
    expect(() => loadEstate({file: 'broken.yaml', cwd: dir, env: {}})).toThrow(/is not valid YAML/)
  })

  it('takes the emulator endpoint from AWS_ENDPOINT_URL', () => {
    expect(loadEstate({env: {AWS_ENDPOINT_URL: 'https://127.0.0.1:4566'}}).endpoint).toBe('https://127.0.0.1:4566')
  })
})
