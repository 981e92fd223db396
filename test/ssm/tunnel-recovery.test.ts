import {existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import net, {type AddressInfo} from 'node:net'
import os from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

import {afterAll, afterEach, beforeAll, describe, expect, it} from 'vitest'

import type {SsmContext} from '../../src/ssm/context.js'
import type {SessionApi, SessionHandle, StartSessionRequest} from '../../src/ssm/session-api.js'
import {type TunnelEvent, TunnelSet} from '../../src/ssm/tunnel.js'

/**
 * How a tunnel recovers, with the stand-in session-manager-plugin as real child processes dying
 * in each phase and credentials that expire. The Session Manager API is the SessionApi interface
 * (the narrow boundary infra calls; the wire-level stand-in is exercised by
 * tunnel.integration.test.ts), recording every call, so that "no session left" is checked
 * against what AWS would hold.
 */
const PLUGIN = fileURLToPath(new URL('../support/bin/session-manager-plugin', import.meta.url))
const work = mkdtempSync(path.join(os.tmpdir(), 'infra-tunnel-recovery-'))
const pluginLog = path.join(work, 'plugin.ndjson')
const crashFile = path.join(work, 'crash')
let echo: net.Server

beforeAll(async () => {
  echo = net.createServer((socket) => socket.pipe(socket))
  await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve))
  process.env.STANDIN_PLUGIN_LOG = pluginLog
  process.env.STANDIN_RELAY_TO = `127.0.0.1:${(echo.address() as AddressInfo).port}`
})
afterEach(() => {
  rmSync(pluginLog, {force: true})
  rmSync(crashFile, {force: true})
  delete process.env.STANDIN_RESUMED_PORT_NEVER_OPENS
})
afterAll(() => echo.close())

const runs = (): any[] => (existsSync(pluginLog) ? readFileSync(pluginLog, 'utf8').trim().split('\n').filter(Boolean).map((line) => JSON.parse(line)) : [])
const alive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}
const roundTrip = (port: number, text: string) =>
  new Promise<string>((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(text))
    socket.once('data', (data) => (socket.end(), resolve(data.toString())))
    socket.once('error', reject)
  })

/** What AWS holds: sessions and whether each is still open; every call in order. */
function fakeSessions(options: {startDelay?: () => Promise<void>; refuseResume?: boolean} = {}) {
  const open = new Map<string, boolean>()
  const calls: string[] = []
  let n = 0
  const handle = (id: string): SessionHandle => ({SessionId: id, TokenValue: `token-${Math.random()}`, StreamUrl: `wss://ssmmessages.eu-west-1.amazonaws.com/v1/data-channel/${id}`})
  const api: SessionApi = {
    endpoint: 'https://ssm.eu-west-1.amazonaws.com',
    async startSession(_request: StartSessionRequest) {
      calls.push('StartSession')
      await options.startDelay?.()
      const id = `op-${++n}`
      open.set(id, true)
      return handle(id)
    },
    async resumeSession(id: string) {
      calls.push(`ResumeSession ${id}`)
      if (options.refuseResume || !open.get(id)) throw Object.assign(new Error(`session ${id} cannot be resumed`), {name: 'DoesNotExistException'})
      return handle(id)
    },
    async terminateSession(id: string) {
      calls.push(`TerminateSession ${id}`)
      open.set(id, false)
    },
    async pingStatus() {
      return new Map()
    },
    async activeSessions() {
      return []
    },
  }
  return {api, calls, openSessions: () => [...open].filter(([, isOpen]) => isOpen).map(([id]) => id)}
}

