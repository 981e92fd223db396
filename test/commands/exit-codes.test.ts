import {mkdtempSync, readFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

import {describe, expect, it} from 'vitest'

import {defaultExitCode} from '../../src/errors.js'
import {runCli} from '../support/cli.js'

/**
 * The README's exit-code table, for every command of the manifest and every class of mistake a
 * person makes on a command line: a missing file, a folder given for a file, bad JSON, a bad
 * duration, a value that names nothing. Each must be exit 2 (usage) in the one error shape, so a
 * pipeline can tell a typo from a finding (exit 1). The cases are derived from the flags each
 * command declares, so a command or flag added later is covered without touching this file.
 */
interface ManifestFlag {
  type: string
  required?: boolean
  exactlyOne?: string[]
  options?: string[]
}
const manifest = JSON.parse(readFileSync(fileURLToPath(new URL('../../oclif.manifest.json', import.meta.url)), 'utf8')) as {
  commands: Record<string, {args?: Record<string, {required?: boolean}>; flags: Record<string, ManifestFlag>}>
}
const commands = Object.entries(manifest.commands).filter(([id]) => !id.startsWith('autocomplete'))

const folder = mkdtempSync(path.join(os.tmpdir(), 'infra-exit-codes-'))
const missing = path.join(folder, 'does-not-exist', 'file.json')

/** Valid values for what a command requires, so the mistake under test is the only one. */
const FILLERS: Record<string, string> = {
  env: 'dev',
  image: '111111111111.dkr.ecr.eu-west-1.amazonaws.com/infra:0.1.0',
  cluster: 'acme-dev-eks',
  name: 'globex',
  'source-type': 'file',
  target: 'i-0123456789abcdef0',
  id: '00000000-0000-4000-8000-000000000000',
  token: 'tok_0123',
  reason: 'exit code matrix',
}

/** Each class of mistake: the flag it goes into and the value that is wrong there. */
const MISTAKES: {flag: string; label: string; value: string}[] = [
  {flag: 'estate', label: 'a missing estate file', value: missing},
  {flag: 'estate', label: 'a folder as the estate file', value: folder},
  {flag: 'file', label: 'a missing --file', value: missing},
  {flag: 'config-file', label: 'a missing --config-file', value: missing},
  {flag: 'config-file', label: 'a folder as --config-file', value: folder},
  {flag: 'config', label: 'bad JSON in --config', value: '{bad'},
  {flag: 'since', label: 'a bad --since duration', value: '2x'},
  {flag: 'until', label: 'a bad --until duration', value: 'yesterday-ish'},
  {flag: 'env', label: 'an environment that names nothing', value: 'staging'},
  {flag: 'nat-eni', label: 'a NAT gateway id for an interface id', value: 'nat-0123456789abcdef0'},
  {flag: 'local-port', label: 'a port out of range', value: '99999'},
  {flag: 'to', label: 'a --to without a port', value: 'nohost'},
]

function commandLine(id: string, command: {args?: Record<string, {required?: boolean}>; flags: Record<string, ManifestFlag>}, mistake: {flag: string; value: string}): string[] {
  const line = id.split(':')
  for (const [name, arg] of Object.entries(command.args ?? {})) if (arg.required) line.push(FILLERS[name] ?? 'x')
  for (const [name, flag] of Object.entries(command.flags)) {
    if (name === mistake.flag || !flag.required) continue
    line.push(`--${name}`, FILLERS[name] ?? 'x')
  }
  // A command that needs one of several flags gets the mistaken one, or else the first.
  const group = Object.values(command.flags).find((flag) => flag.exactlyOne?.length)?.exactlyOne
  if (group && !group.includes(mistake.flag)) line.push(`--${group[0]}`, FILLERS[group[0]] ?? 'x')
  if (command.flags.yes) line.push('--yes')
  if (command.flags.reason && mistake.flag !== 'reason') line.push('--reason', FILLERS.reason)
  line.push(`--${mistake.flag}`, mistake.value, '--json')
  return line
}

// No credentials and no metadata service: a command that reaches AWS before checking its line fails
// with a credentials error (exit 1), not the usage error this test wants.
const env = {AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '', AWS_PROFILE: '', AWS_EC2_METADATA_DISABLED: 'true', INFRA_SERVICE_URL: 'http://127.0.0.1:9', INFRA_ESTATE: ''}

describe.concurrent('every command exits 2 for every class of command-line mistake', () => {
  const cases = commands.flatMap(([id, command]) =>
    MISTAKES.filter((mistake) => mistake.flag in command.flags).map((mistake) => ({id, mistake, line: commandLine(id, command, mistake)})),
  )

  it('derives enough cases from the manifest to mean something', () => {
    expect(cases.length).toBeGreaterThanOrEqual(40)
    // Every class is met by at least one command.
    for (const mistake of MISTAKES) expect(cases.some((c) => c.mistake === mistake), mistake.label).toBe(true)
  })

  for (const {id, mistake, line} of cases) {
    it(`${id}: ${mistake.label}`, async () => {
      const result = await runCli(line, {env, cwd: folder, timeoutMs: 60_000})
      expect(result.exitCode, `${line.join(' ')}\n${result.stdout}${result.stderr}`).toBe(2)
      const body = JSON.parse(result.stdout)
      expect(Object.keys(body)).toEqual(['error'])
      expect(Object.keys(body.error)).toEqual(['code', 'message', 'fix', 'details'])
      expect(body.error.code).not.toBe('INTERNAL_ERROR')
      expect(body.error.message).not.toContain('\n')
      expect(typeof body.error.fix).toBe('string')
    })
  }
})

describe('error codes that say the line is wrong exit 2 by default', () => {
  it.each(['BAD_FLAG', 'INVALID_IMAGE', 'UNKNOWN_CLIENT', 'MISSING_FLAG', 'NOT_A_CLIENT'])('%s is usage', (code) => {
    expect(defaultExitCode(code)).toBe(2)
  })
  it.each(['INFRA_ERROR', 'INVALID_MANIFEST', 'TERRAFORM_FAILED', 'ACCOUNT_NOT_ACTIVE'])('%s is a failure', (code) => {
    expect(defaultExitCode(code)).toBe(1)
  })
})
