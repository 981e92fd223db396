import {existsSync, mkdtempSync, readFileSync} from 'node:fs'

import pty from '@lydell/node-pty'
import os from 'node:os'
import path from 'node:path'

import {beforeAll, describe, expect, inject, it} from 'vitest'

import {CreateBucketCommand, S3Client} from '@aws-sdk/client-s3'

import {createClient} from '../../src/aws/clients.js'
import {findTarget, loadEstate} from '../../src/estate/load.js'
import {BIN, runCli} from '../support/cli.js'
import {fakeTerraform} from '../support/fake-terraform.js'
import {motoEnv, writeMotoEstate} from '../support/moto-estate.js'

/**
 * `infra provision --clients all`: two clients, one of which fails to apply. terraform is the
 * recording stand-in (test/support/fake-terraform.ts): applying two clients' full baselines into
 * moto with real terraform takes many minutes, and the subject here is the fleet's orchestration
 * (one plan summary, one question, bounded concurrency, a failure that does not stop the other).
 * Credentials and the role of each client's account are checked for real against moto. The plan
 * it returns is one update to a resource no rule covers.
 */
const PLAN = {
  format_version: '1.2',
  planned_values: {root_module: {resources: [{address: 'terraform_data.marker', mode: 'managed', type: 'terraform_data', name: 'marker', values: {input: 'b'}}]}},
  resource_changes: [{address: 'terraform_data.marker', mode: 'managed', type: 'terraform_data', name: 'marker', change: {actions: ['update'], before: {input: 'a'}, after: {input: 'b'}}}],
  configuration: {root_module: {resources: []}},
}

let work: string
let estateFile: string
let env: Record<string, string>

beforeAll(() => {
  work = mkdtempSync(path.join(os.tmpdir(), 'infra-fleet-'))
  estateFile = path.join(work, 'estate.yaml')
  writeMotoEstate(estateFile, inject('motoEndpoint'), {
    clientCidrPool: '10.64.0.0/10',
    environments: {dev: {accountId: '111111111111', vpcCidr: '10.1.0.0/16'}},
    clients: {
      globex: {accountId: '444444444444', vpcCidr: '10.64.0.0/16'},
      initech: {accountId: '555555555555', vpcCidr: '10.65.0.0/16'},
      soylent: {status: 'pending', vpcCidr: '10.66.0.0/16'},
    },
  })
  env = motoEnv(inject('motoCaBundle'), {INFRA_WORK_DIR: path.join(work, '.infra')})
})