function tunnelSet(api: SessionApi, credentials: () => {expiration?: Date}, extra: Partial<ConstructorParameters<typeof TunnelSet>[2]> = {}) {
  let assumed = 0
  const ctx = {
    env: {name: 'dev', accountId: '111111111111'},
    region: 'eu-west-1',
    sessions: api,
    // The role assumed again for each plugin: a new key each time.
    pluginCredentials: async () => ({accessKeyId: `ASIAROLE${++assumed}`, secretAccessKey: 's', sessionToken: 't', ...credentials()}),
  } as unknown as SsmContext
  const events: TunnelEvent[] = []
  const set = new TunnelSet(ctx, {path: PLUGIN, version: '1.2.707.0'}, {
    bastion: {instanceId: 'i-0bastion', foundBy: 'test'} as never,
    reason: 'recovery test',
    specs: [{name: 'db', host: 'db.internal', port: 5432}],
    backoffMs: 100,
    onEvent: (event) => events.push(event),
    ...extra,
  })
  const next = async (type: TunnelEvent['type'], count = 1, timeoutMs = 20_000): Promise<TunnelEvent & {detail?: string}> => {
    const deadline = Date.now() + timeoutMs
    while (events.filter((e) => e.type === type).length < count) {
      if (Date.now() > deadline) throw new Error(`no ${type}: ${JSON.stringify(events)}`)
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    return events.filter((e) => e.type === type)[count - 1]
  }
  return {set, events, next}
}

describe('a tunnel whose plugin dies', () => {
  it('after opening: resumed on the same port, the new plugin with the role assumed again', async () => {
    const aws = fakeSessions()
    const {set, next} = tunnelSet(aws.api, () => ({}))
    const [opened] = await set.open()
    process.kill(runs()[0].pid, 'SIGKILL')
    const reopened = await next('reopened')
    expect(reopened.tunnel).toMatchObject({localPort: opened.localPort, sessionId: opened.sessionId, reconnects: 1})
    expect(aws.calls).toEqual(['StartSession', `ResumeSession ${opened.sessionId}`])
    const [first, second] = runs()
    expect(second.resumed).toBe(true)
    expect(second.env.AWS_ACCESS_KEY_ID).not.toBe(first.env.AWS_ACCESS_KEY_ID)
    expect(await roundTrip(opened.localPort, 'after')).toBe('after')
    await set.close()
    expect(aws.openSessions()).toEqual([])
    expect(runs().filter((run) => alive(run.pid))).toEqual([])
  })

  it('and the resumed session never brings the port back: terminated within the short wait, a new session on the same port', async () => {
    process.env.STANDIN_RESUMED_PORT_NEVER_OPENS = '1'
    const aws = fakeSessions()
    const {set, next} = tunnelSet(aws.api, () => ({}), {resumeOpenTimeoutMs: 1500})
    const [opened] = await set.open()
    process.kill(runs()[0].pid, 'SIGKILL')
    const reopened = await next('reopened')
    expect(reopened.tunnel.localPort).toBe(opened.localPort)
    expect(reopened.tunnel.sessionId).not.toBe(opened.sessionId)
    expect(aws.calls).toEqual(['StartSession', `ResumeSession ${opened.sessionId}`, `TerminateSession ${opened.sessionId}`, 'StartSession'])
    // The plugin that waited on the resumed session is gone; the new one relays.
    expect(runs().filter((run) => run.resumed).map((run) => alive(run.pid))).toEqual([false])
    expect(await roundTrip(opened.localPort, 'new session')).toBe('new session')
    await set.close()
    expect(aws.openSessions()).toEqual([])
    expect(runs().filter((run) => alive(run.pid))).toEqual([])
  })

  it('while reconnecting, before opening its port: tried again with backoff until one opens', async () => {
    const aws = fakeSessions()
    const {set, next} = tunnelSet(aws.api, () => ({}))
    const [opened] = await set.open()
    writeFileSync(crashFile, '')
    process.env.STANDIN_PLUGIN_CRASH_FILE = crashFile
    try {
      process.kill(runs()[0].pid, 'SIGKILL')
      const failed = await next('retry-failed')
      expect(failed.detail).toMatch(/exited with null before opening the port|did not open/)
      rmSync(crashFile)
      const reopened = await next('reopened')
      expect(reopened.tunnel.localPort).toBe(opened.localPort)
      expect(await roundTrip(opened.localPort, 'again')).toBe('again')
    } finally {
      delete process.env.STANDIN_PLUGIN_CRASH_FILE
      await set.close()
    }
    expect(aws.openSessions()).toEqual([])
    expect(runs().filter((run) => alive(run.pid))).toEqual([])
  })

  it('when its credentials are about to expire: replaced by a plugin with the role assumed again, same port', async () => {
    const aws = fakeSessions()
    // Credentials that expire 1.5 s after each assumption; renewed 0.5 s before.
    const {set, next} = tunnelSet(aws.api, () => ({expiration: new Date(Date.now() + 1500)}), {renewBeforeExpiryMs: 500})
    const [opened] = await set.open()
    const dropped = await next('dropped')
    expect(dropped.detail).toMatch(/credentials expire at .*: the role is assumed again/)
    const reopened = await next('reopened')
    expect(reopened.tunnel).toMatchObject({localPort: opened.localPort, sessionId: opened.sessionId})
    const [first, second] = runs()
    expect(second.env.AWS_ACCESS_KEY_ID).not.toBe(first.env.AWS_ACCESS_KEY_ID)
    expect(await roundTrip(opened.localPort, 'renewed')).toBe('renewed')
    await set.close()
    expect(aws.openSessions()).toEqual([])
    expect(runs().filter((run) => alive(run.pid))).toEqual([])
  })
})

describe('a tunnel whose credentials expire soon and cannot be renewed', () => {
  // INFRA_ASSUME_ROLE=false with environment credentials that carry an expiry: every ask gives
  // back the same credentials, 2 minutes from expiry, inside the default 5-minute renewal window.
  it('stays open on its one session (no reconnect storm) and warns once, even after a real drop', async () => {
    const aws = fakeSessions()
    const expiration = new Date(Date.now() + 2 * 60_000)
    const {set, events, next} = tunnelSet(aws.api, () => ({expiration}))
    const [opened] = await set.open()
    await new Promise((resolve) => setTimeout(resolve, 3000))
    expect(aws.calls).toEqual(['StartSession'])
    expect(events.map((event) => event.type)).toEqual(['opened', 'expiring'])
    const warning = events[1] as Extract<TunnelEvent, {type: 'expiring'}>
    expect(warning.expiresAt).toBe(expiration.toISOString())
    expect(warning.leftMs).toBeGreaterThan(110_000)
    expect(warning.leftMs).toBeLessThanOrEqual(120_000)
    expect(warning.detail).toMatch(/in 2 min\) and cannot be renewed .* run infra again with fresh credentials/)
    expect(runs().map((run) => alive(run.pid))).toEqual([true])
    expect(await roundTrip(opened.localPort, 'still open')).toBe('still open')
    // A drop of its own is recovered as ever, and the same expiry is not warned about again.
    process.kill(runs()[0].pid, 'SIGKILL')
    await next('reopened')
    await new Promise((resolve) => setTimeout(resolve, 2000))
    expect(aws.calls).toEqual(['StartSession', `ResumeSession ${opened.sessionId}`])
    expect(events.map((event) => event.type)).toEqual(['opened', 'expiring', 'dropped', 'reopened'])
    expect(await roundTrip(opened.localPort, 'after the drop')).toBe('after the drop')
    await set.close()
    expect(aws.openSessions()).toEqual([])
    expect(runs().filter((run) => alive(run.pid))).toEqual([])
  })
})

