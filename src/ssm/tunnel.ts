import {type ChildProcess, spawn} from 'node:child_process'
import {createServer} from 'node:net'
import {createInterface} from 'node:readline'

import {InfraError} from '../errors.js'
import type {SsmContext} from './context.js'
import type {SessionTarget} from './discovery.js'
import {type SessionManagerPlugin, checkPluginSupports, pluginLaunch} from './plugin.js'
import {exitOf, stopChild} from './process.js'
import type {SessionHandle, StartSessionRequest} from './session-api.js'

export const PORT_FORWARD_DOCUMENT = 'AWS-StartPortForwardingSessionToRemoteHost'
/** What the plugin prints once its local listener is up (sessionmanagerplugin/session/portsession). */
const PORT_OPENED = /Port (\d+) opened for sessionId (\S+?)\.?\s*$/

export interface TunnelSpec {
  /** db, eks, or host:port for --to. */
  name: string
  host: string
  port: number
  localPort?: number
}

export interface TunnelState {
  name: string
  host: string
  port: number
  localPort: number
  sessionId: string
  /** How many times it was re-established. */
  reconnects: number
}

export type TunnelEvent =
  | {type: 'opened'; tunnel: TunnelState}
  | {type: 'dropped'; tunnel: TunnelState; detail: string; retryInMs: number}
  | {type: 'reopened'; tunnel: TunnelState}
  | {type: 'retry-failed'; tunnel: TunnelState; detail: string; retryInMs: number}
  /** The plugin's credentials expire soon and none that last longer can be had: the plugin is left running. Once per expiry. */
  | {type: 'expiring'; tunnel: TunnelState; expiresAt: string; leftMs: number; detail: string}

export interface TunnelOptions {
  bastion: SessionTarget
  reason: string
  specs: TunnelSpec[]
  onEvent?: (event: TunnelEvent) => void
  /** First wait before re-establishing a dropped tunnel; doubles up to maxBackoffMs. */
  backoffMs?: number
  maxBackoffMs?: number
  /** Consecutive failed attempts after which the tunnel gives up. */
  maxAttempts?: number
  /** How long the plugin may take to open its port. */
  openTimeoutMs?: number
  /**
   * How long a plugin given a resumed session may take to open its port before that session is
   * terminated and a new one started. The AWS CLI never starts a plugin for ResumeSession (the
   * plugin resumes inside its own process: sessionhandler.go ResumeSessionHandler), so a fresh
   * plugin on a resumed session is a bet that is given a short time.
   */
  resumeOpenTimeoutMs?: number
  /**
   * How long before the plugin's credentials expire it is replaced by one with the role assumed
   * again. A plugin keeps the credentials it started with; when the service rotates its
   * WebSocket (about hourly) after they expired, its own ResumeSession fails and the port stays
   * open but dead (session-manager-plugin issues 135 and 136; sessionhandler.go retries, logs,
   * and does not exit).
   */
  renewBeforeExpiryMs?: number
  /** How often credentials that could not be renewed are asked for again, until they expire (default 30 s). */
  renewRetryMs?: number
}

/** A free TCP port on loopback, for a tunnel given none. */
export function freeLocalPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const {port} = server.address() as {port: number}
      server.close(() => resolve(port))
    })
  })
}

export function portForwardRequest(bastionId: string, spec: {host: string; port: number}, localPort: number, reason: string): StartSessionRequest {
  return {
    Target: bastionId,
    DocumentName: PORT_FORWARD_DOCUMENT,
    Parameters: {host: [spec.host], portNumber: [String(spec.port)], localPortNumber: [String(localPort)]},
    Reason: reason,
  }
}

