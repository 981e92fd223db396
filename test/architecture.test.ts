import fs from 'node:fs'
import path from 'node:path'

import {describe, expect, it} from 'vitest'

// The dependency direction of the house: commands -> domain -> errors, and nothing points back up.
// Each rule names the top-level folders (or files) under src/ that a folder may import.
const SRC = path.resolve(import.meta.dirname, '../src')

/** The terminal side: may import anything. */
const CLI_SIDE = new Set(['commands', 'hooks'])
/** Generic terminal helpers: know nothing of the estate or any domain. */
const TERMINAL = new Set(['output', 'prompts'])
/** Where each non-domain folder may reach; every other folder is domain. */
const ALLOWED: Record<string, Set<string>> = {
  output: new Set(['output', 'errors']),
  prompts: new Set(['prompts', 'errors']),
  // The collection service runs on its own (in a container, on EKS): it shares the AWS client
  // factory and the errors, and never reaches the CLI side.
  service: new Set(['service', 'aws', 'errors']),
  // CDKTF constructs read the estate and never call AWS.
  stacks: new Set(['stacks', 'estate', 'errors']),
  errors: new Set(['errors']),
}

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, {withFileTypes: true}).flatMap((entry) => {
    const full = path.join(dir, entry.name)
    if (entry.isDirectory()) return sourceFiles(full)
    return entry.name.endsWith('.ts') ? [full] : []
  })
}

function topFolder(file: string): string {
  const relative = path.relative(SRC, file)
  const first = relative.split(path.sep)[0]
  return first.replace(/\.(ts|js)$/, '')
}

/** Every relative import (static, dynamic, type-only) of a file, as the top folder it lands in. */
function importedFolders(file: string): {spec: string; folder: string}[] {
  const text = fs.readFileSync(file, 'utf8')
  const specs = [...text.matchAll(/(?:from\s+|import\(\s*|import\s+)'(\.{1,2}\/[^']+)'/g)].map((match) => match[1])
  return specs.map((spec) => ({spec, folder: topFolder(path.resolve(path.dirname(file), spec))}))
}

export function violations(): string[] {
  const problems: string[] = []
  for (const file of sourceFiles(SRC)) {
    const from = topFolder(file)
    if (CLI_SIDE.has(from)) continue
    for (const {spec, folder} of importedFolders(file)) {
      if (folder === from) continue
      const allowed = ALLOWED[from]
      const ok = allowed ? allowed.has(folder) : !CLI_SIDE.has(folder) && !TERMINAL.has(folder)
      if (!ok) problems.push(`${path.relative(SRC, file)} imports ${spec} (${from} -> ${folder})`)
    }
  }
  return problems
}

describe('the dependency direction', () => {
  it('has no import pointing from domain or service code up to the terminal side', () => {
    expect(violations()).toEqual([])
  })

  it('sees imports of every form, so a broken rule would be caught', () => {
    // A checker that finds nothing proves nothing: it must find the imports that exist.
    const base = importedFolders(path.join(SRC, 'commands/_lib/base-command.ts')).map((i) => i.folder)
    expect(base).toContain('errors')
    expect(base).toContain('estate')
    const service = importedFolders(path.join(SRC, 'service/server.ts')).map((i) => i.folder)
    expect(service).toContain('errors')
  })
})
