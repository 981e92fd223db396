import {existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import {CreateBucketCommand, PutObjectCommand, S3Client} from '@aws-sdk/client-s3'
import {beforeAll, describe, expect, inject, it} from 'vitest'

import {awsClientConfig} from '../../src/aws/clients.js'
import {findTarget, loadEstate} from '../../src/estate/load.js'
import {runCli} from '../support/cli.js'
import {fakeTerraform} from '../support/fake-terraform.js'
import {motoEnv, writeMotoEstate} from '../support/moto-estate.js'

/**
 * Where provision looks for the bootstrap's own state, against moto's S3; terraform is the
 * recording stand-in, since what is under test is which backend infra hands terraform.
 */
const work = mkdtempSync(path.join(os.tmpdir(), 'infra-bootstrap-'))
const estateFile = path.join(work, 'estate.yaml')
let env: Record<string, string>
const plan = {resource_changes: [{address: 'aws_s3_bucket.state', type: 'aws_s3_bucket', change: {actions: ['create']}}]}

beforeAll(() => {
  writeMotoEstate(estateFile, inject('motoEndpoint'), {
    environments: {
      orphan: {accountId: '555555555555', vpcCidr: '10.5.0.0/16', sizing: 'small'},
      legacy: {accountId: '666666666666', vpcCidr: '10.6.0.0/16', sizing: 'small'},
    },
  })
  env = motoEnv(inject('motoCaBundle'))
})

async function s3For(name: string) {
  Object.assign(process.env, env)
  const estate = loadEstate({file: estateFile, env: {}})
  const target = findTarget(estate, name)
  return {s3: new S3Client({...(await awsClientConfig({estate, target, purpose: 'test'})), forcePathStyle: true}), bucket: target.stateBucket}
}

const calls = (log: string) => (existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : [])

describe('the bootstrap state', () => {
  it('a state bucket that exists without its own state, and none in the work folder: stops before terraform plans', async () => {
    const {s3, bucket} = await s3For('orphan')
    await s3.send(new CreateBucketCommand({Bucket: bucket, CreateBucketConfiguration: {LocationConstraint: 'eu-west-1'}}))
    const terraform = fakeTerraform(plan)
    const result = await runCli(['provision', '--env', 'orphan', '--yes', '--json', '--estate', estateFile, '--terraform', terraform.binary, '--work-dir', path.join(work, 'orphan')], {env})
    expect(result.exitCode).toBe(1)
    expect(JSON.parse(result.stdout).error).toMatchObject({code: 'STATE_BOOTSTRAP_MISSING', message: expect.stringContaining(`state bucket ${bucket} exists in account 555555555555`)})
    expect(calls(terraform.calls)).toEqual([])
  })

  it('a work folder whose state predates the move: migrated into the bucket before anything is planned', async () => {
    const {s3, bucket} = await s3For('legacy')
    await s3.send(new CreateBucketCommand({Bucket: bucket, CreateBucketConfiguration: {LocationConstraint: 'eu-west-1'}}))
    const workDir = path.join(work, 'legacy')
    const stateDir = path.join(workDir, 'legacy', 'state')
    mkdirSync(stateDir, {recursive: true})
    writeFileSync(path.join(stateDir, 'legacy-state.tfstate'), '{"version": 4}')
    const terraform = fakeTerraform({format_version: '1.2', planned_values: {root_module: {}}, resource_changes: []})
    const result = await runCli(['provision', '--env', 'legacy', '--yes', '--json', '--estate', estateFile, '--terraform', terraform.binary, '--work-dir', workDir], {env})
    expect(JSON.parse(result.stdout)).toMatchObject({bootstrapState: 'local'})
    // init (local, through the override), init -migrate-state, then plan on the bucket's state.
    expect(calls(terraform.args).slice(0, 3)).toEqual([
      'init -input=false -no-color -backend=true -reconfigure',
      'init -input=false -no-color -migrate-state -force-copy',
      expect.stringMatching(/^plan /),
    ])
    expect(existsSync(path.join(stateDir, 'legacy-state.tfstate.migrated'))).toBe(true)
    expect(existsSync(path.join(workDir, 'legacy', 'cdktf.out', 'stacks', 'legacy-state', 'bootstrap_override.tf.json'))).toBe(false)
    // And once the state is in the bucket, the next run finds it there.
    await s3.send(new PutObjectCommand({Bucket: bucket, Key: 'infra/legacy/legacy-state.tfstate', Body: '{"version": 4}', ServerSideEncryption: 'aws:kms'}))
    const again = await runCli(['provision', '--env', 'legacy', '--yes', '--json', '--estate', estateFile, '--terraform', terraform.binary, '--work-dir', path.join(work, 'fresh')], {env})
    expect(JSON.parse(again.stdout)).toMatchObject({bootstrapState: 'in-bucket'})
  })
})
