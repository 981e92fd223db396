import {existsSync, mkdtempSync, readFileSync, readdirSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import {execa} from 'execa'
import {beforeAll, describe, expect, inject, it} from 'vitest'

import {BIN} from '../support/cli.js'
import {fakeTerraform} from '../support/fake-terraform.js'
import {motoEnv, writeMotoEstate} from '../support/moto-estate.js'

/**
 * A closed terminal or a dropped SSH connection mid-apply: the shell sends SIGHUP to infra, and
 * terraform, in a session of its own, hears nothing unless infra stops it. AWS is moto (the role
 * is assumed for real); terraform is the recording stand-in whose apply hangs on a create, because
 * what is under test is what infra does with the signal. (The same path with real terraform and
 * SIGINT is test/provision/provision.integration.test.ts.)
 */
const work = mkdtempSync(path.join(os.tmpdir(), 'infra-sighup-'))
const estateFile = path.join(work, 'estate.yaml')
const plan = {resource_changes: [{address: 'aws_vpc.main', type: 'aws_vpc', change: {actions: ['create']}}]}
let env: Record<string, string>

beforeAll(() => {
  writeMotoEstate(estateFile, inject('motoEndpoint'), {environments: {dev: {accountId: '111111111111', vpcCidr: '10.1.0.0/16', sizing: 'small'}}})
  env = motoEnv(inject('motoCaBundle'), {CI: ''})
})

const lines = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n') : [])

function files(dir: string): string[] {
  if (!existsSync(dir)) return []
  return readdirSync(dir, {recursive: true, withFileTypes: true}).filter((entry) => entry.isFile()).map((entry) => path.join(entry.parentPath, entry.name))
}

describe('provision on SIGHUP', () => {
  it('gives terraform one SIGINT, records the create in flight, leaves nothing running, exit 130', async () => {
    const terraform = fakeTerraform(plan, {hangApply: true})
    const workDir = path.join(work, 'run')
    const child = execa('node', [BIN, 'provision', '--env', 'dev', '--yes', '--estate', estateFile, '--terraform', terraform.binary, '--work-dir', workDir, '--json'], {env, reject: false})
    const deadline = Date.now() + 120_000
    while (!lines(terraform.calls).includes('apply')) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`apply never started: ${lines(terraform.calls)}`)
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    await new Promise((resolve) => setTimeout(resolve, 300))
    child.kill('SIGHUP')
    const result = await child
    expect([result.exitCode, result.signal]).toEqual([130, undefined])
    expect(lines(terraform.calls).filter((call) => call === 'SIGINT')).toEqual(['SIGINT'])
    expect(lines(terraform.calls).at(-1)).toBe('SIGINT')
    const {error} = JSON.parse(result.stdout)
    expect(error.code).toBe('TERRAFORM_INTERRUPTED')
    expect(error.message).toMatch(/terraform apply in .* was interrupted \(SIGHUP\): terraform stopped.*aws_vpc\.main create/)
    const records = files(workDir).filter((file) => file.includes(`${path.sep}interrupted${path.sep}`))
    expect(records).toHaveLength(1)
    expect(JSON.parse(readFileSync(records[0], 'utf8'))).toEqual([{stack: expect.any(String), interruptedAt: expect.any(String), inFlight: [{address: 'aws_vpc.main', action: 'create'}]}])
    // No terraform left: the stand-in's processes are gone.
    const left = (await execa('ps', ['-eo', 'args='])).stdout.split('\n').filter((line) => line.includes(terraform.binary))
    expect(left).toEqual([])
  })
})
