#!/usr/bin/env node
// Writes the README's generated parts from the code, so they cannot drift: the command table from
// oclif.manifest.json (run `npm run build` first) and the rule count from the built policy rules.
// `node scripts/readme-tables.mjs --check` exits 1 when README.md differs (test/docs.test.ts runs it).
import {readFileSync, writeFileSync} from 'node:fs'

const root = new URL('../', import.meta.url)
const manifest = JSON.parse(readFileSync(new URL('oclif.manifest.json', root), 'utf8'))

/** Where each command's depth lives, by the first word of its id. */
const TOPICS = {
  provision: 'provisioning',
  env: 'provisioning',
  doctor: 'provisioning',
  audit: 'policy',
  'audit:flow-logs': 'flow-logs',
  session: 'sessions',
  tunnel: 'sessions',
  eks: 'sessions',
  'onboard-client': 'onboarding',
  'offboard-client': 'onboarding',
  service: 'service',
  jobs: 'service',
  logs: 'service',
  deploy: 'service',
  init: 'delivery',
  ci: 'delivery',
}

function topic(id) {
  return TOPICS[id] ?? TOPICS[id.split(':')[0]]
}

export function commandTable() {
  const rows = Object.entries(manifest.commands)
    .filter(([id]) => !id.startsWith('autocomplete'))
    .map(([id, command]) => {
      const page = topic(id)
      const summary = (command.summary ?? command.description ?? '').split('\n')[0].replaceAll('|', '\\|')
      return `| \`infra ${id.replaceAll(':', ' ')}\` | ${summary} | ${page ? `[${page}](docs/${page}.md)` : ''} |`
    })
  return ['| command | what it does | more |', '| --- | --- | --- |', ...rows].join('\n')
}

export async function ruleCount() {
  const {RULES} = await import(new URL('dist/policy/rules.js', root))
  return RULES.length
}

function replaceBetween(text, name, body) {
  const start = `<!-- ${name}:start -->`
  const end = `<!-- ${name}:end -->`
  const from = text.indexOf(start)
  const to = text.indexOf(end)
  if (from < 0 || to < from) throw new Error(`README.md lacks the ${start} ... ${end} markers`)
  return `${text.slice(0, from + start.length)}\n${body}\n${text.slice(to)}`
}

const readmeFile = new URL('README.md', root)
const readme = readFileSync(readmeFile, 'utf8')
const count = await ruleCount()
const wanted = replaceBetween(replaceBetween(readme, 'commands', commandTable()), 'rule-count', `${count} security rules`)
if (process.argv.includes('--check')) {
  if (wanted !== readme) {
    console.error('README.md is out of date with the code: run `npm run build && node scripts/readme-tables.mjs`')
    process.exit(1)
  }
} else {
  writeFileSync(readmeFile, wanted)
}
