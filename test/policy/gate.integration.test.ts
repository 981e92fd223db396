import {existsSync, mkdtempSync, readFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import {describe, expect, inject, it} from 'vitest'

import {findTarget, parseEstate} from '../../src/estate/load.js'
import {RULES} from '../../src/policy/rules.js'
import {provision} from '../../src/provision/provision.js'
import {fakeTerraform} from '../support/fake-terraform.js'
import {RULE_FIXTURES, asPlan} from './fixtures.js'

/**
 * Every rule's failing example, handed to provision as the plan terraform produced, stops it
 * before `terraform apply`. terraform is a recording stand-in here (the subject is what infra does
 * with a plan); credentials are checked for real against moto.
 */
describe('provision refuses a plan that breaks a rule, before terraform apply', () => {
  it.each(RULE_FIXTURES.map((fixture) => [fixture.rule, fixture] as const))('%s', async (id, fixture) => {
    Object.assign(process.env, {AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_CA_BUNDLE: inject('motoCaBundle')})
    const estate = parseEstate(
      {
        organization: {name: 'acme', managementAccountId: '999999999999'},
        endpoint: inject('motoEndpoint'),
        // A protected environment is sized for production, or its own stacks would (rightly) be refused.
        environments: {dev: {accountId: '111111111111', vpcCidr: '10.1.0.0/16', ...(fixture.protected ? {sizing: 'ha', protected: true} : {})}},
      },
      'gate test',
    )
    const terraform = fakeTerraform(asPlan(fixture.fail))
    const workDir = mkdtempSync(path.join(os.tmpdir(), 'infra-gate-'))
    const severity = RULES.find((rule) => rule.id === id)!.severity
    const blocking = severity === 'critical' || severity === 'high'
    // A failing example may also trip other rules; for a medium or low rule, accept those so the
    // run shows what this rule alone does (it reports, and does not stop the apply).
    const acceptedRisks = blocking ? [] : RULES.filter((rule) => rule.id !== id).map((rule) => ({rule: rule.id, reason: 'isolating one rule in a test'}))
    const run = provision({
      acceptedRisks,
      estate,
      env: findTarget(estate, 'dev'),
      mode: 'apply',
      workDir,
      terraform: {binary: terraform.binary},
      validate: false,
      renderer: 'silent',
      confirm: async () => true,
    })
    if (blocking) {
      await expect(run).rejects.toMatchObject({code: 'AUDIT_FAILED', details: {stage: 'plan'}})
      expect(readFileSync(terraform.calls, 'utf8').trim().split('\n')).toEqual(['init', 'plan', 'show'])
    } else {
      // Medium and low findings are reported, not blocking: the plan goes on to apply.
      const report = await run
      expect(report.stacks[0].audit.plan!.summary[severity as 'medium' | 'low']).toBeGreaterThan(0)
      expect(readFileSync(terraform.calls, 'utf8')).toContain('apply')
    }
    expect(existsSync(path.join(workDir, 'dev', 'cdktf.out', 'stacks', 'dev-state', 'infra.tfplan'))).toBe(false)
  })
})
