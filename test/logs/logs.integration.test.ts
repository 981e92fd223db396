import {setImmediate as nextTurn} from 'node:timers/promises'

import {CloudWatchLogsClient, CreateLogGroupCommand, CreateLogStreamCommand, PutLogEventsCommand} from '@aws-sdk/client-cloudwatch-logs'
import {PutParameterCommand, SSMClient} from '@aws-sdk/client-ssm'
import {execa} from 'execa'
import {beforeAll, describe, expect, inject, it} from 'vitest'

import {createClient} from '../../src/aws/clients.js'
import {findTarget, loadEstate} from '../../src/estate/load.js'
import {readCloudWatch} from '../../src/logs/read.js'
import {createServiceLog} from '../../src/service/logging.js'
import {discoveryParameterName, serviceLogGroupName} from '../../src/stacks/discovery-keys.js'
import {BIN, runCli} from '../support/cli.js'
import {writeTestEstate} from '../support/ssm-seed.js'

/**
 * `infra logs --env` against moto's CloudWatch Logs, through the built CLI: two replicas' log
 * streams in the group the stacks create, lines written by the service's own logger.
 * moto ignores JSON filter patterns (it returns every event), so these tests also show that only
 * matching lines are printed whatever CloudWatch returns; the pattern's syntax is checked in
 * test/logs/local-file.test.ts.
 */
const ENVIRONMENTS = {logsa: ['444444444471', '10.71.0.0/16'], logsb: ['444444444472', '10.72.0.0/16'], logsc: ['444444444473', '10.73.0.0/16']} as const
const JOB = '3f2a9c1e-5b7d-4e21-9a0c-1d2e3f4a5b6c'
const OTHER_JOB = '7d1e0b2a-0000-4e21-9a0c-1d2e3f4a5b6c'
let estateFile: string
let env: Record<string, string | undefined>
let clientsFor: (envName: string) => Promise<{logs: CloudWatchLogsClient; ssm: SSMClient}>

/** Runs the service's logger as one replica would, and returns its lines with their time field. */
async function replicaLines(write: (log: ReturnType<typeof createServiceLog>) => Promise<void>): Promise<{timestamp: number; message: string}[]> {
  const chunks: string[] = []
  const log = createServiceLog('info', {write: (chunk: string) => void chunks.push(chunk)})
  await write(log)
  log.close()
  return chunks.join('').split('\n').filter(Boolean).map((message) => ({timestamp: JSON.parse(message).time, message}))
}
const tick = () => new Promise((resolve) => setTimeout(resolve, 3))

async function putEvents(logs: CloudWatchLogsClient, group: string, stream: string, events: {timestamp: number; message: string}[]): Promise<void> {
  await logs.send(new CreateLogStreamCommand({logGroupName: group, logStreamName: stream})).catch(() => {})
  await logs.send(new PutLogEventsCommand({logGroupName: group, logStreamName: stream, logEvents: events}))
}

let replicaA: {timestamp: number; message: string}[]
let replicaB: {timestamp: number; message: string}[]