describe('infra provision --clients', () => {
  it('without a terminal and without --yes, is refused before anything is planned (exit 4)', async () => {
    const terraform = fakeTerraform(PLAN)
    const result = await runCli(['provision', '--clients', 'all', '--estate', estateFile, '--terraform', terraform.binary], {env})
    expect(result.exitCode).toBe(4) // no confirmation possible: nothing planned, nothing applied
    expect(result.stderr).toMatch(/refusing to apply changes to 2 client\(s\): globex, initech without confirmation: no terminal .*nothing was planned/)
    expect(existsSync(terraform.calls)).toBe(false)
  })

  it('applies every client with --yes, goes on past one client\'s failure, reports each and exits non-zero', async () => {
    const terraform = fakeTerraform(PLAN, {failApplyIn: '/initech/'})
    const result = await runCli(['provision', '--clients', 'all', '--parallel', '2', '--yes', '--json', '--estate', estateFile, '--terraform', terraform.binary], {env})
    expect(result.exitCode).toBe(1)
    const report = JSON.parse(result.stdout)
    // globex's estate stack, planned once its state stack was applied, is a second question's row.
    expect(report.plan.map((row: any) => [row.round, row.client, row.stack, row.update, row.state])).toEqual([
      [1, 'globex', 'globex-state', 1, 'changes'],
      [1, 'initech', 'initech-state', 1, 'changes'],
      [2, 'globex', 'globex-estate', 1, 'changes'],
    ])
    expect(report.questions).toBe(2)
    expect(report.approved).toBe(true)
    const byClient = Object.fromEntries(report.clients.map((client: any) => [client.client, client]))
    expect(byClient.globex.status).toBe('applied')
    expect(byClient.globex.report.stacks.map((stack: any) => [stack.name, stack.applied])).toEqual([
      ['globex-state', true],
      ['globex-estate', true],
    ])
    expect(byClient.initech.status).toBe('failed')
    expect(byClient.initech.error.code).toBe('TERRAFORM_APPLY_FAILED')
    expect(byClient.initech.error.message).toMatch(/terraform apply failed in .*\/initech\/.*fake apply failure/)
    expect(report.failed).toBe(1)
    // The pending client is not part of "all".
    expect(Object.keys(byClient)).toEqual(['globex', 'initech'])

    // env list shows the baseline the fleet applied to globex, and none for initech.
    const list = JSON.parse((await runCli(['env', 'list', '--estate', estateFile, '--json'], {env})).stdout)
    const baselines = Object.fromEntries(list.environments.map((target: any) => [target.name, target.baseline]))
    expect(baselines.globex).toMatchObject({target: 'globex', accountId: '444444444444', fingerprint: byClient.globex.baseline.fingerprint})
    expect(baselines.initech).toBeNull()
  })

  it('selects clients by glob and list, and names what matches nothing', async () => {
    const terraform = fakeTerraform(PLAN)
    const glob = await runCli(['provision', '--clients', 'glo*', '--yes', '--json', '--estate', estateFile, '--terraform', terraform.binary], {env})
    expect(JSON.parse(glob.stdout).clients.map((client: any) => client.client)).toEqual(['globex'])
    const unknown = await runCli(['provision', '--clients', 'globex,hooli', '--yes', '--estate', estateFile], {env})
    expect(unknown.exitCode).toBe(2) // a value that names nothing: the README's usage code
    expect(unknown.stderr.trim()).toBe(`Error: --clients hooli matches no client in ${estateFile}: clients: globex, initech`)
    const pending = await runCli(['provision', '--clients', 'soylent', '--yes', '--estate', estateFile], {env})
    expect(pending.stderr.trim()).toBe('Error: client soylent is still being onboarded: finish it with `infra onboard-client --name soylent` first')
  })

  it('offboard-client destroys a provisioned client\'s estate stack (keeping its state bucket) before removing it', async () => {
    // The client's state bucket exists in its account, so it was provisioned: its stacks are destroyed.
    Object.assign(process.env, {AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_CA_BUNDLE: inject('motoCaBundle')})
    const estate = loadEstate({file: estateFile, env: {}})
    const s3 = await createClient(S3Client, {estate, target: findTarget(estate, 'initech'), purpose: 'test'})
    await s3.send(new CreateBucketCommand({Bucket: 'acme-initech-tfstate-555555555555', CreateBucketConfiguration: {LocationConstraint: 'eu-west-1'}}))
    const terraform = fakeTerraform(PLAN)
    const result = await runCli(['offboard-client', '--name', 'initech', '--yes', '--confirm', 'initech', '--json', '--estate', estateFile, '--terraform', terraform.binary], {env})
    const report = JSON.parse(result.stdout)
    expect(report.error, result.stdout + result.stderr).toBeUndefined()
    expect(report.destroyed.mode).toBe('destroy')
    expect(report.destroyed.stacks.map((stack: any) => [stack.name, stack.applied, stack.skipped ?? null])).toEqual([
      ['initech-state', false, 'kept'],
      ['initech-estate', true, null],
    ])
    expect(readFileSync(terraform.calls, 'utf8').trim().split('\n')).toEqual(['init', 'plan', 'show', 'apply'])
    expect(readFileSync(estateFile, 'utf8')).not.toContain('initech')
    // This estate's accounts are not in any organization moto holds: the hint says so.
    expect(report.closeAccountHint).toBe('account 555555555555 is not in the organization: if it is still open, close it from the account itself (root user, Account settings)')
  })
})

