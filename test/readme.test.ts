import {existsSync, readFileSync} from 'node:fs'
import path from 'node:path'

import {execa} from 'execa'
import {describe, expect, it} from 'vitest'

const ROOT = path.resolve(import.meta.dirname, '..')
const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8')
const manifest = JSON.parse(readFileSync(path.join(ROOT, 'oclif.manifest.json'), 'utf8')) as {
  commands: Record<string, {flags: Record<string, {allowNo?: boolean}>}>
}
/** Commands that plugins bring; they are not in our manifest. */
const PLUGIN_COMMANDS = new Set(['autocomplete', 'help'])

interface Row {
  commands: string[]
  flags: string[]
  text: string
}

/** The rows of the README's command table: the commands of the first cell and every flag the row names. */
function commandTable(): Row[] {
  const section = readme.split('\n## Commands\n')[1]?.split('\n## ')[0] ?? ''
  return section
    .split('\n')
    .filter((line) => line.startsWith('| `infra'))
    .map((line) => {
      const [first] = line.slice(2).split(' | ')
      const words = first.replaceAll('`', '').replace(/^infra /, '').split(' ')
      const plain: string[] = []
      while (words.length && !/^[-[]/.test(words[0])) plain.push(words.shift()!)
      // `jobs trigger\|status` names several commands; `session bastion\|ID` one command and its argument.
      const alternatives = plain.reduce<string[][]>((paths, word) => paths.flatMap((p) => word.split('\\|').map((alt) => [...p, alt])), [[]])
      const commands = [...new Set(alternatives.map((path) => {
        for (let n = path.length; n > 0; n--) {
          const id = path.slice(0, n).join(':')
          if (id in manifest.commands || PLUGIN_COMMANDS.has(id)) return id
        }
        return path.join(':')
      }))]
      // The first cell's flags, and every code span that is a flag (`--endpoint`); spans that quote
      // another tool (`kubectl apply --server-side`) are not ours.
      const ownSpans = [first, ...[...line.matchAll(/`(--[^`]*)`/g)].map((match) => match[1])]
      const flags = ownSpans.flatMap((span) => [...span.matchAll(/--([a-z][a-z-]*)/g)].map((match) => match[1]))
      return {commands, flags: [...new Set(flags)], text: line}
    })
}

describe('the README command table', () => {
  const rows = commandTable()

  it('names only commands that exist', () => {
    expect(rows.length).toBeGreaterThan(5)
    for (const row of rows) for (const id of row.commands) expect(PLUGIN_COMMANDS.has(id) || id in manifest.commands, `${id} in: ${row.text}`).toBe(true)
  })

  it('covers every command of the manifest', () => {
    const documented = new Set(rows.flatMap((row) => row.commands))
    const missing = Object.keys(manifest.commands).filter((id) => !documented.has(id))
    expect(missing).toEqual([])
  })

  it('names only flags those commands have', () => {
    for (const row of rows) {
      const known = row.commands.flatMap((id) => Object.entries(manifest.commands[id]?.flags ?? {}).flatMap(([name, flag]) => (flag.allowNo ? [name, `no-${name}`] : [name])))
      if (row.commands.every((id) => PLUGIN_COMMANDS.has(id))) continue
      for (const flag of row.flags) expect(known, `--${flag} in: ${row.text}`).toContain(flag)
    }
  })
})

describe('the README is generated where it counts, and its links lead somewhere', () => {
  it('has the command table and the rule count the code gives (scripts/readme-tables.mjs --check)', async () => {
    const check = await execa('node', [path.join(ROOT, 'scripts/readme-tables.mjs'), '--check'], {reject: false})
    expect(check.exitCode, check.stderr).toBe(0)
  })

  it('links only pages that exist, and stays a front door (two pages or so)', () => {
    const links = [...readme.matchAll(/\]\((docs\/[^)#]+)/g)].map((match) => match[1])
    expect(links.length).toBeGreaterThan(5)
    for (const link of links) expect(existsSync(path.join(ROOT, link)), link).toBe(true)
    expect(readme.split('\n').length).toBeLessThan(160)
  })
})
