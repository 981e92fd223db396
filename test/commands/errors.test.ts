import {readFileSync} from 'node:fs'
import {fileURLToPath} from 'node:url'

import {describe, expect, it} from 'vitest'

import {runCli} from '../support/cli.js'

// Every command the build knows, so a command added later is covered without touching this file.
const manifest = JSON.parse(readFileSync(fileURLToPath(new URL('../../oclif.manifest.json', import.meta.url)), 'utf8')) as {
  commands: Record<string, {args?: Record<string, {required?: boolean}>; flags: Record<string, {required?: boolean; exactlyOne?: string[]; options?: string[]; type: string; char?: string}>}>
}
const commands = Object.entries(manifest.commands).filter(([id]) => id !== 'autocomplete' && !id.startsWith('autocomplete:'))
const words = (id: string) => id.split(':')

const TOKEN = 'infra_secret0123456789abcdefSECRET'
const env = {INFRA_SERVICE_TOKEN: TOKEN, INFRA_SERVICE_URL: 'http://127.0.0.1:9', AWS_SECRET_ACCESS_KEY: 'awsSECRETkey0123'}

/** The one --json error shape, small, with nothing from the flags, the environment or package.json. */
function expectErrorJson(result: {stdout: string; stderr: string; exitCode: number}, code: string) {
  expect(result.exitCode, result.stdout + result.stderr).toBe(2)
  const body = JSON.parse(result.stdout)
  expect(Object.keys(body)).toEqual(['error'])
  expect(Object.keys(body.error)).toEqual(['code', 'message', 'fix', 'details'])
  expect(body.error.code).toBe(code)
  expect(typeof body.error.message).toBe('string')
  expect(typeof body.error.fix).toBe('string')
  expect(body.error.message).not.toContain('\n')
  expect(result.stdout.length).toBeLessThan(600)
  for (const secret of [TOKEN, env.AWS_SECRET_ACCESS_KEY, 'devDependencies', '"root"', process.env.HOME ?? '/root']) {
    expect(result.stdout + result.stderr).not.toContain(secret)
  }
  expect(result.stderr).toBe('')
}

describe.concurrent('every command, given a wrong command line', () => {
  it('has commands to check', () => {
    expect(commands.length).toBeGreaterThanOrEqual(10)
  })

  for (const [id, command] of commands) {
    const requiredArgs = Object.values(command.args ?? {}).some((arg) => arg.required)
    const requiredFlags = Object.values(command.flags).some((flag) => flag.required || flag.exactlyOne?.length)
    if (requiredArgs || requiredFlags) {
      it(`${id}: a missing argument or flag is a usage error in the --json shape`, async () => {
        const result = await runCli([...words(id), '--json'], {env})
        expectErrorJson(result, requiredArgs ? 'MISSING_ARGUMENT' : 'MISSING_FLAG')
        expect(JSON.parse(result.stdout).error.fix).toMatch(/--help/)
      })
    }

    it(`${id}: an unknown flag is a usage error in the --json shape, and one line in text`, async () => {
      const json = await runCli([...words(id), `--bogus-flag=${TOKEN}`, '--json'], {env})
      expectErrorJson(json, 'UNKNOWN_FLAG')
      const text = await runCli([...words(id), '--bogus-flag'], {env})
      expect(text.exitCode).toBe(2)
      expect(text.stdout).toBe('')
      expect(text.stderr.trim().split('\n')).toHaveLength(1)
      expect(text.stderr).toMatch(/^Error: unknown flag --bogus-flag: see "infra .* --help"/)
    })

    const choice = Object.entries(command.flags).find(([, flag]) => flag.options?.length)
    if (choice) {
      it(`${id}: a value outside --${choice[0]}'s choices names the choices, not the value`, async () => {
        const result = await runCli([...words(id), `--${choice[0]}`, TOKEN, '--json'], {env})
        expectErrorJson(result, 'INVALID_FLAG_VALUE')
        expect(JSON.parse(result.stdout).error.message).toBe(`--${choice[0]} must be one of: ${choice[1].options!.join(', ')}`)
      })
    }
  }
})

describe('usage errors say what was meant', () => {
  it('suggests --dry-run for --dryrun instead of printing the help', async () => {
    const result = await runCli(['provision', '--env', 'dev', '--dryrun'])
    expect(result.exitCode).toBe(2)
    expect(result.stderr.trim()).toBe('Error: unknown flag --dryrun: did you mean --dry-run? Or see "infra provision --help"')
  })

  it('suggests the nearest choice for a mistyped value, without repeating the value', async () => {
    const html = await runCli(['audit', 'flow-logs', '--file', 'x.log', '--format', 'htm'])
    expect(html.exitCode).toBe(2)
    expect(html.stderr.trim()).toBe('Error: --format must be one of: table, json, html: did you mean --format html? Or see "infra audit flow-logs --help"')
    const far = await runCli(['audit', 'stacks', '--env', 'dev', '--format', 'zzzzzz'])
    expect(far.stderr.trim()).toBe('Error: --format must be one of: table, json, sarif: pass one of them, e.g. --format table; see "infra audit stacks --help"')
    expect(far.stderr).not.toContain('zzzzzz')
  })

  it.each([[['-h']], [['provision', '-h']], [['audit', 'stacks', '-h']]])('%j is help, exit 0', async (args) => {
    const result = await runCli(args)
    expect(result.exitCode, result.stderr).toBe(0)
    expect(result.stdout).toMatch(/USAGE/)
  })

  it('names conflicting flags once, without their values', async () => {
    const result = await runCli(['audit', 'stacks', '--env', 'dev', '--file', 'x.json'])
    expect(result.exitCode).toBe(2)
    expect(result.stderr.trim()).toBe('Error: --env and --file cannot be used together: see "infra audit stacks --help"')
  })

  it('names the flags of which one is needed', async () => {
    const result = await runCli(['audit', 'stacks', '--json'], {env})
    expectErrorJson(result, 'MISSING_FLAG')
    expect(JSON.parse(result.stdout).error.message).toBe('pass exactly one of --env, --file')
  })

  it('says a bad integer is not one without echoing it', async () => {
    const result = await runCli(['jobs', 'list', '--limit', TOKEN, '--json'], {env})
    expectErrorJson(result, 'INVALID_FLAG_VALUE')
    expect(JSON.parse(result.stdout).error.message).toBe('--limit: expected an integer')
  })

  it('keeps the shape for commands of plugins (autocomplete) too', async () => {
    const result = await runCli(['autocomplete', '--bogus-flag', '--json'], {env})
    expectErrorJson(result, 'USAGE')
    expect(JSON.parse(result.stdout).error.message).toBe('unknown flags: --bogus-flag, --json')
  })

  it('answers an unknown command in the --json shape too (exit 127, as shells do)', async () => {
    const result = await runCli(['provison', '--json'], {env})
    expect(result.exitCode).toBe(127)
    expect(JSON.parse(result.stdout)).toEqual({
      error: {code: 'UNKNOWN_COMMAND', message: '"provison" is not an infra command', fix: 'did you mean "infra provision"? Or run "infra --help" for the list', details: null},
    })
  })
})