describe('infra provision --clients with a protected client whose two stacks change', () => {
  // wayne is protected (ha); stark is not. The stand-in plans the same change in every stack, so
  // each client's state stack changes and, once it is applied, its estate stack changes too.
  let fleetEstate: string
  beforeAll(() => {
    fleetEstate = path.join(work, 'protected.yaml')
    writeMotoEstate(fleetEstate, inject('motoEndpoint'), {
      clientCidrPool: '10.64.0.0/10',
      environments: {dev: {accountId: '111111111111', vpcCidr: '10.1.0.0/16'}},
      clients: {wayne: {accountId: '686868686868', vpcCidr: '10.68.0.0/16', sizing: 'ha'}, stark: {accountId: '696969696969', vpcCidr: '10.69.0.0/16'}},
    })
  })
  const fleet = (terraform: {binary: string}, ...extra: string[]) => ['provision', '--clients', 'all', '--estate', fleetEstate, '--terraform', terraform.binary, '--work-dir', path.join(work, `protected-${extra.join('')}`), ...extra]

  it('--yes without --confirm naming the protected client is refused before anything is planned', async () => {
    const terraform = fakeTerraform(PLAN)
    const result = await runCli([...fleet(terraform, '--yes'), '--json'], {env})
    expect(result.exitCode).toBe(4)
    expect(JSON.parse(result.stdout).error).toMatchObject({code: 'CONFIRMATION_REQUIRED', fix: expect.stringContaining('--yes --confirm wayne')})
    expect(existsSync(terraform.calls)).toBe(false)
  })

  it('--yes --confirm wayne: every stack\'s changes are shown before the question that covers them, and applied', async () => {
    const terraform = fakeTerraform(PLAN)
    const result = await runCli(fleet(terraform, '--yes', '--confirm', 'wayne'), {env})
    expect(result.exitCode, result.stderr).toBe(0)
    const out = result.stdout
    // Question 1: both state stacks, with their changes; question 2: both estate stacks.
    const second = out.indexOf('Planned now that the stacks they depend on are applied (question 2)')
    expect(second).toBeGreaterThan(0)
    for (const stack of ['wayne-state', 'stark-state']) expect(out.slice(0, second)).toMatch(new RegExp(`${stack}: 0 to create, 1 to update[^]*~ terraform_data\\.marker\\n\\s+~ input: "a" -> "b"`))
    for (const stack of ['wayne-estate', 'stark-estate']) expect(out.slice(second)).toMatch(new RegExp(`${stack}: 0 to create, 1 to update[^]*~ input: "a" -> "b"`))
    expect(out).toContain('wayne (account 686868686868, protected)')
    expect(readFileSync(terraform.calls, 'utf8').split('\n').filter((call) => call === 'apply')).toHaveLength(4)
    const json = await runCli([...fleet(terraform, '--yes', '--confirm', 'wayne'), '--json'], {env})
    expect(JSON.parse(json.stdout)).toMatchObject({approved: true, questions: 2})
  })

  /** The fleet at a terminal: the first question answered with wayne's name, the second with `second` (keys). */
  const atTerminal = (terraform: {binary: string}, workDir: string, second: string) =>
    new Promise<{exitCode: number; output: string; prompts: string[]}>((resolve, reject) => {
      const args = ['provision', '--clients', 'all', '--estate', fleetEstate, '--terraform', terraform.binary, '--work-dir', workDir]
      const terminal = pty.spawn(process.execPath, [BIN, ...args], {cols: 120, rows: 200, cwd: work, env: {...process.env, ...env, CI: ''}})
      let output = ''
      const prompts: string[] = []
      const timer = setTimeout(() => {
        terminal.kill()
        reject(new Error(`no exit within 120 s; output:\n${output}`))
      }, 120_000)
      terminal.onData((data) => {
        output += data
        // Each question names the stacks it covers; inquirer redraws the line at each keystroke.
        const question = [/client\(s\): wayne-state, stark-state\. Type "wayne"/, /client\(s\): wayne-estate, stark-estate\. Type "wayne"/][prompts.length]
        if (question?.test(output)) {
          prompts.push(output)
          terminal.write(prompts.length === 1 ? 'wayne\r' : second)
        }
      })
      terminal.onExit(({exitCode}) => {
        clearTimeout(timer)
        resolve({exitCode, output, prompts})
      })
    })
  const applies = (terraform: {calls: string}) => readFileSync(terraform.calls, 'utf8').split('\n').filter((call) => call === 'apply').length

  it('at a terminal: the second stack is asked about again, and wayne must be typed', async () => {
    const terraform = fakeTerraform(PLAN)
    const workDir = path.join(work, 'protected-declined')
    // The second question (the estate stacks) is answered with another name: declined.
    const result = await atTerminal(terraform, workDir, 'nope\r')
    expect(result.prompts).toHaveLength(2)
    expect(result.prompts[0]).toContain('wayne-state: 0 to create, 1 to update')
    expect(result.prompts[0]).not.toContain('wayne-estate: 0 to create')
    expect(result.prompts[1].slice(result.prompts[0].length)).toContain('wayne-estate: 0 to create, 1 to update')
    expect(result.exitCode).toBe(4) // the second question was declined
    // Only what the first answer covered was applied: the two state stacks; the report says so.
    expect(applies(terraform)).toBe(2)
    const after = result.output.slice(result.prompts[1].length)
    for (const client of ['wayne', 'stark']) expect(after).toMatch(new RegExp(`${client}\\s+\\d+\\s+declined after applying ${client}-state`))
    expect(after).toContain('2 of 2 client(s) declined: not every change shown was applied')
    // What the first round applied is recorded, marked partial.
    expect(JSON.parse(readFileSync(path.join(workDir, 'wayne', 'baseline.json'), 'utf8'))).toMatchObject({complete: false, stacks: [{name: 'wayne-state', applied: true}, {name: 'wayne-estate', applied: false, skipped: 'declined'}]})
  })

  it('at a terminal, Ctrl-C at the second question: exit 130, and the report of what the first round applied is printed', async () => {
    const terraform = fakeTerraform(PLAN)
    const workDir = path.join(work, 'protected-interrupted')
    const result = await atTerminal(terraform, workDir, '\x03')
    expect(result.prompts).toHaveLength(2)
    expect(result.exitCode).toBe(130)
    expect(applies(terraform)).toBe(2)
    const after = result.output.slice(result.prompts[1].length)
    for (const client of ['wayne', 'stark']) expect(after).toMatch(new RegExp(`${client}\\s+\\d+\\s+declined after applying ${client}-state`))
    expect(after.replace(/\s+/g, ' ')).toContain('interrupted at the prompt: did not apply the changes shown to 2 client(s): wayne-estate, stark-estate; applied before it: wayne (wayne-state), stark (stark-state); not applied: wayne-estate, stark-estate')
    for (const client of ['wayne', 'stark']) expect(JSON.parse(readFileSync(path.join(workDir, client, 'baseline.json'), 'utf8'))).toMatchObject({complete: false})
  })

  it('a rerun of onboard-client for the protected client goes through the same guard: --yes alone is refused before any change', async () => {
    const before = readFileSync(fleetEstate, 'utf8')
    const result = await runCli(['onboard-client', '--name', 'wayne', '--email', 'aws+wayne@acme.example', '--ou', 'Clients', '--yes', '--json', '--estate', fleetEstate, '--work-dir', path.join(work, 'onboard-wayne')], {env})
    expect(result.exitCode).toBe(4)
    expect(JSON.parse(result.stdout).error).toMatchObject({code: 'CONFIRMATION_REQUIRED', message: expect.stringContaining('apply wayne in account 686868686868 without the target named'), fix: expect.stringContaining('--yes --confirm wayne')})
    expect(readFileSync(fleetEstate, 'utf8')).toBe(before)
  })
})