beforeAll(async () => {
  estateFile = writeTestEstate(inject('motoEndpoint'), ENVIRONMENTS as any)
  env = {AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_EC2_METADATA_DISABLED: 'true', AWS_PROFILE: undefined, AWS_CA_BUNDLE: inject('motoCaBundle'), NODE_EXTRA_CA_CERTS: inject('motoCaBundle')}
  Object.assign(process.env, {AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_EC2_METADATA_DISABLED: 'true', AWS_CA_BUNDLE: inject('motoCaBundle')})
  const estate = loadEstate({file: estateFile, env: {}})
  clientsFor = async (envName) => {
    const access = {estate, target: findTarget(estate, envName), purpose: 'test-seed'}
    return {logs: await createClient(CloudWatchLogsClient, access), ssm: await createClient(SSMClient, access)}
  }
  // Two replicas, their lines interleaved in time: the job runs on A, is polled through B.
  replicaA = []
  replicaB = []
  for (let round = 0; round < 3; round++) {
    replicaA.push(...(await replicaLines(async (log) => {
      log.access({reqId: `req-a${round}`, method: 'POST', url: '/api/v1/jobs/trigger', status: 202, ms: 2.5})
      log.logger.info({jobId: round === 0 ? JOB : OTHER_JOB, attempt: 1}, 'job claimed')
      await nextTurn()
    })))
    await tick()
    replicaB.push(...(await replicaLines(async (log) => {
      log.access({reqId: `req-b${round}`, method: 'GET', url: `/api/v1/jobs/status/${JOB}`, status: 200, ms: 0.8})
      // As the shipper writes it, with the field renamed.
      log.logger.info({job_id: JOB, request_id: `req-b${round}`}, 'status read')
      await nextTurn()
    })))
    await tick()
  }
  replicaA.push(...(await replicaLines(async (log) => log.logger.info({jobId: JOB, state: 'succeeded', seconds: 0.2}, 'job finished'))))
  const a = await clientsFor('logsa')
  await a.logs.send(new CreateLogGroupCommand({logGroupName: serviceLogGroupName('logsa')}))
  await putEvents(a.logs, serviceLogGroupName('logsa'), 'infra-service-6d4f-a', replicaA)
  await putEvents(a.logs, serviceLogGroupName('logsa'), 'infra-service-6d4f-b', replicaB)
  // logsb publishes a group of another name through its discovery parameter.
  const b = await clientsFor('logsb')
  await b.logs.send(new CreateLogGroupCommand({logGroupName: '/custom/logsb/service'}))
  await putEvents(b.logs, '/custom/logsb/service', 'only', replicaA.slice(0, 2))
  await b.ssm.send(new PutParameterCommand({Name: discoveryParameterName('logsb', 'serviceLogGroup'), Type: 'String', Value: '/custom/logsb/service'}))
})

const logs = (...args: string[]) => runCli(['logs', '--estate', estateFile, ...args], {env})
const jobLines = () => [...replicaA, ...replicaB].filter((line) => {
  const fields = JSON.parse(line.message)
  return fields.jobId === JOB || fields.job_id === JOB
})

