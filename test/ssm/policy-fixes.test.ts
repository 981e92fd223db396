import {readFileSync} from 'node:fs'

import {describe, expect, it} from 'vitest'

import {RULES} from '../../src/policy/rules.js'

// Fix texts that send people to `infra session` or `infra tunnel` must name commands and flags
// that exist: checked against the oclif manifest the build writes.
const manifest = JSON.parse(readFileSync(new URL('../../oclif.manifest.json', import.meta.url), 'utf8')) as {commands: Record<string, {flags: Record<string, unknown>}>}

/** The command a snippet like `infra session bastion --env ENV` runs, and the flags it names. */
function resolve(snippet: string): {id: string | undefined; flags: string[]} {
  const words = snippet.split(/\s+/).slice(1)
  const positional = words.filter((w) => !w.startsWith('-'))
  let id: string | undefined
  for (let n = positional.length; n > 0 && !id; n--) {
    const candidate = positional.slice(0, n).join(':')
    if (manifest.commands[candidate]) id = candidate
  }
  return {id, flags: words.filter((w) => w.startsWith('--')).map((w) => w.slice(2).split('=')[0])}
}

describe('policy fix texts', () => {
  const snippets = RULES.flatMap((rule) => [...(rule.fix ?? '').matchAll(/`(infra (?:session|tunnel)[^`]*)`/g)].map((m) => ({rule: rule.id, snippet: m[1]})))

  it('send people to session and tunnel commands (so this test checks something)', () => {
    expect(snippets.map((s) => s.rule)).toEqual(expect.arrayContaining(['INFRA_SG_NO_SSH', 'INFRA_SG_NO_RDP']))
  })

  it.each(snippets.map((s) => [s.rule, s.snippet]))('%s: `%s` names a command and flags that exist', (_rule, snippet) => {
    const {id, flags} = resolve(snippet)
    expect(id, `no command for ${snippet}`).toBeDefined()
    for (const flag of flags) expect(Object.keys(manifest.commands[id!].flags), `${snippet}: --${flag}`).toContain(flag)
  })
})