interface Running {
  state: TunnelState
  request: StartSessionRequest
  child?: ChildProcess
  stopping: boolean
  retryTimer?: NodeJS.Timeout
  /** A reconnect under way (AWS calls, a plugin starting): close() waits for it. */
  reconnecting?: Promise<void>
  /** Replaces the plugin before its credentials expire. */
  renewTimer?: NodeJS.Timeout
  /** Why infra itself ended the plugin, for the 'dropped' event. */
  endedBecause?: string
  /** The credential expiry (ms) already warned about: one warning, however often the plugin is replaced. */
  warnedExpiry?: number
}

/**
 * Several port forwards through one bastion, each its own session and plugin process group.
 * A plugin that exits (idle timeout, websocket closed, credentials expired, crash) is replaced:
 * the session is resumed if AWS still has it, else a new one starts, with exponential backoff,
 * on the same local port. close() ends every plugin group and every session in AWS.
 */
export class TunnelSet {
  private readonly running: Running[] = []
  private closed = false
  private failure?: (error: InfraError) => void
  /** Rejects when a tunnel gives up after maxAttempts; never resolves. */
  readonly failed: Promise<never>

  constructor(
    private readonly ctx: SsmContext,
    private readonly plugin: SessionManagerPlugin,
    private readonly options: TunnelOptions,
  ) {
    this.failed = new Promise<never>((_, reject) => (this.failure = reject))
    this.failed.catch(() => undefined)
    checkPluginSupports(plugin, PORT_FORWARD_DOCUMENT)
  }

  /** Opens every tunnel; resolves once each plugin has printed its open port. */
  async open(): Promise<TunnelState[]> {
    const taken = new Set(this.options.specs.map((s) => s.localPort).filter((p): p is number => p !== undefined))
    for (const spec of this.options.specs) {
      let localPort = spec.localPort
      while (localPort === undefined || (spec.localPort === undefined && taken.has(localPort))) localPort = await freeLocalPort()
      taken.add(localPort)
      const request = portForwardRequest(this.options.bastion.instanceId, spec, localPort, this.options.reason)
      const run: Running = {state: {name: spec.name, host: spec.host, port: spec.port, localPort, sessionId: '', reconnects: 0}, request, stopping: false}
      this.running.push(run)
    }
    try {
      for (const run of this.running) {
        await this.launch(run, await this.ctx.sessions.startSession(run.request))
        this.options.onEvent?.({type: 'opened', tunnel: {...run.state}})
      }
    } catch (error) {
      await this.close()
      throw error
    }
    return this.states()
  }

  states(): TunnelState[] {
    return this.running.map((run) => ({...run.state}))
  }

  /** Ends every plugin process group and terminates every session in AWS. Safe to call twice. */
  async close(): Promise<void> {
    this.closed = true
    await Promise.all(
      this.running.map(async (run) => {
        run.stopping = true
        if (run.retryTimer) clearTimeout(run.retryTimer)
        if (run.renewTimer) clearTimeout(run.renewTimer)
        // The plugin first (one still starting makes a reconnect in flight fail at once), then
        // the reconnect in flight finishes (it starts nothing more once it sees the close), then
        // whatever plugin and session it left: nothing it was starting outlives close().
        if (run.child) await stopChild(run.child, {group: true})
        await run.reconnecting?.catch(() => undefined)
        if (run.child) await stopChild(run.child, {group: true})
        if (run.state.sessionId) await this.ctx.sessions.terminateSession(run.state.sessionId).catch(() => undefined)
      }),
    )
  }

