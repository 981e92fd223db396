import {CloudWatchLogsClient, CreateLogGroupCommand, CreateLogStreamCommand, PutLogEventsCommand} from '@aws-sdk/client-cloudwatch-logs'
import {CreateFlowLogsCommand, CreateVpcCommand, EC2Client} from '@aws-sdk/client-ec2'
import {CreateBucketCommand, S3Client} from '@aws-sdk/client-s3'
import {PutParameterCommand, SSMClient} from '@aws-sdk/client-ssm'
import Database from 'better-sqlite3'
import {execa} from 'execa'
import {copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import http from 'node:http'
import type {AddressInfo} from 'node:net'
import os from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {gzipSync} from 'node:zlib'

import {afterAll, beforeAll, describe, expect, inject, it} from 'vitest'

import {createClient} from '../../src/aws/clients.js'
import {findTarget, loadEstate} from '../../src/estate/load.js'
import {createServiceLog} from '../../src/service/logging.js'
import {BIN} from '../support/cli.js'
import {freePort} from '../support/net.js'
import {type TestService, startTestService} from '../support/service.js'

/**
 * Every example in every command's --help, read from the manifest (so examples added later are
 * run too), run by a shell as written in a sandbox folder that holds the files they name:
 * - `infra` is the built CLI; AWS is moto (the sandbox estate's accounts, seeded with what the
 *   examples read); the collection service is a real one started here, with the token in
 *   INFRA_SERVICE_TOKEN as its help says;
 * - provision examples run with --dry-run (they would change accounts), --no-validate unless the
 *   example is a dry run itself; a --destroy example cannot be a dry run, so it runs without AWS
 *   credentials and must get as far as asking for them;
 * - service start listens on a free port instead of its example port, with absolute folders moved
 *   into the sandbox, and must answer /health and stop cleanly on SIGTERM.
 */
const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const manifest = JSON.parse(readFileSync(path.join(ROOT, 'oclif.manifest.json'), 'utf8')) as {commands: Record<string, {examples?: (string | {command: string})[]}>}
const examples = Object.entries(manifest.commands).flatMap(([id, command]) =>
  (command.examples ?? []).map((example) => ({id, line: (typeof example === 'string' ? example : example.command).replaceAll('<%= config.bin %>', 'infra')})),
)

const sandbox = mkdtempSync(path.join(os.tmpdir(), 'infra-examples-'))
const ACCOUNTS = {dev: '611111111111', test: '622222222222', prod: '633333333333'}
let service: TestService
let files: http.Server
let env: Record<string, string>

async function seedAws(): Promise<void> {
  const estate = loadEstate({file: path.join(sandbox, 'infra.estate.yaml'), env: {AWS_ENDPOINT_URL: inject('motoEndpoint')}})
  const access = (name: string) => ({estate, target: findTarget(estate, name), purpose: 'examples'})
  // prod delivers flow logs to S3 (`--env prod --since 24h`), dev to CloudWatch Logs (`--from cloudwatch`).
  const s3 = await createClient(S3Client, access('prod'))
  await s3.send(new CreateBucketCommand({Bucket: 'acme-prod-flow-logs-examples', CreateBucketConfiguration: {LocationConstraint: 'eu-west-1'}}))
  await (await createClient(SSMClient, access('prod'))).send(new PutParameterCommand({Name: '/infra/prod/flow-logs/s3-destination', Type: 'String', Value: 'arn:aws:s3:::acme-prod-flow-logs-examples', Overwrite: true}))
  const group = '/infra/dev/vpc-flow-logs'
  await (await createClient(CloudWatchLogsClient, access('dev'))).send(new CreateLogGroupCommand({logGroupName: group}))
  const ec2 = await createClient(EC2Client, access('dev'))
  const vpcId = (await ec2.send(new CreateVpcCommand({CidrBlock: '10.1.0.0/16'}))).Vpc!.VpcId!
  await ec2.send(new CreateFlowLogsCommand({ResourceIds: [vpcId], ResourceType: 'VPC', TrafficType: 'ALL', LogDestinationType: 'cloud-watch-logs', LogGroupName: group, DeliverLogsPermissionArn: `arn:aws:iam::${ACCOUNTS.dev}:role/flow-logs`}))
  await (await createClient(SSMClient, access('dev'))).send(new PutParameterCommand({Name: '/infra/dev/flow-logs/log-group', Type: 'String', Value: group, Overwrite: true}))
  // What `deploy service` reads from an applied environment's discovery parameters.
  const discovered = {
    'waf/web-acl-arn': `arn:aws:wafv2:eu-west-1:${ACCOUNTS.dev}:regional/webacl/acme-dev/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b`,
    'database/secret-arn': `arn:aws:secretsmanager:eu-west-1:${ACCOUNTS.dev}:secret:rds!db-0f1e2d3c-AbCdEf`,
    'database/endpoint': 'acme-dev-db.c0ffee.eu-west-1.rds.amazonaws.com:5432',
    'network/load-balancer-subnet-ids': 'subnet-0c0ffee0000000001,subnet-0c0ffee0000000002,subnet-0c0ffee0000000003',
    'eks/alb-security-group-id': 'sg-0c0ffee0000000004',
  }
  for (const [key, value] of Object.entries(discovered)) {
    await (await createClient(SSMClient, access('dev'))).send(new PutParameterCommand({Name: `/infra/dev/${key}`, Type: 'String', Value: value, Overwrite: true}))
  }
  // `infra logs`: the service's lines (its own logger's) in the dev and prod service groups, and in a local file.
  const chunks: string[] = []
  const log = createServiceLog('info', {write: (chunk: string) => void chunks.push(chunk)})
  log.access({reqId: 'req-7f3a9c1e', method: 'POST', url: '/api/v1/jobs/trigger', status: 202, ms: 2})
  log.logger.info({jobId: '3f2a9c1e-5b7d-4e21-9a0c-1d2e3f4a5b6c', state: 'succeeded'}, 'job finished')
  log.close()
  const lines = chunks.join('').split('\n').filter(Boolean)
  for (const name of ['dev', 'prod']) {
    const logs = await createClient(CloudWatchLogsClient, access(name))
    const serviceGroup = `/infra/${name}/service`
    await logs.send(new CreateLogGroupCommand({logGroupName: serviceGroup}))
    await logs.send(new CreateLogStreamCommand({logGroupName: serviceGroup, logStreamName: 'examples'}))
    await logs.send(new PutLogEventsCommand({logGroupName: serviceGroup, logStreamName: 'examples', logEvents: lines.map((message) => ({timestamp: JSON.parse(message).time, message}))}))
  }
  mkdirSync(path.join(sandbox, '.infra/service'), {recursive: true})
  writeFileSync(path.join(sandbox, '.infra/service/service.log'), `${lines.join('\n')}\n`)
}

/**
 * Examples that act on what this machine cannot provide: a shell or a tunnel that runs until
 * Ctrl-C (the Session Manager plugin and the SSM session API are not here), an Organizations
 * account, a cluster's kubeconfig context, clients in the estate, a terminal to confirm on. Each
 * still runs as written and must stop at exactly that precondition (its error named here), never
 * at its own command line (a usage error, exit 2, would mean the example drifted from the flags).
 * test/ssm, test/onboarding, test/deploy and test/provision run these commands for real with
 * their stand-ins.
 */
const STOPS_AT: {example: RegExp; error: RegExp; usage?: true}[] = [
  {example: /^infra (session|tunnel) (?!list)(?!.*--dry-run)/, error: /Session Manager plugin \(session-manager-plugin\) is not on PATH/},
  {example: /^infra session (list|\S+ .*--dry-run)/, error: /does not answer (DescribeSessions|DescribeInstanceInformation) as Systems Manager does|no instance named acme-dev-bastion in dev/},
  {example: /^infra deploy service --env dev --image \S+$/, error: /refusing to deploy to dev without confirmation: no terminal/},
  {example: /^infra deploy service --env prod /, error: /prod has no \/infra\/prod\/network\/load-balancer-subnet-ids, \/infra\/prod\/eks\/alb-security-group-id, \/infra\/prod\/waf\/web-acl-arn/},
  {example: /^infra doctor --for tunnel/, error: /not ready for tunnel: .*session-manager-plugin/},
  {example: /^infra onboard-client$/, error: /missing --name: pass --name \(no terminal to ask on/, usage: true},
  // Resuming needs the journal of an onboarding that was interrupted; without one the rest is missing.
  {example: /^infra onboard-client --name globex --yes +# resume/, error: /missing --ou: pass --ou \(no terminal to ask on/, usage: true},
  {example: /^infra onboard-client (?!.*--dry-run)/, error: /Organizations|organization|management account|AWSOrganizationsNotInUse/},
  // A client the estate does not have is a value that names nothing: exit 2, as the README says.
  {example: /^infra offboard-client /, error: /no client "globex"/, usage: true},
  // Pipeline steps: they read GitHub through gh, which this machine has neither installed nor logged in.
  {example: /^infra ci check-reviewed /, error: /gh api .*failed|GH_TOKEN|gh is not installed|GitHub CLI/},
  {example: /^infra doctor --for ci/, error: /not ready for ci: .*gh/},
  // infra is not published, so the registry has no integrity to pin for this version (a value that names nothing).
  {example: /^infra init ci /, error: /registry gives no sha512 integrity for infra@|is not inside the repository/, usage: true},
  {example: /^infra provision --clients /, error: /has no clients to provision/},
  {example: /^infra provision --env dev --plan-only/, error: /no AWS credentials found/},
  // Without a terminal an apply that cannot be confirmed is refused before any AWS call (exit 4).
  {example: /^infra provision --env dev --adopt /, error: /refusing to apply dev in account \d+ without confirmation: no terminal/},
  {example: /^infra provision --env dev --destroy/, error: /refusing to destroy dev in account \d+ without the target named: no terminal/},
]

beforeAll(async () => {
  // The estate of the sandbox: the shipped one in accounts of its own, so it shares nothing in moto.
  let estate = readFileSync(path.join(ROOT, 'config/estate.yaml'), 'utf8')
  for (const [name, account] of Object.entries(ACCOUNTS)) estate = estate.replace(`"${{dev: '111111111111', test: '222222222222', prod: '333333333333'}[name]}"`, `"${account}"`)
  // The repository the pipelines deliver from (`init ci`).
  estate += '\ndelivery:\n  repository: acme/estate\n'
  writeFileSync(path.join(sandbox, 'infra.estate.yaml'), estate)
  writeFileSync(path.join(sandbox, 'acme.yaml'), estate)
  // terraform's own plan of infra's dev-state stack, for `--file plan.json`.
  copyFileSync(path.join(ROOT, 'test/policy/plans/dev-state.plan.json'), path.join(sandbox, 'plan.json'))
  // Flow log records from the AWS documentation's examples (version 2, the default format).
  mkdirSync(path.join(sandbox, 'logs/2026/11'), {recursive: true})
  const records = [
    '2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK',
    '2 123456789010 eni-1235b8ca123456789 172.31.9.69 172.31.9.12 49761 3389 6 20 4249 1418530010 1418530070 REJECT OK',
    '2 123456789010 eni-1235b8ca123456789 - - - - - - - 1431280876 1431280934 - NODATA',
  ]
  writeFileSync(path.join(sandbox, 'logs/2026/11/eni.log.gz'), gzipSync(`${records.join('\n')}\n`))
  // The Terraform folder and variables file `audit stacks --file ./terraform --var-file prod.tfvars` reads.
  mkdirSync(path.join(sandbox, 'terraform'))
  writeFileSync(path.join(sandbox, 'terraform/main.tf'), 'variable "env" {\n  type = string\n}\n\nresource "aws_ssm_parameter" "owner" {\n  name  = "/infra/${var.env}/owner"\n  type  = "String"\n  value = "platform"\n}\n')
  writeFileSync(path.join(sandbox, 'prod.tfvars'), 'env = "prod"\n')
  // The database and the web page the jobs examples collect.
  const crm = new Database(path.join(sandbox, 'crm.db'))
  crm.exec("CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT); INSERT INTO users (email) VALUES ('a@example.com'), ('b@example.com')")
  crm.close()
  files = http.createServer((_, response) => response.writeHead(200, {'content-type': 'application/json'}).end('{"users": 2}'))
  await new Promise<void>((resolve) => files.listen(0, '127.0.0.1', resolve))
  writeFileSync(path.join(sandbox, 'job.json'), JSON.stringify({url: `http://127.0.0.1:${(files.address() as AddressInfo).port}/users.json`}))
  service = await startTestService({connections: {crm: path.join(sandbox, 'crm.db')}, allowPrivateHttp: true})
  writeFileSync(path.join(service.fileRoot, 'report.csv'), 'id,total\n1,42\n')
  env = {
    HOME: sandbox,
    CI: '',
    AWS_ENDPOINT_URL: inject('motoEndpoint'),
    AWS_CA_BUNDLE: inject('motoCaBundle'),
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_PROFILE: '',
    INFRA_SERVICE_URL: service.url,
    INFRA_SERVICE_TOKEN: service.token,
    PATH: `${path.join(sandbox, 'bin')}${path.delimiter}${process.env.PATH}`,
  }
  // `infra` on PATH is the built CLI.
  mkdirSync(path.join(sandbox, 'bin'))
  writeFileSync(path.join(sandbox, 'bin/infra'), `#!/bin/sh\nexec "${process.execPath}" "${BIN}" "$@"\n`, {mode: 0o755})
  Object.assign(process.env, {AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_CA_BUNDLE: inject('motoCaBundle')})
  await seedAws()
})

afterAll(async () => {
  await service?.service.stop()
  await new Promise<void>((resolve) => (files ? files.close(() => resolve()) : resolve()))
})

const shell = (line: string, extraEnv: Record<string, string> = {}) =>
  execa('sh', ['-c', line], {cwd: sandbox, env: {...env, ...extraEnv}, extendEnv: true, reject: false, stdin: 'ignore', timeout: 300_000})

async function runServiceStart(line: string): Promise<void> {
  const port = await freePort()
  const adapted = line.replace(/--port \d+/, `--port ${port}`).replace(/ (\/[\w/.-]+)/g, (_, folder: string) => ` ${path.join(sandbox, 'root', folder)}`)
  const child = execa('sh', ['-c', `exec ${adapted}`], {cwd: sandbox, env: {...env, INFRA_SERVICE_PORT: String(port)}, extendEnv: true, reject: false, stdin: 'ignore'})
  try {
    let healthy = false
    for (let attempt = 0; attempt < 100 && !healthy; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 200))
      healthy = await fetch(`http://127.0.0.1:${port}/health`).then((response) => response.ok, () => false)
    }
    expect(healthy, `${adapted} did not answer /health`).toBe(true)
  } finally {
    child.kill('SIGTERM')
  }
  const result = await child
  expect(result.exitCode, String(result.stderr)).toBe(0)
}

describe('every help example', () => {
  it('has examples to run, from every command that has any', () => {
    expect(examples.length).toBeGreaterThanOrEqual(15)
  })

  for (const {id, line} of examples) {
    it(`${id}: ${line}`, async () => {
      if (id === 'service:start') return runServiceStart(line)
      const stop = STOPS_AT.find((entry) => entry.example.test(line))
      if (stop) {
        const credentialsNeeded = /no AWS credentials/.test(stop.error.source)
        const result = await shell(line, credentialsNeeded ? {AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '', AWS_EC2_METADATA_DISABLED: 'true', AWS_CONFIG_FILE: path.join(sandbox, 'none'), AWS_SHARED_CREDENTIALS_FILE: path.join(sandbox, 'none')} : {})
        const output = `${result.stdout}\n${result.stderr}`
        expect(result.exitCode, output).not.toBe(0)
        if (!stop.usage) expect(result.exitCode, output).not.toBe(2)
        expect(output).toMatch(stop.error)
        return
      }
      if (id === 'provision' && / --destroy\b/.test(line)) {
        const result = await shell(line, {AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '', AWS_EC2_METADATA_DISABLED: 'true', AWS_CONFIG_FILE: path.join(sandbox, 'none'), AWS_SHARED_CREDENTIALS_FILE: path.join(sandbox, 'none')})
        expect(result.stderr).toContain('Error: no AWS credentials found')
        return
      }
      const command = id === 'provision' && !/ --(dry-run|plan-only|clients)\b/.test(line) ? `${line} --dry-run --no-validate` : line
      const result = await shell(command)
      const output = `${result.stdout}\n${result.stderr}`
      if (id === 'audit:flow-logs') {
        // Findings (1) or evidence that cannot prove the promise (3) are answers too; an error is not.
        expect([0, 1, 3], output).toContain(result.exitCode)
        expect(result.stderr).not.toMatch(/^Error:/m)
      } else {
        expect(result.exitCode, output).toBe(0)
      }
      const queued = /^Queued: (\S+)$/m.exec(result.stdout)?.[1]
      if (id === 'jobs:trigger' && queued) {
        // Queued is not done: the example must describe a job the service can run.
        let job: {status: string; error?: string} = {status: 'queued'}
        for (let attempt = 0; attempt < 100 && ['queued', 'running'].includes(job.status); attempt++) {
          await new Promise((resolve) => setTimeout(resolve, 100))
          job = (await service.call('GET', `/api/v1/jobs/status/${queued}`)).body
        }
        expect(job, JSON.stringify(job)).toMatchObject({status: 'succeeded'})
      }
      for (const written of line.match(/--output (\S+)/g) ?? []) expect(existsSync(path.join(sandbox, written.split(' ')[1]))).toBe(true)
    })
  }
})
