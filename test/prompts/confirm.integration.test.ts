import {existsSync, mkdtempSync, readFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import {beforeAll, describe, expect, inject, it} from 'vitest'

import {CreateBucketCommand, S3Client} from '@aws-sdk/client-s3'

import {createClient} from '../../src/aws/clients.js'
import {findTarget, loadEstate} from '../../src/estate/load.js'
import {runCli} from '../support/cli.js'
import {fakeTerraform} from '../support/fake-terraform.js'
import {motoEnv, writeMotoEstate} from '../support/moto-estate.js'
import {type TerminalRun, inTerminal as inTerminalPty} from '../support/pty.js'

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

beforeAll(async () => {
  writeMotoEstate(estateFile, inject('motoEndpoint'), {
    environments: {
      dev: {accountId: '131313131313', vpcCidr: '10.1.0.0/16', sizing: 'small'},
      prod: {accountId: '333333333333', vpcCidr: '10.3.0.0/16', sizing: 'ha'},
      never: {accountId: '141414141414', vpcCidr: '10.14.0.0/16', sizing: 'small'},
    },
  })
  env = motoEnv(inject('motoCaBundle'), {CI: ''})
  // dev was applied once: its state bucket exists, so a destroy has something to plan. (Its own
  // account: the state bucket of provision.integration's dev must not exist before that test.)
  Object.assign(process.env, {AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_CA_BUNDLE: inject('motoCaBundle')})
  const estate = loadEstate({file: estateFile, env: {}})
  const s3 = await createClient(S3Client, {estate, target: findTarget(estate, 'dev'), purpose: 'test'})
  await s3.send(new CreateBucketCommand({Bucket: 'acme-dev-tfstate-131313131313', CreateBucketConfiguration: {LocationConstraint: 'eu-west-1'}}))
})

const calls = (log: string) => (existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : [])

/** Runs the CLI in a pseudo-terminal; answers the typed-name prompt with `answer` (Ctrl-C as it is). */
function inTerminal(args: string[], answer: string, extraEnv: Record<string, string>): Promise<TerminalRun> {
  const send = answer === '\u0003' ? answer : `${answer}\r`
  return inTerminalPty(args, {cols: 200, rows: 50, cwd: work, env: {...env, ...extraEnv}, answers: [{after: /Type "dev" to continue/, send}]})
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
    expect(result.output).toMatch(/Error: interrupted at the prompt: did not destroy 1 change to dev-estate/)
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

  it('--destroy --yes is refused with the fix, exit 4, before terraform runs', async () => {
    const terraform = fakeTerraform(plan)
    const result = await run(['provision', '--env', 'dev', '--destroy', '--yes'], terraform)
    expect(result.exitCode).toBe(4)
    expect(JSON.parse(result.stdout).error).toMatchObject({code: 'CONFIRMATION_REQUIRED', fix: expect.stringContaining('--yes --confirm dev')})
    expect(calls(terraform.calls)).toEqual([])
  })

  it('--confirm with another name is refused, exit 4, nothing applied', async () => {
    const terraform = fakeTerraform(plan)
    const result = await run(['provision', '--env', 'dev', '--destroy', '--yes', '--confirm', 'prod'], terraform)
    expect(result.exitCode).toBe(4)
    expect(JSON.parse(result.stdout).error).toMatchObject({code: 'CONFIRMATION_REFUSED'})
    expect(calls(terraform.calls)).toEqual([])
  })

  it('--yes --confirm dev destroys dev', async () => {
    const terraform = fakeTerraform(plan)
    const result = await run(['provision', '--env', 'dev', '--destroy', '--yes', '--confirm', 'dev'], terraform)
    expect(result.exitCode).toBe(0)
    expect(calls(terraform.calls)).toEqual(['init', 'plan', 'show', 'apply'])
  })

  it('a protected environment\'s apply with --yes alone is refused before anything is planned', async () => {
    const terraform = fakeTerraform({resource_changes: [{address: 'aws_s3_bucket.state', type: 'aws_s3_bucket', change: {actions: ['create']}}]})
    const result = await run(['provision', '--env', 'prod', '--yes'], terraform)
    expect(result.exitCode).toBe(4)
    expect(JSON.parse(result.stdout).error).toMatchObject({code: 'CONFIRMATION_REQUIRED', message: expect.stringContaining('apply prod in account 333333333333 without the target named')})
    expect(calls(terraform.calls)).toEqual([])
  })

  it('a confirmation that cannot be given is refused before any AWS call: the estate\'s endpoint answers nothing', async () => {
    // A closed port: the first AWS call (the credentials check) would fail with a network error, exit 1.
    const unreachable = path.join(work, 'unreachable.yaml')
    writeMotoEstate(unreachable, 'https://127.0.0.1:9', {environments: {prod: {accountId: '333333333333', vpcCidr: '10.3.0.0/16', sizing: 'ha'}, dev: {accountId: '131313131313', vpcCidr: '10.1.0.0/16'}}})
    const terraform = fakeTerraform(plan)
    const cases = [
      {args: ['--env', 'prod', '--destroy', '--yes'], fix: '--yes --confirm prod'},
      {args: ['--env', 'prod', '--yes'], fix: '--yes --confirm prod'},
      {args: ['--env', 'dev'], fix: 'infra provision --env dev --plan-only'},
    ]
    for (const {args, fix} of cases) {
      const result = await runCli(['provision', ...args, '--estate', unreachable, '--terraform', terraform.binary, '--work-dir', path.join(work, 'unreachable'), '--json'], {env, timeoutMs: 120_000})
      expect(result.exitCode, args.join(' ')).toBe(4)
      expect(JSON.parse(result.stdout).error).toMatchObject({code: 'CONFIRMATION_REQUIRED', message: expect.stringContaining('nothing was planned'), fix: expect.stringContaining(fix)})
    }
    expect(calls(terraform.calls)).toEqual([])
  })

  it('destroying an environment never applied says there is nothing to destroy, exit 0', async () => {
    const terraform = fakeTerraform(plan)
    const text = await run(['provision', '--env', 'never', '--destroy', '--yes', '--confirm', 'never'], terraform)
    expect(text.exitCode, text.stdout + text.stderr).toBe(0)
    expect(JSON.parse(text.stdout)).toMatchObject({mode: 'destroy', nothingToDestroy: {stateBucket: 'acme-never-tfstate-141414141414'}, stacks: [{skipped: 'never-applied'}, {skipped: 'never-applied'}]})
    const human = await runCli(['provision', '--env', 'never', '--destroy', '--yes', '--confirm', 'never', '--estate', estateFile, '--terraform', terraform.binary, '--work-dir', path.join(work, 'never')], {env, timeoutMs: 120_000})
    expect(human.exitCode).toBe(0)
    expect(human.stdout).toContain('Nothing to destroy: never was never applied (its state bucket acme-never-tfstate-141414141414 does not exist in account 141414141414).')
    expect(calls(terraform.calls)).toEqual([])
  })
})