describe('a tunnel whose credential source fails for a moment', () => {
  it('warns, asks again, and renews once fresh credentials come: the same port, a new key', async () => {
    const aws = fakeSessions()
    const expiration = new Date(Date.now() + 2 * 60_000)
    let asked = 0
    // The first plugin's credentials; the renewal's first ask fails (STS unreachable), the next gets fresh ones.
    const credentials = () => {
      asked++
      if (asked === 2) throw new Error('connect ETIMEDOUT sts.eu-west-1.amazonaws.com')
      return asked === 1 ? {expiration} : {expiration: new Date(Date.now() + 60 * 60_000)}
    }
    const {set, events, next} = tunnelSet(aws.api, credentials, {renewRetryMs: 300})
    const [opened] = await set.open()
    const warning = (await next('expiring')) as Extract<TunnelEvent, {type: 'expiring'}>
    expect(warning.detail).toMatch(/could not be renewed yet \(connect ETIMEDOUT sts\.eu-west-1\.amazonaws\.com; asked again every 0 s\)/)
    const dropped = await next('dropped')
    expect(dropped.detail).toMatch(/the role is assumed again/)
    const reopened = await next('reopened')
    expect(reopened.tunnel).toMatchObject({localPort: opened.localPort})
    expect(events.filter((event) => event.type === 'expiring')).toHaveLength(1)
    const [first, second] = runs().slice(-2)
    expect(second.env.AWS_ACCESS_KEY_ID).not.toBe(first.env.AWS_ACCESS_KEY_ID)
    expect(await roundTrip(opened.localPort, 'renewed after a failure')).toBe('renewed after a failure')
    await set.close()
    expect(aws.openSessions()).toEqual([])
    expect(runs().filter((run) => alive(run.pid))).toEqual([])
  })
})

describe('close() while a tunnel is reconnecting', () => {
  it('leaves no session in AWS and no plugin process, even for the session being started', async () => {
    let release: () => void = () => undefined
    let startsBlocked = false
    const aws = fakeSessions({refuseResume: true, startDelay: () => (startsBlocked ? new Promise<void>((resolve) => (release = resolve)) : Promise.resolve())})
    const {set} = tunnelSet(aws.api, () => ({}))
    await set.open()
    startsBlocked = true
    process.kill(runs()[0].pid, 'SIGKILL')
    // The reconnect has asked AWS for a new session; AWS has not answered yet.
    const deadline = Date.now() + 20_000
    while (aws.calls.filter((call) => call === 'StartSession').length < 2) {
      if (Date.now() > deadline) throw new Error(`no second StartSession: ${aws.calls}`)
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    const closing = set.close()
    release()
    await closing
    expect(aws.calls.at(-1)).toBe('TerminateSession op-2')
    expect(aws.openSessions()).toEqual([])
    expect(runs()).toHaveLength(1)
    expect(runs().filter((run) => alive(run.pid))).toEqual([])
  })
})
