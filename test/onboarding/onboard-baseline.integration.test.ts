import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

import {DescribeVpcsCommand, EC2Client} from '@aws-sdk/client-ec2'
import {CreateOrganizationCommand, CreateOrganizationalUnitCommand, ListRootsCommand, OrganizationsClient} from '@aws-sdk/client-organizations'
import {GetParameterCommand, SSMClient} from '@aws-sdk/client-ssm'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {caBundleHandler, createClient} from '../../src/aws/clients.js'
import {findTarget, loadEstate} from '../../src/estate/load.js'
import {runCli} from '../support/cli.js'
import {type MotoServer, startMoto} from '../support/moto.js'

/**
 * The whole onboarding with the baseline applied: a new account vended by moto's Organizations,
 * then the client's stacks applied into it by real terraform through the same code as
 * `infra provision`. The client leaves out the layers the provision test leaves out, for the
 * same emulator reasons (cloudtrail: moto's StartLogging; eks: moto drops the cluster's settings).
 * This is the one slow onboarding test (about 5 minutes here); that a rerun changes nothing is
 * shown without terraform in onboard-client.integration.test.ts, and a second provision planning
 * no changes in the provision test.
 */
let moto: MotoServer
let work: string
let estateFile: string
let env: Record<string, string>

beforeAll(async () => {
  moto = await startMoto({launcher: fileURLToPath(new URL('../support/moto_organizations.py', import.meta.url)), env: {INFRA_MOTO_CREATE_ACCOUNT_POLLS: '2'}})
  work = mkdtempSync(path.join(os.tmpdir(), 'infra-onboard-baseline-'))
  estateFile = path.join(work, 'estate.yaml')
  writeFileSync(
    estateFile,
    `organization:\n  name: acme\n  managementAccountId: "123456789012"\nclientCidrPool: 10.64.0.0/10\nenvironments:\n  dev:\n    accountId: "111111111111"\n    vpcCidr: 10.1.0.0/16\nclients: {}\n`,
  )
  env = {
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_CA_BUNDLE: moto.caBundle,
    AWS_ENDPOINT_URL: moto.endpoint,
    INFRA_WORK_DIR: path.join(work, '.infra'),
    INFRA_ONBOARD_POLL_MS: '20',
  }
  const organizations = new OrganizationsClient({region: 'us-east-1', endpoint: moto.endpoint, credentials: {accessKeyId: 'test', secretAccessKey: 'test'}, requestHandler: caBundleHandler({AWS_CA_BUNDLE: moto.caBundle})})
  await organizations.send(new CreateOrganizationCommand({FeatureSet: 'ALL'}))
  const root = (await organizations.send(new ListRootsCommand({}))).Roots![0]
  await organizations.send(new CreateOrganizationalUnitCommand({ParentId: root.Id, Name: 'Clients'}))
}, 120_000)

afterAll(async () => {
  await moto?.stop()
})

const args = ['onboard-client', '--name', 'globex', '--email', 'aws+globex@acme.example', '--ou', 'Clients', '--omit-layer', 'cloudtrail', '--omit-layer', 'eks', '--yes', '--json', '--timeout', '10']

describe('infra onboard-client with the baseline', () => {
  it('vends the account and applies the client\'s stacks into it', async () => {
    const result = await runCli([...args, '--estate', estateFile], {env, timeoutMs: 1_500_000})
    const report = JSON.parse(result.stdout)
    expect(report.error).toBeUndefined()
    expect(result.exitCode).toBe(0)
    expect(report.steps.at(-1)).toEqual({step: 'provision', outcome: 'done', detail: 'applied 2 stack(s)'})
    expect(report.provision.stacks.map((stack: any) => [stack.name, stack.applied])).toEqual([
      ['globex-state', true],
      ['globex-estate', true],
    ])
    expect(readFileSync(estateFile, 'utf8')).toContain('omitLayers:\n      - cloudtrail\n      - eks')

    // The VPC is in the new account, with the CIDR the pool gave it.
    Object.assign(process.env, {AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_CA_BUNDLE: moto.caBundle})
    const estate = loadEstate({file: estateFile, env: {AWS_ENDPOINT_URL: moto.endpoint}})
    const access = {estate, target: findTarget(estate, 'globex'), purpose: 'test'}
    const ssm = await createClient(SSMClient, access)
    const vpcId = (await ssm.send(new GetParameterCommand({Name: '/infra/globex/vpc/id'}))).Parameter!.Value!
    const [vpc] = (await (await createClient(EC2Client, access)).send(new DescribeVpcsCommand({VpcIds: [vpcId]}))).Vpcs!
    expect(vpc.CidrBlock).toBe('10.64.0.0/16')
    expect(vpc.OwnerId).toBe(report.accountId)

    const list = JSON.parse((await runCli(['env', 'list', '--estate', estateFile, '--json'], {env})).stdout)
    expect(list.environments.find((target: any) => target.name === 'globex').baseline).toMatchObject({accountId: report.accountId, fingerprint: report.baseline.fingerprint})
  })
})
