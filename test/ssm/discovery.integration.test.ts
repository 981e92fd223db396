import path from 'node:path'

import pty from '@lydell/node-pty'
import {afterAll, beforeAll, describe, expect, inject, it} from 'vitest'

import {BIN, runCli} from '../support/cli.js'
import {type SsmSessionStandIn, startSsmSessionStandIn} from '../support/ssm-session-standin.js'
import {seedClients, writeTestEstate} from '../support/ssm-seed.js'

/**
 * Finding a session's target against moto (SSM parameters, Auto Scaling, EC2, STS are moto's;
 * only "is it online in Systems Manager" comes from the session stand-in), through the built CLI.
 */
const ENVIRONMENTS = {
  asg: ['444444444401', '10.51.0.0/16'],
  tags: ['444444444402', '10.52.0.0/16'],
  several: ['444444444403', '10.53.0.0/16'],
  stopped: ['444444444404', '10.54.0.0/16'],
  none: ['444444444405', '10.55.0.0/16'],
  offline: ['444444444406', '10.56.0.0/16'],
} as const satisfies Record<string, [string, string]>

let standIn: SsmSessionStandIn
let estateFile: string
const ids: Record<string, string[]> = {}
const env = {AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_EC2_METADATA_DISABLED: 'true', AWS_PROFILE: undefined}

beforeAll(async () => {
  standIn = await startSsmSessionStandIn(inject('motoEndpoint'), inject('motoCaBundle'))
  estateFile = writeTestEstate(standIn.endpoint, ENVIRONMENTS as any)
  const bastion = (name: string) => ({Name: `acme-${name}-bastion`, Role: 'bastion', Environment: name})
  const asg = await seedClients(estateFile, 'asg')
  // A tagged bastion outside the group: the discovery parameter must win over tags.
  const decoy = await asg.instance(bastion('asg'))
  ids.asg = [await asg.bastionGroup('acme-asg-bastion', 'asg'), decoy]
  const tags = await seedClients(estateFile, 'tags')
  ids.tags = [await tags.instance(bastion('tags')), await tags.instance({Name: 'worker-1', Environment: 'tags'})]
  const several = await seedClients(estateFile, 'several')
  ids.several = [await several.instance(bastion('several')), await several.instance(bastion('several'))]
  const stopped = await seedClients(estateFile, 'stopped')
  ids.stopped = [await stopped.instance(bastion('stopped'), 'stopped')]
  const offline = await seedClients(estateFile, 'offline')
  ids.offline = [await offline.instance(bastion('offline'))]
  standIn.offline.add(ids.offline[0])
})

afterAll(async () => standIn?.stop())

const dryRun = (target: string, envName: string, ...extra: string[]) =>
  runCli(['session', target, '--env', envName, '--estate', estateFile, '--reason', 'discovery test', '--dry-run', '--json', ...extra], {env})