describe('infra logs --env against moto CloudWatch Logs', () => {
  it("prints one job's lines from both replicas' streams, in time order, and no other job's", async () => {
    const result = await logs('--env', 'logsa', '--job', JOB)
    expect(result.stderr).toBe('')
    expect(result.exitCode).toBe(0)
    const printed = result.stdout.trim().split('\n')
    const expected = jobLines().sort((x, y) => x.timestamp - y.timestamp).map((line) => line.message)
    expect(printed).toEqual(expected)
    expect(printed.length).toBe(5)
    expect(printed.some((line) => line.includes(OTHER_JOB))).toBe(false)
    expect(JSON.parse(printed.at(-1)!).msg).toBe('job finished')
  })

  it('finds a request by reqId (the service) and request_id (the shipper), with --json', async () => {
    const result = await logs('--env', 'logsa', '--request', 'req-b1', '--json')
    expect(result.exitCode).toBe(0)
    const out = JSON.parse(result.stdout)
    expect(out.from).toBe('/infra/logsa/service')
    expect(out.lines.map((line: any) => JSON.parse(line.message).msg)).toEqual(['request', 'status read'])
    expect(out.lines[0]).toMatchObject({source: 'infra-service-6d4f-b', timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT/)})
  })

  it('reads every page, in time order, however small the pages', async () => {
    const {logs: client} = await clientsFor('logsa')
    const {lines, pages} = await readCloudWatch({client, logGroupName: serviceLogGroupName('logsa'), pageSize: 2}, {jobId: JOB})
    expect(pages).toBeGreaterThan(3)
    expect(lines.map((line) => line.message)).toEqual(jobLines().sort((x, y) => x.timestamp - y.timestamp).map((line) => line.message))
  })

  it('honours --since', async () => {
    const last = jobLines().sort((x, y) => x.timestamp - y.timestamp).at(-1)!
    const result = await logs('--env', 'logsa', '--job', JOB, '--since', new Date(last.timestamp).toISOString())
    expect(result.stdout.trim().split('\n')).toEqual([last.message])
  })

  it('reads the group named by the discovery parameter', async () => {
    const result = await logs('--env', 'logsb', '--job', JOB, '--json')
    expect(result.exitCode).toBe(0)
    expect(JSON.parse(result.stdout)).toMatchObject({from: '/custom/logsb/service', lines: [{source: 'only'}]})
  })

  it('says when the group does not exist, with the fix, as JSON', async () => {
    const result = await logs('--env', 'logsc', '--job', JOB, '--json')
    expect(result.exitCode).not.toBe(0)
    expect(JSON.parse(result.stdout).error).toMatchObject({code: 'LOG_GROUP_NOT_FOUND', message: 'log group /infra/logsc/service does not exist'})
  })

  it('refuses a bad id and a missing query before calling AWS', async () => {
    const bad = await logs('--env', 'logsa', '--job', 'x" || 1', '--json')
    expect(bad.exitCode).toBe(2)
    expect(JSON.parse(bad.stdout).error.code).toBe('BAD_FLAG')
    const none = await logs('--env', 'logsa')
    expect(none.exitCode).toBe(2)
    expect(none.stderr).toContain('--job or --request')
  })

  // SIGHUP: a closed terminal or a dropped SSH connection ends following as SIGTERM does.
  it.each([
    ['SIGTERM', 'infra-service-6d4f-c'],
    ['SIGHUP', 'infra-service-6d4f-d'],
  ] as const)('--follow prints what is there, then new lines as they are put, and stops cleanly on %s', async (signal, lateStream) => {
    const child = execa('node', [BIN, 'logs', '--estate', estateFile, '--env', 'logsa', '--job', JOB, '--follow', '--interval', '1'], {reject: false, env: {CI: '', ...env}, stdin: 'ignore'})
    let stdout = ''
    child.stdout!.on('data', (chunk) => (stdout += chunk))
    const waitFor = async (text: string) => {
      const deadline = Date.now() + 20_000
      while (!stdout.includes(text)) {
        if (Date.now() > deadline) throw new Error(`no "${text}" in ${stdout}`)
        await new Promise((resolve) => setTimeout(resolve, 100))
      }
    }
    await waitFor('job finished')
    const late = await replicaLines(async (log) => log.logger.warn({jobId: JOB, signal}, 'result downloaded late'))
    const {logs: client} = await clientsFor('logsa')
    await putEvents(client, serviceLogGroupName('logsa'), lateStream, late)
    await waitFor(`"signal":"${signal}"`)
    const line = stdout.trim().split('\n').at(-1)
    child.kill(signal)
    const result = await child
    // Following ends when it is told to: that is its way to finish (exit 0), with nothing printed after.
    expect([result.exitCode, result.signal]).toEqual([0, undefined])
    expect(result.stderr).toBe('')
    expect(stdout.trim().split('\n').at(-1)).toBe(line)
    const printed = stdout.trim().split('\n')
    // Each line once, though every poll reads the last two minutes again (an earlier case's late line included).
    expect(printed.filter((printedLine) => !printedLine.includes('result downloaded late'))).toHaveLength(5)
    expect(printed.filter((printedLine) => printedLine.includes(`"signal":"${signal}"`))).toHaveLength(1)
    expect(new Set(printed).size).toBe(printed.length)
  }, 40_000)
})

describe('infra logs --file with the embedded service', () => {
  it('reads back a request from the file service start --log-file wrote (owner-only)', async () => {
    const {mkdtempSync, statSync} = await import('node:fs')
    const os = await import('node:os')
    const path = await import('node:path')
    const dir = mkdtempSync(path.join(os.tmpdir(), 'infra-logs-service-'))
    const logFile = path.join(dir, 'service.log')
    const service = execa('node', [BIN, 'service', 'start', '--port', '0', '--data-dir', dir, '--log-file', logFile, '--json'], {reject: false, env: {CI: ''}, stdin: 'ignore'})
    try {
      const url = await new Promise<string>((resolve, reject) => {
        service.stdout!.on('data', (chunk) => resolve(JSON.parse(String(chunk).split('\n')[0]).url))
        service.once('exit', () => reject(new Error('service start exited')))
      })
      expect((await fetch(`${url}/health`, {headers: {'x-request-id': 'health-check-0001'}})).status).toBe(200)
    } finally {
      service.kill('SIGTERM')
      await service
    }
    expect(statSync(logFile).mode & 0o777).toBe(0o600)
    const result = await runCli(['logs', '--file', logFile, '--request', 'health-check-0001', '--json'])
    expect(result.exitCode).toBe(0)
    const out = JSON.parse(result.stdout)
    expect(out.lines).toHaveLength(1)
    expect(JSON.parse(out.lines[0].message)).toMatchObject({reqId: 'health-check-0001', method: 'GET', url: '/health', status: 200, msg: 'request'})
  })
})