  private async launch(run: Running, handle: SessionHandle, openTimeoutMs = this.options.openTimeoutMs ?? 30_000): Promise<void> {
    run.state.sessionId = handle.SessionId
    // Asked again for each plugin: the role's credentials renewed when they have expired (a plugin
    // keeps the ones it started with, and its own ResumeSession fails once they expire:
    // session-manager-plugin issues 135 and 136).
    const credentials = await this.ctx.pluginCredentials()
    if (run.stopping || this.closed) return
    const launch = pluginLaunch({
      plugin: this.plugin,
      handle,
      region: this.ctx.region,
      request: run.request,
      endpoint: this.ctx.sessions.endpoint,
      profile: this.ctx.profile,
      credentials,
    })
    // A group of its own: Ctrl-C at the terminal reaches infra only, which ends the group itself.
    const child = spawn(launch.file, launch.args, {env: launch.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true})
    run.child = child
    let stderr = ''
    child.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-2000)))
    const lines = createInterface({input: child.stdout!})
    const opened = new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no "Port ... opened" from the plugin within ${openTimeoutMs / 1000}s`)), openTimeoutMs)
      lines.on('line', (line) => {
        const match = PORT_OPENED.exec(line)
        if (match) {
          clearTimeout(timer)
          resolve(Number(match[1]))
        }
      })
      child.once('error', (error) => {
        clearTimeout(timer)
        reject(error)
      })
      child.once('exit', (code) => {
        clearTimeout(timer)
        reject(new Error(`the plugin exited with ${code} before opening the port${stderr.trim() ? `: ${stderr.trim().split('\n').at(-1)}` : ''}`))
      })
    })
    try {
      const port = await opened
      if (port !== run.state.localPort) run.state.localPort = port
    } catch (error) {
      await stopChild(child, {group: true})
      throw new InfraError(
        `tunnel ${run.state.name} (${run.state.host}:${run.state.port} on 127.0.0.1:${run.state.localPort}) did not open: ${(error as Error).message}`,
        'check that the local port is free and the bastion can reach the host; run again with --dry-run to see the request',
        'TUNNEL_FAILED',
      )
    }
    this.renewBeforeExpiry(run, child, credentials?.expiration)
    void exitOf(child).then(async (code) => {
      // Anything the plugin left in its group goes with it, so nothing holds the port.
      await stopChild(child, {group: true})
      if (run.child !== child || run.stopping || this.closed) return
      if (run.renewTimer) clearTimeout(run.renewTimer)
      const why = run.endedBecause ?? `the plugin exited with ${code}${stderr.trim() ? ` (${stderr.trim().split('\n').at(-1)})` : ''}`
      run.endedBecause = undefined
      this.reconnect(run, why, 1)
    })
  }

  /**
   * Ends the plugin a little before its credentials expire, when credentials that last longer can
   * be had; it is then re-established as if it had dropped. Credentials that cannot be renewed
   * (INFRA_ASSUME_ROLE=false with environment credentials that carry an expiry, a profile's
   * session that is not refreshed) come back with the same expiry: replacing the plugin then buys
   * nothing and, inside the renewal window, would replace it again as soon as it opens (a drop
   * every second, each one cutting psql's and kubectl's connections). So the plugin is left
   * running (it works until the service rotates its WebSocket after the expiry: issues 135 and 136)
   * and the operator is told once how long is left and what to do.
   */
  private renewBeforeExpiry(run: Running, child: ChildProcess, expiration: Date | undefined): void {
    if (run.renewTimer) clearTimeout(run.renewTimer)
    if (!expiration) return
    const renewBeforeMs = this.options.renewBeforeExpiryMs ?? 5 * 60_000
    const inMs = Math.max(0, expiration.getTime() - Date.now() - renewBeforeMs)
    run.renewTimer = setTimeout(() => {
      void this.renewIfLonger(run, child, expiration, renewBeforeMs)
    }, inMs)
    run.renewTimer.unref()
  }

  private async renewIfLonger(run: Running, child: ChildProcess, expiration: Date, renewBeforeMs: number): Promise<void> {
    const current = () => run.child === child && !run.stopping && !this.closed
    if (!current()) return
    // The SDK's provider hands back its cached credentials until they are near expiry, then fetches new ones.
    const fresh = await this.ctx.pluginCredentials().then(
      (credentials) => ({credentials, failure: undefined}),
      (error: Error) => ({credentials: undefined, failure: error.message}),
    )
    if (!current()) return
    const lastsLonger = fresh.credentials !== undefined && (!fresh.credentials.expiration || fresh.credentials.expiration.getTime() - Date.now() > renewBeforeMs)
    if (lastsLonger) {
      run.endedBecause = `its credentials expire at ${expiration.toISOString()}: the role is assumed again`
      void stopChild(child, {group: true})
      return
    }
    // Asked again until the expiry: a credential source that failed for a moment (STS, the network)
    // or that the operator refreshes meanwhile (\`aws sso login\`) then still renews the tunnel.
    const retryMs = this.options.renewRetryMs ?? 30_000
    if (Date.now() + retryMs < expiration.getTime()) {
      run.renewTimer = setTimeout(() => void this.renewIfLonger(run, child, expiration, renewBeforeMs), retryMs)
      run.renewTimer.unref()
    }
    if (run.warnedExpiry === expiration.getTime()) return
    run.warnedExpiry = expiration.getTime()
    const leftMs = Math.max(0, expiration.getTime() - Date.now())
    const why = fresh.failure ? `could not be renewed yet (${fresh.failure}; asked again every ${Math.round(retryMs / 1000)} s)` : 'cannot be renewed (no fresher ones from the credential source)'
    this.options.onEvent?.({
      type: 'expiring',
      tunnel: {...run.state},
      expiresAt: expiration.toISOString(),
      leftMs,
      detail: `its credentials expire at ${expiration.toISOString()} (in ${Math.ceil(leftMs / 60_000)} min) and ${why}; the tunnel stays open, but may drop after then: run infra again with fresh credentials before that`,
    })
  }

  private reconnect(run: Running, detail: string, attempt: number): void {
    const base = this.options.backoffMs ?? 1000
    const delay = Math.min(base * 2 ** (attempt - 1), this.options.maxBackoffMs ?? 30_000)
    this.options.onEvent?.({type: attempt === 1 ? 'dropped' : 'retry-failed', tunnel: {...run.state}, detail, retryInMs: delay})
    run.retryTimer = setTimeout(() => {
      run.reconnecting = this.reestablish(run, attempt)
    }, delay)
  }

  private async reestablish(run: Running, attempt: number): Promise<void> {
    if (run.stopping || this.closed) return
    try {
      await this.resumeOrStart(run)
      if (run.stopping || this.closed) return
      run.state.reconnects++
      this.options.onEvent?.({type: 'reopened', tunnel: {...run.state}})
    } catch (error) {
      if (run.stopping || this.closed) return
      if (attempt >= (this.options.maxAttempts ?? 8)) {
        this.failure?.(
          new InfraError(
            `tunnel ${run.state.name} could not be re-established after ${attempt} attempts: ${(error as Error).message}`,
            'check your credentials (they may have expired) and that the bastion is online, then run again',
            'TUNNEL_LOST',
          ),
        )
        return
      }
      this.reconnect(run, (error as Error).message, attempt + 1)
    }
  }

  /**
   * The same session when AWS still holds it (ResumeSession) and a plugin given it opens the port
   * within resumeOpenTimeoutMs; else that session is terminated and a fresh one started on the
   * same port. A session or plugin started after close() is ended at once.
   */
  private async resumeOrStart(run: Running): Promise<void> {
    const previous = run.state.sessionId
    if (previous) {
      const resumed = await this.ctx.sessions.resumeSession(previous).catch(() => undefined)
      if (resumed && !run.stopping && !this.closed) {
        try {
          await this.launch(run, resumed, this.options.resumeOpenTimeoutMs ?? 5000)
          return
        } catch {
          // The resumed session did not bring the port back: a new session replaces it.
        }
      }
      await this.ctx.sessions.terminateSession(previous).catch(() => undefined)
      run.state.sessionId = ''
    }
    if (run.stopping || this.closed) return
    const started = await this.ctx.sessions.startSession(run.request)
    run.state.sessionId = started.SessionId
    if (run.stopping || this.closed) return
    await this.launch(run, started)
  }
}
