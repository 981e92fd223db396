import {readFileSync} from 'node:fs'

import {describe, expect, it} from 'vitest'

import {runAudit} from '../../src/policy/engine.js'
import {resourcesFromJson} from '../../src/policy/resources.js'
import {RULES} from '../../src/policy/rules.js'
import {RULE_FIXTURES, asPlan} from './fixtures.js'

const findingsOf = (doc: object, ruleId: string, isProtected = false) =>
  runAudit(resourcesFromJson(doc, 'fixture'), {protected: isProtected, rules: RULES.filter((rule) => rule.id === ruleId)}).findings

describe('the rule set', () => {
  it('is counted in the README from the code', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8')
    const counts = [...readme.matchAll(/(\d+) security rules/g)].map((match) => Number(match[1]))
    expect(counts.length).toBeGreaterThan(0)
    expect(counts).toEqual(counts.map(() => RULES.length))
  })

  it('cites AWS documentation for every rule, and names the checkov check it is stricter than', () => {
    for (const rule of RULES) {
      expect(rule.source, rule.id).toMatch(/https:\/\/docs\.aws\.amazon\.com\/\S+/)
      if (rule.stricter) expect(rule.stricter, rule.id).toContain(rule.checkov ?? 'no checkov id')
    }
  })

  it('has at least 40 rules, unique ids, and a fixture for each', () => {
    expect(RULES.length).toBeGreaterThanOrEqual(40)
    expect(new Set(RULES.map((rule) => rule.id)).size).toBe(RULES.length)
    expect(RULE_FIXTURES.map((fixture) => fixture.rule).sort()).toEqual(RULES.map((rule) => rule.id).sort())
  })
})

describe.each(RULE_FIXTURES.map((fixture) => [fixture.rule, fixture] as const))('%s', (id, fixture) => {
  it('passes the good example and fails the bad one, in configuration JSON', () => {
    expect(findingsOf({resource: fixture.pass}, id, fixture.protected)).toEqual([])
    const findings = findingsOf({resource: fixture.fail}, id, fixture.protected)
    expect(findings.length).toBeGreaterThan(0)
    expect(findings[0]).toMatchObject({rule: id, status: 'failed'})
    expect(findings[0].fix.length).toBeGreaterThan(10)
  })

  it('judges the same way in plan JSON', () => {
    expect(findingsOf(asPlan(fixture.pass), id, fixture.protected)).toEqual([])
    expect(findingsOf(asPlan(fixture.fail), id, fixture.protected).length).toBeGreaterThan(0)
  })
})
