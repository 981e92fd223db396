import {existsSync, mkdtempSync, readFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import {DescribeVpcsCommand, EC2Client} from '@aws-sdk/client-ec2'
import {HeadBucketCommand, S3Client} from '@aws-sdk/client-s3'
import {beforeAll, describe, expect, inject, it} from 'vitest'

import {awsClientConfig, createClient} from '../../src/aws/clients.js'
import {compareManifests} from '../../src/delivery/reviewed-plan.js'
import {findTarget, loadEstate} from '../../src/estate/load.js'
import {OPTIONAL_LAYERS} from '../../src/estate/model.js'
import type {PlanManifest} from '../../src/provision/provision.js'
import {runCli} from '../support/cli.js'
import {motoEnv, writeMotoEstate} from '../support/moto-estate.js'

/**
 * The pipeline's two halves with real terraform against moto: `--plan-only` on a pull request keeps
 * the saved plans and applies nothing; `--from-plan` on the push applies exactly those plans while
 * they are current, and otherwise plans again and stops. The environment keeps only its network
 * and flow logs (the policy gate requires them), every other optional layer left out, so the test
 * stays short; its own account keeps it apart.
 */
const work = mkdtempSync(path.join(os.tmpdir(), 'infra-reviewed-'))
const estateFile = path.join(work, 'estate.yaml')
const planDir = path.join(work, 'plan')
let cliEnv: Record<string, string>

function writeEstate(vpcCidr: string): void {
  writeMotoEstate(estateFile, inject('motoEndpoint'), {
    environments: {pipe: {accountId: '575757575757', vpcCidr, sizing: 'small', omitLayers: OPTIONAL_LAYERS.filter((layer) => layer !== 'flow-logs')}},
  })
}

beforeAll(() => {
  writeEstate('10.57.0.0/16')
  cliEnv = motoEnv(inject('motoCaBundle'), {INFRA_WORK_DIR: path.join(work, '.infra')})
})

const provision = (...extra: string[]) => runCli(['provision', '--env', 'pipe', '--estate', estateFile, '--timeout', '10', '--json', ...extra], {env: cliEnv, timeoutMs: 15 * 60_000})

async function clients() {
  Object.assign(process.env, {AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_CA_BUNDLE: inject('motoCaBundle')})
  const estate = loadEstate({file: estateFile, env: {}})
  const access = {estate, target: findTarget(estate, 'pipe'), purpose: 'test'}
  const config = await awsClientConfig(access)
  return {ec2: await createClient(EC2Client, access), s3: new S3Client({...config, forcePathStyle: true})}
}

const manifestIn = (dir: string): PlanManifest => JSON.parse(readFileSync(path.join(dir, 'plan-manifest.json'), 'utf8')) as PlanManifest

const bucketExists = async () => {
  const {s3} = await clients()
  return s3.send(new HeadBucketCommand({Bucket: 'acme-pipe-tfstate-575757575757'})).then(
    () => true,
    () => false,
  )
}
const vpcs = async () => {
  const {ec2} = await clients()
  const answer = await ec2.send(new DescribeVpcsCommand({Filters: [{Name: 'cidr', Values: ['10.57.0.0/16', '10.58.0.0/16']}]}))
  return (answer.Vpcs ?? []).map((vpc) => vpc.CidrBlock)
}

describe('reviewed plans: --plan-only, then --from-plan', () => {
  it('plans a new environment for review and applies nothing', async () => {
    const result = await provision('--plan-only', '--plan-dir', planDir)
    expect(result.exitCode, result.stderr).toBe(0)
    const report = JSON.parse(result.stdout)
    expect(report.mode).toBe('plan')
    expect(report.stacks.map((s: {name: string; skipped: string}) => [s.name, s.skipped])).toEqual([['pipe-state', 'planned'], ['pipe-estate', 'waits-for-bootstrap']])
    const manifest = JSON.parse(readFileSync(path.join(planDir, 'plan-manifest.json'), 'utf8'))
    expect(manifest.stacks[0]).toMatchObject({name: 'pipe-state', planFile: 'pipe-state.tfplan'})
    expect(manifest.stacks[0].configSha256).toMatch(/^[0-9a-f]{64}$/)
    expect(existsSync(path.join(planDir, 'pipe-state.tfplan'))).toBe(true)
    expect(await bucketExists()).toBe(false)
  })

  it('applies the reviewed bootstrap, then stops at the stack that could not be planned before it, with its fresh plan', async () => {
    const result = await provision('--from-plan', planDir, '--yes')
    expect(result.exitCode).toBe(1)
    const error = JSON.parse(result.stdout).error
    expect(error.code).toBe('PLAN_STALE')
    expect(error.message).toMatch(/pipe-estate could not be planned before its state bucket existed/)
    // What was stopped is on record: the fresh plan of the estate stack, nothing of it applied.
    const replanned = error.details.replanned.stacks.find((s: {name: string}) => s.name === 'pipe-estate')
    expect(replanned.skipped).toBe('planned')
    expect(replanned.plan.create).toBeGreaterThan(5)
    expect(await bucketExists()).toBe(true)
    expect(await vpcs()).toEqual([])
  })

  it('refuses a reviewed plan whose configuration changed since, and applies nothing', async () => {
    const review = await provision('--plan-only', '--plan-dir', planDir)
    expect(review.exitCode, review.stderr).toBe(0)
    expect(JSON.parse(review.stdout).stacks.map((s: {skipped: string}) => s.skipped)).toEqual(['no-changes', 'planned'])
    writeEstate('10.58.0.0/16')
    // The pipeline's apply job plans the merged commit again and compares the changes as data: real plans, another VPC range.
    const replan = await provision('--plan-only', '--plan-dir', path.join(work, 'replan-other'))
    expect(replan.exitCode, replan.stderr).toBe(0)
    const differences = compareManifests(manifestIn(planDir), manifestIn(path.join(work, 'replan-other')))
    expect(differences.some((line) => /^pipe-estate: aws_vpc\.\S+: .*cidr_block/.test(line)), differences.join('\n')).toBe(true)
    const result = await provision('--from-plan', planDir, '--yes')
    expect(result.exitCode).toBe(1)
    expect(JSON.parse(result.stdout).error).toMatchObject({code: 'PLAN_STALE', message: expect.stringMatching(/pipe-estate's configuration changed since its plan was reviewed/)})
    expect(await vpcs()).toEqual([])
  })

  it('applies exactly the reviewed plan while it is current', async () => {
    writeEstate('10.57.0.0/16')
    // Planned again from the same configuration and state, the changes are the same data: no digest differs between two real plans.
    const replan = await provision('--plan-only', '--plan-dir', path.join(work, 'replan-same'))
    expect(replan.exitCode, replan.stderr).toBe(0)
    const same = manifestIn(path.join(work, 'replan-same'))
    expect(same.stacks.find((stack) => stack.name === 'pipe-estate')!.changes!.length).toBeGreaterThan(5)
    expect(compareManifests(manifestIn(planDir), same)).toEqual([])
    const result = await provision('--from-plan', planDir, '--yes')
    expect(result.exitCode, result.stdout + result.stderr).toBe(0)
    const report = JSON.parse(result.stdout)
    expect(report.stacks.map((s: {name: string; applied: boolean; skipped?: string}) => [s.name, s.applied, s.skipped ?? null])).toEqual([
      ['pipe-state', false, 'no-changes'],
      ['pipe-estate', true, null],
    ])
    expect(await vpcs()).toEqual(['10.57.0.0/16'])
    // A saved plan is single-use: the same folder again is stale, by terraform's own check.
    const again = await provision('--from-plan', planDir, '--yes')
    expect(again.exitCode).toBe(1)
    expect(JSON.parse(again.stdout).error.code).toBe('PLAN_STALE')
  })
})
