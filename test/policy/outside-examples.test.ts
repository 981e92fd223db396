import {mkdirSync, mkdtempSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import {describe, expect, it} from 'vitest'

import {runAudit} from '../../src/policy/engine.js'
import {RULES} from '../../src/policy/rules.js'
import {configurationInput} from '../../src/policy/terraform-config.js'
import {OUTSIDE_EXAMPLES, type OutsideExample} from './outside-examples.js'

/**
 * Every rule on Terraform nobody here wrote (test/policy/outside-examples.ts), read as `audit stacks
 * --file FOLDER` reads it: each example's verdict per rule, resource by resource.
 */
const root = mkdtempSync(path.join(os.tmpdir(), 'infra-outside-'))

function folderOf(example: OutsideExample, index: number): string {
  const dir = path.join(root, `example-${index}`)
  for (const [name, text] of Object.entries(example.files)) {
    mkdirSync(path.dirname(path.join(dir, name)), {recursive: true})
    writeFileSync(path.join(dir, name), text)
  }
  return dir
}

const label = (example: OutsideExample) => `${example.source.repo} ${example.source.path}${example.source.section ? ` (${example.source.section})` : ''}`

describe('outside examples', () => {
  it('cover every rule, each named by repository and file', () => {
    const covered = new Set(OUTSIDE_EXAMPLES.flatMap((example) => Object.keys(example.verdicts)))
    expect(RULES.map((rule) => rule.id).filter((id) => !covered.has(id))).toEqual([])
    for (const example of OUTSIDE_EXAMPLES) {
      expect(example.source.repo, label(example)).toMatch(/^[\w.-]+\/[\w.-]+$/)
      expect(example.source.path, label(example)).toMatch(/\.(tf|markdown|md|py)$/)
      // Every rule a verdict is given for exists.
      for (const id of Object.keys(example.verdicts)) expect(RULES.some((rule) => rule.id === id), `${label(example)}: ${id}`).toBe(true)
    }
  })

  it.each(OUTSIDE_EXAMPLES.map((example, index) => [label(example), example, index] as const))('%s', async (_name, example, index) => {
    const input = await configurationInput(folderOf(example, index), {vars: example.vars})
    const report = runAudit(input, {protected: example.protected ?? false, rules: RULES.filter((rule) => rule.id in example.verdicts)})
    for (const [id, failing] of Object.entries(example.verdicts)) {
      const rule = RULES.find((candidate) => candidate.id === id)!
      // The verdict is about resources the example has: a rule with nothing to judge proves nothing.
      expect(input.resources.some((resource) => rule.types.includes(resource.type)), `${id} has a resource of its types to judge`).toBe(true)
      const failed = report.findings.filter((finding) => finding.rule === id).map((finding) => finding.address).sort()
      expect(failed, id).toEqual([...failing].sort())
    }
  })
})
