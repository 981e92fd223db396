import {existsSync, mkdtempSync, readFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import pty from '@lydell/node-pty'
import {beforeAll, describe, expect, inject, it} from 'vitest'

import {BIN, runCli} from '../support/cli.js'
import {fakeTerraform} from '../support/fake-terraform.js'
import {motoEnv, writeMotoEstate} from '../support/moto-estate.js'

/**
 * The typed confirmation, driven as a person meets it: the built CLI in a real pseudo-terminal.
 * AWS is moto (credentials and the role are checked for real); terraform is the recording
 * stand-in (test/support/fake-terraform.ts), because what is under test is whether infra
 * applies, not what terraform does. A plan with a deletion: what `--destroy` shows.
 */
const work = mkdtempSync(path.join(os.tmpdir(), 'infra-confirm-'))
const estateFile = path.join(work, 'estate.yaml')
const plan = {resource_changes: [{address: 'aws_vpc.main', type: 'aws_vpc', change: {actions: ['delete']}}]}
let env: Record<string, string>

beforeAll(() => {
  writeMotoEstate(estateFile, inject('motoEndpoint'), {
    environments: {
      dev: {accountId: '111111111111', vpcCidr: '10.1.0.0/16', sizing: 'small'},
      prod: {accountId: '333333333333', vpcCidr: '10.3.0.0/16', sizing: 'ha'},
    },
  })
  env = motoEnv(inject('motoCaBundle'), {CI: ''})
})

const calls = (log: string) => (existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : [])

/** Runs the CLI in a pseudo-terminal; answers the typed-name prompt with `answer`. */
function inTerminal(args: string[], answer: string, extraEnv: Record<string, string>): Promise<{exitCode: number; output: string}> {
  return new Promise((resolve, reject) => {
    const terminal = pty.spawn(process.execPath, [BIN, ...args], {cols: 200, rows: 50, cwd: work, env: {...process.env, ...env, ...extraEnv}})
    let output = ''
    let answered = false
    const timer = setTimeout(() => {
      terminal.kill()
      reject(new Error(`no exit within 120 s; output:\n${output}`))
    }, 120_000)
    terminal.onData((data) => {
      output += data
      if (!answered && /Type "dev" to continue/.test(output)) {
        answered = true
        terminal.write(answer === '\u0003' ? answer : `${answer}\r`)
      }
    })
    terminal.onExit(({exitCode}) => {
      clearTimeout(timer)
      resolve({exitCode, output})
    })
  })
}

describe('a destroy needs the target named, typed at a terminal', () => {
  const destroy = ['provision', '--env', 'dev', '--destroy', '--estate', estateFile]

  it('refuses when another name is typed, and applies nothing (exit 4)', async () => {
    const terraform = fakeTerraform(plan)
    const result = await inTerminal([...destroy, '--terraform', terraform.binary, '--work-dir', path.join(work, 'wrong')], 'prod', {})
    expect(result.output).toContain('dev-estate: 0 to create, 0 to update, 0 to replace, 1 to destroy')
    expect(result.output).toContain('Not confirmed: nothing was applied to dev-estate.')
    expect(result.exitCode).toBe(4)
    expect(calls(terraform.calls)).toEqual(['init', 'plan', 'show'])
    expect(existsSync(path.join(work, 'wrong', 'dev', 'cdktf.out', 'stacks', 'dev-estate', 'infra.tfplan'))).toBe(false)
  })

  it('applies when the name is typed, even though --yes was not given', async () => {
    const terraform = fakeTerraform(plan)
    const result = await inTerminal([...destroy, '--terraform', terraform.binary, '--work-dir', path.join(work, 'right')], 'dev', {})
    expect(result.exitCode).toBe(0)
    expect(calls(terraform.calls)).toEqual(['init', 'plan', 'show', 'apply'])
  })

  it('Ctrl-C at the prompt is an interrupt: exit 130, one line, nothing applied', async () => {
    const terraform = fakeTerraform(plan)
    const result = await inTerminal([...destroy, '--terraform', terraform.binary, '--work-dir', path.join(work, 'ctrl-c')], '\u0003', {})
    expect(result.exitCode).toBe(130)
    expect(result.output).toMatch(/Error: interrupted at the prompt: did not destroy 1 changes to dev-estate/)
    expect(result.output).not.toContain('ExitPromptError')
    expect(calls(terraform.calls)).not.toContain('apply')
  })

  it('--yes alone does not stand in for the typed name', async () => {
    const terraform = fakeTerraform(plan)
    const result = await inTerminal([...destroy, '--yes', '--terraform', terraform.binary, '--work-dir', path.join(work, 'yes')], 'nope', {})
    expect(result.exitCode).toBe(4)
    expect(calls(terraform.calls)).not.toContain('apply')
  })
})

describe('without a terminal, --yes needs --confirm NAME for a destroy and for a protected environment', () => {
  const run = (args: string[], terraform: {binary: string}) =>
    runCli([...args, '--estate', estateFile, '--terraform', terraform.binary, '--work-dir', path.join(work, 'ci'), '--json'], {env, timeoutMs: 120_000})

  it('--destroy --yes is refused with the fix, exit 4, nothing applied', async () => {
    const terraform = fakeTerraform(plan)
    const result = await run(['provision', '--env', 'dev', '--destroy', '--yes'], terraform)
    expect(result.exitCode).toBe(4)
    expect(JSON.parse(result.stdout).error).toMatchObject({code: 'CONFIRMATION_REQUIRED', fix: expect.stringContaining('--yes --confirm dev')})
    expect(calls(terraform.calls)).not.toContain('apply')
  })

  it('--confirm with another name is refused, exit 4, nothing applied', async () => {
    const terraform = fakeTerraform(plan)
    const result = await run(['provision', '--env', 'dev', '--destroy', '--yes', '--confirm', 'prod'], terraform)
    expect(result.exitCode).toBe(4)
    expect(JSON.parse(result.stdout).error).toMatchObject({code: 'CONFIRMATION_REFUSED'})
    expect(calls(terraform.calls)).not.toContain('apply')
  })

  it('--yes --confirm dev destroys dev', async () => {
    const terraform = fakeTerraform(plan)
    const result = await run(['provision', '--env', 'dev', '--destroy', '--yes', '--confirm', 'dev'], terraform)
    expect(result.exitCode).toBe(0)
    expect(calls(terraform.calls)).toEqual(['init', 'plan', 'show', 'apply'])
  })

  it('a protected environment\'s apply with --yes alone is refused before its first stack is applied', async () => {
    const terraform = fakeTerraform({resource_changes: [{address: 'aws_s3_bucket.state', type: 'aws_s3_bucket', change: {actions: ['create']}}]})
    const result = await run(['provision', '--env', 'prod', '--yes'], terraform)
    expect(result.exitCode).toBe(4)
    expect(JSON.parse(result.stdout).error).toMatchObject({code: 'CONFIRMATION_REQUIRED', message: expect.stringContaining('prod-state in account 333333333333')})
    expect(calls(terraform.calls)).toEqual(['init', 'plan', 'show'])
  })
})