describe('infra session: finding the target against moto', () => {
  it('takes the InService instance of the group named by /infra/<env>/bastion/asg-name', async () => {
    const result = await dryRun('bastion', 'asg')
    expect(result.stderr).toBe('')
    const out = JSON.parse(result.stdout)
    expect(out.plan.target.instanceId).toBe(ids.asg[0])
    expect(out.plan.target.foundBy).toContain('Auto Scaling group acme-asg-bastion')
    expect(out.plan.request).toEqual({Target: ids.asg[0], Reason: 'discovery test'})
    expect(out.plan.document).toBe('SSM-SessionManagerRunShell')
    // Nothing was started: a dry run only asks.
    expect(standIn.calls.filter((c) => c.operation === 'StartSession')).toEqual([])
  })

  it('falls back to the Role=bastion and Environment tags without the parameter', async () => {
    const out = JSON.parse((await dryRun('bastion', 'tags')).stdout)
    expect(out.plan.target).toMatchObject({instanceId: ids.tags[0], name: 'acme-tags-bastion', state: 'running', pingStatus: 'Online'})
    expect(out.plan.target.foundBy).toBe('tags Role=bastion, Environment=tags')
  })

  it('reaches any instance by id or Name tag, and a command goes with AWS-StartNonInteractiveCommand', async () => {
    const byName = JSON.parse((await dryRun('worker-1', 'tags', '--command', 'uptime')).stdout)
    expect(byName.plan.target.instanceId).toBe(ids.tags[1])
    expect(byName.plan.request).toEqual({Target: ids.tags[1], DocumentName: 'AWS-StartNonInteractiveCommand', Parameters: {command: ['uptime'], separateOutputStream: ['true']}, Reason: 'discovery test'})
    const byId = JSON.parse((await dryRun(ids.tags[1], 'tags', '--command', 'top', '--tty')).stdout)
    expect(byId.plan.request.DocumentName).toBe('AWS-StartInteractiveCommand')
    const unknown = await dryRun('no-such-host', 'tags')
    expect(unknown.exitCode).toBe(1)
    expect(JSON.parse(unknown.stdout).error.code).toBe('INSTANCE_NOT_FOUND')
  })

  it('lists several matches in one error when no one can pick', async () => {
    const result = await dryRun('bastion', 'several')
    expect(result.exitCode).toBe(1)
    const {error} = JSON.parse(result.stdout)
    expect(error.code).toBe('TARGET_AMBIGUOUS')
    expect(error.message).toContain(ids.several[0])
    expect(error.message).toContain(ids.several[1])
    expect(error.fix).toContain('infra session <instance-id> --env several')
    expect(error.details.candidates.map((c: any) => c.instanceId).sort()).toEqual([...ids.several].sort())
  })

  it('names a stopped bastion and how to start it', async () => {
    const {error} = JSON.parse((await dryRun('bastion', 'stopped')).stdout)
    expect(error.code).toBe('TARGET_NOT_RUNNING')
    expect(error.message).toContain(`${ids.stopped[0]} stopped`)
    expect(error.fix).toContain(`aws ec2 start-instances --instance-ids ${ids.stopped[0]}`)
  })

  it('says when nothing is found, and when the instance is not online in Systems Manager', async () => {
    const none = await dryRun('bastion', 'none')
    expect(none.exitCode).toBe(1)
    const {error} = JSON.parse(none.stdout)
    expect(error.code).toBe('BASTION_NOT_FOUND')
    expect(error.fix).toContain('infra provision --env none')
    const text = await runCli(['session', 'bastion', '--env', 'none', '--estate', estateFile, '--reason', 'x', '--dry-run'], {env})
    expect(text.stderr.trim().split('\n')).toHaveLength(1)
    const offline = JSON.parse((await dryRun('bastion', 'offline')).stdout)
    expect(offline.error.code).toBe('TARGET_NOT_ONLINE')
    expect(offline.error.message).toContain('ConnectionLost')
  })

  it('asks for the reason and offers a picker in a real terminal', async () => {
    const term = pty.spawn(process.execPath, [BIN, 'session', 'bastion', '--env', 'several', '--estate', estateFile, '--dry-run'], {
      cols: 200,
      rows: 40,
      cwd: path.dirname(BIN),
      env: Object.fromEntries(Object.entries({...process.env, ...env, CI: ''}).filter((entry): entry is [string, string] => entry[1] !== undefined)),
    })
    let screen = ''
    term.onData((data) => (screen += data))
    const exited = new Promise<number>((resolve) => term.onExit(({exitCode}) => resolve(exitCode)))
    const waitFor = async (pattern: RegExp) => {
      const deadline = Date.now() + 30_000
      while (!pattern.test(screen)) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${pattern}; screen: ${screen}`)
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
    }
    await waitFor(/Reason for this session/)
    term.write('\r')
    await waitFor(/a reason is required/)
    term.write('picker test\r')
    await waitFor(/Several instances match the bastion of several/)
    term.write('\u001b[B') // arrow down: the second instance
    term.write('\r')
    expect(await exited).toBe(0)
    const plain = screen.replace(/\u001b\[[0-9;?]*[A-Za-z]/g, '')
    const chosen = /target\s+(i-[0-9a-f]+)/.exec(plain)?.[1]
    expect(ids.several).toContain(chosen)
    expect(plain).toMatch(/reason\s+picker test/)
    // The second entry of the list the picker showed is the one taken.
    const listed = [...plain.matchAll(/(i-[0-9a-f]{8,17}) acme-several-bastion/g)].map((m) => m[1])
    expect(chosen).toBe([...new Set(listed)][1])
  })
})
