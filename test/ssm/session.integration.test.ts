import {execFileSync} from 'node:child_process'
import {existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

import {GetCallerIdentityCommand, STSClient} from '@aws-sdk/client-sts'
import pty from '@lydell/node-pty'
import {execa} from 'execa'
import {afterAll, beforeAll, beforeEach, describe, expect, inject, it} from 'vitest'

import {awsClientConfig} from '../../src/aws/clients.js'
import {findTarget, loadEstate} from '../../src/estate/load.js'
import {SSMClient} from '@aws-sdk/client-ssm'
import {SdkSessionApi} from '../../src/ssm/session-api.js'
import {BIN, runCli} from '../support/cli.js'
import {type SsmSessionStandIn, startSsmSessionStandIn} from '../support/ssm-session-standin.js'
import {seedClients, writeTestEstate} from '../support/ssm-seed.js'

/**
 * `infra session` end to end: the built CLI, moto behind the session stand-in, and the stand-in
 * session-manager-plugin on PATH, which records exactly how it was started.
 */
const STANDIN_BIN = fileURLToPath(new URL('../support/bin', import.meta.url))
const work = mkdtempSync(path.join(os.tmpdir(), 'infra-session-'))
const pluginLog = path.join(work, 'plugin.ndjson')
let standIn: SsmSessionStandIn
let estateFile: string
let bastionId: string
const baseEnv = () => ({
  AWS_ACCESS_KEY_ID: 'test',
  AWS_SECRET_ACCESS_KEY: 'test',
  AWS_EC2_METADATA_DISABLED: 'true',
  AWS_PROFILE: undefined,
  PATH: `${STANDIN_BIN}${path.delimiter}${process.env.PATH}`,
  STANDIN_PLUGIN_LOG: pluginLog,
})

function pluginRuns(): any[] {
  if (!existsSync(pluginLog)) return []
  return readFileSync(pluginLog, 'utf8').trim().split('\n').filter(Boolean).map((line) => JSON.parse(line))
}

/** Processes still in a process group (the plugin's, spawned detached). */
function groupMembers(pgid: number): number[] {
  // Zombies are left out: they run nothing and hold no port (a container's init may be slow to reap them).
  const out = execFileSync('ps', ['-eo', 'pid=,pgid=,stat='], {encoding: 'utf8'})
  return out
    .trim()
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter(([, group, stat]) => Number(group) === pgid && !stat.startsWith('Z'))
    .map(([pid]) => Number(pid))
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

const started = () => standIn.calls.filter((c) => c.operation === 'StartSession')
const terminated = () => standIn.calls.filter((c) => c.operation === 'TerminateSession').map((c) => c.body.SessionId)

beforeAll(async () => {
  standIn = await startSsmSessionStandIn(inject('motoEndpoint'), inject('motoCaBundle'))
  estateFile = writeTestEstate(standIn.endpoint, {ops: ['555555555501', '10.61.0.0/16']})
  const ops = await seedClients(estateFile, 'ops')
  bastionId = await ops.instance({Name: 'acme-ops-bastion', Role: 'bastion', Environment: 'ops'})
})

beforeEach(() => {
  rmSync(pluginLog, {force: true})
  standIn.calls.length = 0
})

afterAll(async () => standIn?.stop())

const session = (extra: string[], env: Record<string, string | undefined> = {}) =>
  runCli(['session', 'bastion', '--env', 'ops', '--estate', estateFile, ...extra], {env: {...baseEnv(), ...env}})

describe('infra session: the session-manager-plugin contract of the AWS CLI', () => {
  it('starts the plugin as the AWS CLI does, with the answer in AWS_SSM_START_SESSION_RESPONSE and the assumed role in its environment', async () => {
    const result = await session(['--reason', 'INC-42: disk full', '--command', 'echo from-the-bastion; exit 7'])
    expect(result.stderr).not.toMatch(/Error/)
    expect(result.stdout).toContain('from-the-bastion')
    expect(result.exitCode).toBe(7)

    expect(started()).toHaveLength(1)
    const request = started()[0].body
    expect(request).toEqual({Target: bastionId, DocumentName: 'AWS-StartNonInteractiveCommand', Parameters: {command: ['echo from-the-bastion; exit 7'], separateOutputStream: ['true']}, Reason: 'INC-42: disk full'})

    const [run] = pluginRuns()
    // session-manager-plugin <answer> <region> StartSession <profile> <request JSON> <SSM endpoint>
    expect(run.argv).toHaveLength(6)
    expect(run.argv[0]).toBe('AWS_SSM_START_SESSION_RESPONSE')
    expect(run.argv[1]).toBe('eu-west-1')
    expect(run.argv[2]).toBe('StartSession')
    expect(run.argv[3]).toBe('')
    expect(JSON.parse(run.argv[4])).toEqual(request)
    expect(run.argv[5]).toBe(standIn.endpoint)
    const answer = JSON.parse(run.env.AWS_SSM_START_SESSION_RESPONSE)
    expect(Object.keys(answer)).toEqual(['SessionId', 'TokenValue', 'StreamUrl'])
    expect(answer.SessionId).toBe(run.sessionId)
    expect(run.argv.join(' ')).not.toContain(answer.TokenValue)

    // The plugin acts as the role infra assumed in the account, not as the caller's own keys.
    expect(run.env.AWS_ACCESS_KEY_ID).not.toBe('test')
    expect(run.env.AWS_SESSION_TOKEN).toBeTruthy()
    expect(run.env.AWS_REGION).toBe('eu-west-1')
    expect(run.env.AWS_DEFAULT_REGION).toBe('eu-west-1')
    const sts = new STSClient({region: 'eu-west-1', endpoint: standIn.endpoint, credentials: {accessKeyId: run.env.AWS_ACCESS_KEY_ID, secretAccessKey: run.env.AWS_SECRET_ACCESS_KEY, sessionToken: run.env.AWS_SESSION_TOKEN}})
    const identity = await sts.send(new GetCallerIdentityCommand({}))
    expect(identity.Arn).toMatch(/^arn:aws:sts::555555555501:assumed-role\/OrganizationAccountAccessRole\/infra-.*-session$/)

    // Ended in AWS once the plugin exited.
    expect(terminated()).toEqual([answer.SessionId])
  })

  it('exits with the remote command\'s status, which the plugin (exiting 0) does not pass on, and shows only the command\'s output', async () => {
    const result = await session(['--reason', 'status', '--command', 'echo out; echo err >&2; sleep 0.3; printf partial; exit 3'])
    expect(result.exitCode).toBe(3)
    // The agent streams stderr as a StdErr payload and the plugin prints every payload to stdout.
    expect(result.stdout.split('\n').sort()).toEqual(['err', 'out', 'partial'])
    expect(result.stdout).not.toMatch(/EXIT_CODE|Starting session|Exiting session/)
    const failed = await session(['--reason', 'status', '--command', 'false', '--json'])
    expect(failed.exitCode).toBe(1)
    expect(JSON.parse(failed.stdout)).toMatchObject({dryRun: false, exitCode: 1, commandStatus: 1, interrupted: false})
  })

  it('says so, exit 1, when the SSM Agent is too old to report the status, rather than reporting success', async () => {
    const result = await session(['--reason', 'old agent', '--command', 'echo done; exit 0', '--json'], {STANDIN_AGENT_VERSION: '3.1.1446.0'})
    expect(result.exitCode).toBe(1)
    expect(JSON.parse(result.stdout).error).toMatchObject({code: 'EXIT_STATUS_UNKNOWN'})
    expect(result.stderr).toContain('done')
    expect(terminated()).toHaveLength(1)
  })

  it('gives the plugin an empty profile and no AWS_PROFILE when it gets assumed-role credentials, even with --profile', async () => {
    const config = path.join(work, 'aws-config')
    writeFileSync(config, '[profile operator]\naws_access_key_id = test\naws_secret_access_key = test\nregion = eu-west-1\n')
    const result = await session(['--reason', 'profile check', '--command', 'true', '--profile', 'operator'], {
      AWS_CONFIG_FILE: config,
      AWS_SHARED_CREDENTIALS_FILE: path.join(work, 'none'),
      AWS_ACCESS_KEY_ID: undefined,
      AWS_SECRET_ACCESS_KEY: undefined,
    })
    expect(result.exitCode).toBe(0)
    const [run] = pluginRuns()
    expect(run.argv[3]).toBe('')
    expect(run.env.AWS_PROFILE).toBeUndefined()
    expect(run.env.AWS_ACCESS_KEY_ID).toMatch(/^ASIA/)
  })

  it('puts the answer in argv for plugins up to 1.2.497.0, as the AWS CLI does, and the env var for any newer one', async () => {
    await session(['--reason', 'old plugin', '--command', 'true'], {STANDIN_PLUGIN_VERSION: '1.2.497.0'})
    const [old] = pluginRuns()
    expect(JSON.parse(old.argv[0])).toMatchObject({SessionId: old.sessionId})
    expect(old.env.AWS_SSM_START_SESSION_RESPONSE).toBeUndefined()
    rmSync(pluginLog)
    await session(['--reason', 'new plugin', '--command', 'true'], {STANDIN_PLUGIN_VERSION: '1.2.497.1'})
    expect(pluginRuns()[0].argv[0]).toBe('AWS_SSM_START_SESSION_RESPONSE')
  })

  it('terminates the session when the plugin crashes', async () => {
    const result = await session(['--reason', 'crash', '--command', 'sleep 5'], {STANDIN_PLUGIN_CRASH: '1'})
    expect(result.exitCode).toBe(137)
    expect(started()).toHaveLength(1)
    expect(terminated()).toEqual([pluginRuns()[0].sessionId])
  })

  it('refuses with the install hint, and starts nothing, when the plugin is missing', async () => {
    const result = await session(['--reason', 'no plugin', '--command', 'true', '--json'], {PATH: '/usr/bin:/bin'})
    expect(result.exitCode).toBe(1)
    const {error} = JSON.parse(result.stdout)
    expect(error.code).toBe('PLUGIN_NOT_FOUND')
    expect(error.fix).toContain('session-manager-working-with-install-plugin')
    expect(started()).toEqual([])
  })

  // SIGHUP: the operator's terminal closed or the SSH connection to the jump box dropped.
  it.each(['SIGINT', 'SIGHUP'] as const)('on %s (no terminal) ends the plugin group and the session in AWS, leaving no process behind', async (signal) => {
    const child = execa('node', [BIN, 'session', 'bastion', '--env', 'ops', '--estate', estateFile, '--reason', signal, '--command', 'sleep 60'], {
      reject: false,
      env: {CI: '', ...baseEnv()},
      stdin: 'ignore',
    })
    const deadline = Date.now() + 60_000
    while (pluginRuns().length === 0 || groupMembers(pluginRuns()[0].pid).length < 2) {
      if (Date.now() > deadline) throw new Error('the plugin did not start')
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    const [run] = pluginRuns()
    child.kill(signal)
    const result = await child
    expect(result.exitCode).toBe(130)
    expect(terminated()).toEqual([run.sessionId])
    expect(alive(run.pid)).toBe(false)
    expect(groupMembers(run.pid)).toEqual([])
  })

  it('lists the caller\'s open sessions, and everyone\'s with --all', async () => {
    const estate = loadEstate({file: estateFile, env: {}})
    const api = async (purpose: string) => {
      const config = await awsClientConfig({estate, target: findTarget(estate, 'ops'), purpose})
      return new SdkSessionApi(new SSMClient(config), standIn.endpoint)
    }
    const mine = await (await api('session')).startSession({Target: bastionId, Reason: 'left open'})
    const theirs = await (await api('someone-else')).startSession({Target: bastionId, Reason: 'not mine'})
    const own = await runCli(['session', 'list', '--env', 'ops', '--estate', estateFile, '--json'], {env: baseEnv()})
    const listed = JSON.parse(own.stdout)
    expect(listed.owner).toMatch(/assumed-role\/OrganizationAccountAccessRole\/infra-.*-session$/)
    expect(listed.sessions.map((s: any) => [s.sessionId, s.reason])).toEqual([[mine.SessionId, 'left open']])
    const all = JSON.parse((await runCli(['session', 'list', '--env', 'ops', '--estate', estateFile, '--json', '--all'], {env: baseEnv()})).stdout)
    expect(all.sessions.map((s: any) => s.sessionId).sort()).toEqual([mine.SessionId, theirs.SessionId].sort())
  })

  it('at a terminal gives the shell the keyboard: Ctrl-C reaches the remote side, not infra; the shell\'s status is not passed on, as with the AWS CLI', async () => {
    const env = Object.fromEntries(Object.entries({...process.env, ...baseEnv(), CI: ''}).filter((entry): entry is [string, string] => entry[1] !== undefined))
    const term = pty.spawn(process.execPath, [BIN, 'session', 'bastion', '--env', 'ops', '--estate', estateFile, '--reason', 'interactive'], {cols: 120, rows: 30, env})
    let screen = ''
    term.onData((data) => (screen += data))
    const exited = new Promise<number>((resolve) => term.onExit(({exitCode}) => resolve(exitCode)))
    const deadline = Date.now() + 60_000
    while (pluginRuns().length === 0 || !/Starting session with SessionId/.test(screen)) {
      if (Date.now() > deadline) throw new Error(`no session: ${screen}`)
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    await new Promise((resolve) => setTimeout(resolve, 500))
    term.write('\u0003') // Ctrl-C: the whole foreground group gets SIGINT
    await new Promise((resolve) => setTimeout(resolve, 500))
    term.write('echo still-$((40+2)); exit 4\r')
    // The plugin exits 0 whatever the remote shell returned (aws/session-manager-plugin issue 59).
    expect(await exited).toBe(0)
    expect(screen).toContain('still-42')
    const [run] = pluginRuns()
    expect(JSON.parse(run.argv[4])).toEqual({Target: bastionId, Reason: 'interactive'})
    expect(terminated()).toEqual([run.sessionId])
  })
})
