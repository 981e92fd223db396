import {readFileSync} from 'node:fs'
import path from 'node:path'

import {describe, expect, it} from 'vitest'

import {buildSbom} from '../../scripts/sbom.mjs'
import {expressionAllowed, licenceViolations, parseAllowList} from '../../supply-chain/licences.mjs'

const ROOT = path.resolve(import.meta.dirname, '../..')
const ALLOW_LIST_FILE = path.join(ROOT, 'supply-chain/licence-allow-list.json')
const allowList = parseAllowList(JSON.parse(readFileSync(ALLOW_LIST_FILE, 'utf8')), 'supply-chain/licence-allow-list.json')
const lock = JSON.parse(readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8'))

function installedManifest(installPath: string): unknown {
  try {
    return JSON.parse(readFileSync(path.join(ROOT, installPath, 'package.json'), 'utf8'))
  } catch {
    return undefined
  }
}

describe('the licence allow-list', () => {
  it('allows the licence of every production dependency (supply-chain/licence-allow-list.json)', () => {
    const sbom = buildSbom(lock, {readManifest: installedManifest})
    const violations = licenceViolations(sbom, allowList)
    // Each line names the package, its licence and what to do.
    expect(violations.map((v) => `${v.component}: ${v.licence ?? 'no licence'}: ${v.problem}`)).toEqual([])
    expect(sbom.components.length).toBeGreaterThan(300)
  })

  it('fails a production dependency whose licence is not allowed, or that declares none', () => {
    const component = (name: string, licenses: unknown[] | undefined) => ({name, version: '1.0.0', ...(licenses ? {licenses} : {})})
    const sbom = {
      components: [
        component('fine', [{license: {id: 'MIT'}}]),
        component('copyleft', [{license: {id: 'GPL-3.0-only'}}]),
        component('silent', undefined),
        component('either', [{expression: '(MIT OR GPL-3.0-only)'}]),
        component('both', [{expression: 'MIT AND AGPL-3.0-or-later'}]),
      ],
    }
    expect(licenceViolations(sbom, allowList)).toEqual([
      {component: 'copyleft@1.0.0', licence: 'GPL-3.0-only', problem: 'licence is not on the allow-list'},
      {component: 'silent@1.0.0', licence: null, problem: 'declares no licence'},
      {component: 'both@1.0.0', licence: 'MIT AND AGPL-3.0-or-later', problem: 'licence is not on the allow-list'},
      // The repository's own exception is reported when it covers nothing.
      {component: 'jsonify@0.0.1', licence: 'Public Domain', problem: 'exception matches no production dependency: remove it'},
    ])
  })

  it('an exception covers only the package, version and licence it names', () => {
    const list = parseAllowList({allowed: ['MIT'], exceptions: [{name: '@scope/odd', version: '2.0.0', licence: 'Public Domain', reason: 'cleared by legal, ticket 42'}]})
    const odd = (version: string, licence: string) => ({group: '@scope', name: 'odd', version, licenses: [{license: {name: licence}}]})
    expect(licenceViolations({components: [odd('2.0.0', 'Public Domain')]}, list)).toEqual([])
    expect(licenceViolations({components: [odd('2.0.1', 'Public Domain')]}, list).map((v) => v.problem)).toEqual(['licence is not on the allow-list', 'exception matches no production dependency: remove it'])
    expect(licenceViolations({components: [odd('2.0.0', 'GPL-2.0-only')]}, list)[0]).toMatchObject({component: '@scope/odd@2.0.0', licence: 'GPL-2.0-only'})
  })

  it('reads SPDX expressions as the SPDX specification defines them (AND binds tighter than OR)', () => {
    const allowed = new Set(['MIT', 'Apache-2.0'])
    expect(expressionAllowed('(MIT OR Apache-2.0)', allowed)).toBe(true)
    expect(expressionAllowed('(BSD-2-Clause OR MIT OR Apache-2.0)', allowed)).toBe(true)
    expect(expressionAllowed('GPL-3.0-only OR MIT', allowed)).toBe(true)
    expect(expressionAllowed('MIT AND GPL-3.0-only', allowed)).toBe(false)
    // GPL AND EPL binds first, then OR MIT: allowed through MIT.
    expect(expressionAllowed('MIT OR GPL-3.0-only AND EPL-2.0', allowed)).toBe(true)
    expect(expressionAllowed('(MIT OR GPL-3.0-only) AND EPL-2.0', allowed)).toBe(false)
    expect(expressionAllowed('Apache-2.0 WITH LLVM-exception', allowed)).toBe(true)
    expect(expressionAllowed('GPL-2.0-only WITH Classpath-exception-2.0', allowed)).toBe(false)
    expect(() => expressionAllowed('(MIT OR', allowed)).toThrow(/not an SPDX licence expression/)
    expect(() => expressionAllowed('MIT OR OR ISC', allowed)).toThrow(/"OR" where a licence id belongs/)
  })

  it('rejects an allow-list whose exception gives no reason', () => {
    expect(() => parseAllowList({allowed: ['MIT'], exceptions: [{name: 'x', licence: 'Custom'}]}, 'list.json')).toThrow('list.json: exception 1 needs a "reason"')
    expect(() => parseAllowList({allowed: 'MIT'}, 'list.json')).toThrow(/"allowed" must be a list of SPDX licence ids/)
    for (const entry of allowList.exceptions) expect(entry.reason.length, entry.name).toBeGreaterThan(20)
  })
})
