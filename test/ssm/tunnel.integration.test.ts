import {execFileSync} from 'node:child_process'
import {chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, writeFileSync} from 'node:fs'
import https from 'node:https'
import net, {type AddressInfo} from 'node:net'
import os from 'node:os'
import path from 'node:path'
import {createInterface} from 'node:readline'
import {fileURLToPath} from 'node:url'

import {CreateClusterCommand, EKSClient} from '@aws-sdk/client-eks'
import {GetCallerIdentityCommand, STSClient} from '@aws-sdk/client-sts'
import {execa, type ResultPromise} from 'execa'
import {afterAll, beforeAll, describe, expect, inject, it} from 'vitest'

import {awsClientConfig} from '../../src/aws/clients.js'
import {findTarget, loadEstate} from '../../src/estate/load.js'
import {BIN, runCli} from '../support/cli.js'
import {freePort} from '../support/net.js'
import {type SsmSessionStandIn, startSsmSessionStandIn} from '../support/ssm-session-standin.js'
import {seedClients, writeTestEstate} from '../support/ssm-seed.js'

/**
 * `infra tunnel` end to end: the built CLI, moto behind the session stand-in, the stand-in plugin
 * relaying each forwarded port to a local TCP echo server (the "database" and "--to" host) or a
 * local HTTPS server standing in for the private EKS API, reached by the real kubectl.
 */
const STANDIN_BIN = fileURLToPath(new URL('../support/bin', import.meta.url))
const work = mkdtempSync(path.join(os.tmpdir(), 'infra-tunnel-'))
const pluginLog = path.join(work, 'plugin.ndjson')
const kubeconfig = path.join(work, 'kubeconfig')
const DB_HOST = 'acme-net-db.abcdefghijkl.eu-west-1.rds.amazonaws.com'
let standIn: SsmSessionStandIn
let estateFile: string
let bastionId: string
let echo: net.Server
let apiServer: https.Server
let apiCa: string
let eksHost: string
const apiAuthorizations: string[] = []

const pluginRuns = (): any[] => (existsSync(pluginLog) ? readFileSync(pluginLog, 'utf8') : '').trim().split('\n').filter(Boolean).map((line) => JSON.parse(line))

function groupMembers(pgid: number): number[] {
  const out = execFileSync('ps', ['-eo', 'pid=,pgid=,stat='], {encoding: 'utf8'})
  return out.trim().split('\n').map((line) => line.trim().split(/\s+/)).filter(([, group, stat]) => Number(group) === pgid && !stat.startsWith('Z')).map(([pid]) => Number(pid))
}

/** Sends bytes to a local port and reads them back. */
function roundTrip(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(text))
    let got = ''
    socket.on('data', (chunk) => {
      got += chunk
      if (got.length >= text.length) {
        socket.end()
        resolve(got)
      }
    })
    socket.on('error', reject)
    socket.setTimeout(10_000, () => reject(new Error(`no echo on ${port}`)))
  })
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer()
    server.once('error', () => resolve(false))
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)))
  })
}

/** The CLI as a child, its JSON lines read as they come. */
function startTunnel(args: string[], extraEnv: Record<string, string> = {}) {
  // INFRA_ESTATE given: no --estate, and run from a folder with no estate of its own.
  const estateArgs = extraEnv.INFRA_ESTATE ? [] : ['--estate', estateFile]
  const child = execa('node', [BIN, 'tunnel', ...args, '--env', 'net', ...estateArgs, '--json'], {
    reject: false,
    stdin: 'ignore',
    cwd: work,
    env: {
      CI: '',
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      AWS_EC2_METADATA_DISABLED: 'true',
      PATH: `${STANDIN_BIN}${path.delimiter}${process.env.PATH}`,
      STANDIN_PLUGIN_LOG: pluginLog,
      STANDIN_RELAY_TO: `127.0.0.1:${(echo.address() as AddressInfo).port}`,
      STANDIN_RELAY_MAP: JSON.stringify({[`${eksHost}:443`]: `127.0.0.1:${(apiServer.address() as AddressInfo).port}`}),
      ...extraEnv,
    },
  })
  const events: any[] = []
  const waiters: {match: (e: any) => boolean; resolve: (e: any) => void}[] = []
  createInterface({input: child.stdout!}).on('line', (line) => {
    const event = JSON.parse(line)
    events.push(event)
    for (const waiter of waiters.filter((w) => w.match(event))) waiter.resolve(event)
  })
  const next = (match: (e: any) => boolean, timeoutMs = 60_000): Promise<any> =>
    new Promise((resolve, reject) => {
      const seen = events.find(match)
      if (seen) return resolve(seen)
      const timer = setTimeout(() => reject(new Error(`timed out; events: ${JSON.stringify(events)}`)), timeoutMs)
      waiters.push({match, resolve: (e) => (clearTimeout(timer), resolve(e))})
    })
  return {child: child as ResultPromise, events, next}
}

beforeAll(async () => {
  standIn = await startSsmSessionStandIn(inject('motoEndpoint'), inject('motoCaBundle'))
  estateFile = writeTestEstate(standIn.endpoint, {net: ['666666666601', '10.71.0.0/16']})
  const seed = await seedClients(estateFile, 'net')
  bastionId = await seed.instance({Name: 'acme-net-bastion', Role: 'bastion', Environment: 'net'})
  await seed.parameter('/infra/net/database/endpoint', `${DB_HOST}:5432`)
  const estate = loadEstate({file: estateFile, env: {}})
  const eks = new EKSClient(await awsClientConfig({estate, target: findTarget(estate, 'net'), purpose: 'test-seed'}))
  const cluster = await eks.send(
    new CreateClusterCommand({name: 'acme-net-eks', roleArn: 'arn:aws:iam::666666666601:role/acme-net-eks-cluster', resourcesVpcConfig: {subnetIds: ['subnet-12345678']}}),
  )
  eksHost = new URL(cluster.cluster!.endpoint!).hostname
  await seed.parameter('/infra/net/eks/cluster-name', 'acme-net-eks')

  echo = net.createServer((socket) => socket.pipe(socket))
  await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve))
  // The private EKS API, with a certificate for the cluster's host name only (not 127.0.0.1).
  const key = path.join(work, 'api-key.pem')
  apiCa = path.join(work, 'api-cert.pem')
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', apiCa, '-days', '1', '-subj', `/CN=${eksHost}`, '-addext', `subjectAltName=DNS:${eksHost}`], {stdio: 'ignore'})
  apiServer = https.createServer({key: readFileSync(key), cert: readFileSync(apiCa)}, (request, response) => {
    apiAuthorizations.push(String(request.headers.authorization ?? ''))
    response.writeHead(200, {'content-type': 'application/json'})
    response.end(JSON.stringify({major: '1', minor: '32', gitVersion: 'v1.32.0-eks-standin', platform: 'linux/amd64'}))
  })
  await new Promise<void>((resolve) => apiServer.listen(0, '127.0.0.1', resolve))
})

afterAll(async () => {
  await standIn?.stop()
  echo?.close()
  apiServer?.close()
})

describe('infra tunnel against moto with the stand-in plugin', () => {
  it('--dry-run shows the bastion, document and parameters and starts nothing', async () => {
    const result = await runCli(['tunnel', 'db', '--to', '10.71.4.20:8080', '--env', 'net', '--estate', estateFile, '--reason', 'dry', '--dry-run', '--json', '--local-port', 'db=15432'], {
      env: {AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_EC2_METADATA_DISABLED: 'true', PATH: '/usr/bin:/bin'},
    })
    expect(result.exitCode).toBe(0)
    const report = JSON.parse(result.stdout)
    expect(report).toMatchObject({bastion: bastionId, document: 'AWS-StartPortForwardingSessionToRemoteHost', dryRun: true})
    expect(report.tunnels.map((t: any) => t.parameters)).toEqual([
      {host: [DB_HOST], portNumber: ['5432'], localPortNumber: ['15432']},
      {host: ['10.71.4.20'], portNumber: ['8080'], localPortNumber: ['0']},
    ])
    expect(standIn.calls.filter((c) => c.operation === 'StartSession')).toEqual([])
  })

  it('opens db, eks and --to at once, writes a kubeconfig kubectl uses, survives a killed plugin, and leaves nothing behind on SIGINT', async () => {
    standIn.calls.length = 0
    const run = startTunnel(['db', 'eks', '--to', '10.71.4.20:8080', '--reason', 'INC-7: tunnels', '--kubeconfig', kubeconfig], {INFRA_ESTATE: estateFile})
    const ready = await run.next((e) => e.event === 'ready')
    const byName = Object.fromEntries(ready.tunnels.map((t: any) => [t.name, t]))
    expect(Object.keys(byName).sort()).toEqual(['10.71.4.20:8080', 'db', 'eks'])
    expect(new Set(ready.tunnels.map((t: any) => t.localPort)).size).toBe(3)
    expect(byName.db).toMatchObject({host: DB_HOST, port: 5432})
    expect(byName.eks).toMatchObject({host: eksHost, port: 443})

    // Each tunnel is its own session through the bastion, its port the one the plugin printed.
    const starts = standIn.calls.filter((c) => c.operation === 'StartSession').map((c) => c.body)
    expect(starts).toHaveLength(3)
    for (const t of ready.tunnels) {
      expect(starts).toContainEqual({
        Target: bastionId,
        DocumentName: 'AWS-StartPortForwardingSessionToRemoteHost',
        Parameters: {host: [t.host], portNumber: [String(t.port)], localPortNumber: [String(t.localPort)]},
        Reason: 'INC-7: tunnels',
      })
    }
    expect(await roundTrip(byName.db.localPort, 'select 1;')).toBe('select 1;')
    expect(await roundTrip(byName['10.71.4.20:8080'].localPort, 'GET /')).toBe('GET /')

    // kubectl reads the context back as written.
    const view = JSON.parse(execFileSync('kubectl', ['config', 'view', '--raw', '-o', 'json'], {env: {...process.env, KUBECONFIG: kubeconfig}, encoding: 'utf8'}))
    const cluster = view.clusters.find((c: any) => c.name === 'infra-net').cluster
    expect(cluster.server).toBe(`https://127.0.0.1:${byName.eks.localPort}`)
    expect(cluster['tls-server-name']).toBe(eksHost)
    expect(cluster['certificate-authority-data']).toMatch(/^[A-Za-z0-9+/=]+$/)
    const exec = view.users.find((u: any) => u.name === 'infra-net').user.exec
    expect(exec.apiVersion).toBe('client.authentication.k8s.io/v1beta1')
    // The estate came from INFRA_ESTATE; the entry names that file, absolute, all the same.
    expect(exec.args).toEqual(['eks', 'token', '--cluster', 'acme-net-eks', '--env', 'net', '--estate', realpathSync(estateFile)])
    expect(view.contexts).toContainEqual({name: 'infra-net', context: {cluster: 'infra-net', user: 'infra-net'}})
    // The API through the tunnel: kubectl checks the certificate against the cluster's host name
    // and gets its token from `infra eks token`. (moto's cluster CA is a placeholder, so the test
    // API server's own CA replaces it; everything else is as written.)
    execFileSync('kubectl', ['config', 'set', 'clusters.infra-net.certificate-authority-data', readFileSync(apiCa).toString('base64')], {env: {...process.env, KUBECONFIG: kubeconfig}})
    // Asynchronously: the API server answering kubectl lives in this process. kubectl runs from
    // another folder whose own infra.estate.yaml puts "net" in another account, without INFRA_ESTATE.
    const elsewhere = mkdtempSync(path.join(os.tmpdir(), 'infra-elsewhere-'))
    writeFileSync(path.join(elsewhere, 'infra.estate.yaml'), readFileSync(estateFile, 'utf8').replace('666666666601', '777777777701'))
    const kubectl = await execa('kubectl', ['--context', 'infra-net', 'version', '-o', 'json', '--request-timeout', '30s'], {
      env: {KUBECONFIG: kubeconfig, AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_EC2_METADATA_DISABLED: 'true'},
      cwd: elsewhere,
      reject: false,
    })
    expect(kubectl.stderr).toBe('')
    const version = JSON.parse(kubectl.stdout)
    expect(version.serverVersion.gitVersion).toBe('v1.32.0-eks-standin')
    expect(apiAuthorizations.at(-1)).toMatch(/^Bearer k8s-aws-v1\.[A-Za-z0-9_-]+$/)
    // Whom the token signs for, as EKS learns it: the presigned URL's key, asked of STS (moto).
    const url = new URL(Buffer.from(apiAuthorizations.at(-1)!.slice('Bearer k8s-aws-v1.'.length), 'base64url').toString())
    const signer = url.searchParams.get('X-Amz-Credential')!.split('/')[0]
    const sts = new STSClient({region: 'eu-west-1', endpoint: standIn.endpoint, credentials: {accessKeyId: signer, secretAccessKey: 'unused'}})
    expect((await sts.send(new GetCallerIdentityCommand({}))).Arn).toMatch(/^arn:aws:sts::666666666601:assumed-role\//)

    // The db plugin dies: the tunnel comes back on the same port (the session resumed).
    const dbRun = pluginRuns().find((r) => r.sessionId === byName.db.sessionId)
    process.kill(dbRun.pid, 'SIGKILL')
    const dropped = await run.next((e) => e.event === 'dropped' && e.tunnel.name === 'db')
    expect(dropped.detail).toContain('exited')
    const reopened = await run.next((e) => e.event === 'reopened' && e.tunnel.name === 'db')
    expect(reopened.tunnel).toMatchObject({localPort: byName.db.localPort, sessionId: byName.db.sessionId, reconnects: 1})
    expect(standIn.calls.filter((c) => c.operation === 'ResumeSession').map((c) => c.body.SessionId)).toEqual([byName.db.sessionId])
    expect(await roundTrip(byName.db.localPort, 'after the drop')).toBe('after the drop')

    // When AWS no longer has the session, a new one starts and the old one is ended.
    standIn.refuseResume = true
    const toRun = pluginRuns().find((r) => r.sessionId === byName['10.71.4.20:8080'].sessionId)
    process.kill(toRun.pid, 'SIGKILL')
    const renewed = await run.next((e) => e.event === 'reopened' && e.tunnel.name === '10.71.4.20:8080')
    standIn.refuseResume = false
    expect(renewed.tunnel.sessionId).not.toBe(byName['10.71.4.20:8080'].sessionId)
    expect(standIn.calls.filter((c) => c.operation === 'TerminateSession').map((c) => c.body.SessionId)).toContain(byName['10.71.4.20:8080'].sessionId)
    expect(await roundTrip(byName['10.71.4.20:8080'].localPort, 'renewed')).toBe('renewed')

    run.child.kill('SIGINT')
    const result = await run.child
    expect(result.exitCode).toBe(0)
    const summary = run.events.at(-1)
    expect(summary.tunnels.map((t: any) => t.name).sort()).toEqual(['10.71.4.20:8080', 'db', 'eks'])
    // Every session ever started is terminated; no plugin or helper lives on; every port is free.
    const startedIds = [...standIn.sessions.keys()]
    expect(startedIds.length).toBeGreaterThanOrEqual(4)
    expect([...standIn.sessions.values()].every((s) => s.state === 'Terminated')).toBe(true)
    for (const r of pluginRuns()) expect(groupMembers(r.pid)).toEqual([])
    for (const t of ready.tunnels) expect(await portFree(t.localPort)).toBe(true)
  })

  // SIGHUP: the operator's terminal closed, or the SSH connection to the jump box dropped. The
  // plugins run in process groups of their own, so only infra can end them.
  it.each(['SIGTERM', 'SIGHUP'] as const)('ends everything on %s too: sessions terminated in AWS, no plugin in the process table, exit 0 as on Ctrl-C', async (signal) => {
    const before = pluginRuns().length
    const run = startTunnel(['--to', '10.71.4.21:9000', '--reason', signal.toLowerCase()])
    const ready = await run.next((e) => e.event === 'ready')
    const [plugin] = pluginRuns().slice(before)
    expect(groupMembers(plugin.pid).length).toBeGreaterThan(0)
    run.child.kill(signal)
    const result = await run.child
    expect(result.exitCode).toBe(0)
    expect(run.events.at(-1).tunnels.map((t: any) => t.name)).toEqual(['10.71.4.21:9000'])
    const mine = pluginRuns().slice(before)
    expect(mine).toHaveLength(1)
    expect(standIn.sessions.get(mine[0].sessionId)?.state).toBe('Terminated')
    expect(standIn.calls.filter((c) => c.operation === 'TerminateSession').map((c) => c.body.SessionId)).toContain(mine[0].sessionId)
    expect(groupMembers(mine[0].pid)).toEqual([])
    expect(await portFree(ready.tunnels[0].localPort)).toBe(true)
  })
})

describe('infra tunnel with credentials that expire soon and cannot be renewed', () => {
  it('keeps its one session and plugin, and warns once how long is left', async () => {
    // No role assumed: the environment's credentials (the account's role, assumed here once, as a
    // person would before running infra) are the plugin's, and the SDK's environment provider
    // reads AWS_CREDENTIAL_EXPIRATION (credential-provider-env): the same expiry each time it is asked.
    const estate = loadEstate({file: estateFile, env: {}})
    const role = await awsClientConfig({estate, target: findTarget(estate, 'net'), purpose: 'test-expiring'}).then((config) => config.credentials())
    const expiration = new Date(Date.now() + 2 * 60_000).toISOString()
    standIn.calls.length = 0
    const before = pluginRuns().length
    const run = startTunnel(['--to', '10.71.4.22:9001', '--reason', 'expiring'], {
      INFRA_ASSUME_ROLE: 'false',
      AWS_ACCESS_KEY_ID: role.accessKeyId,
      AWS_SECRET_ACCESS_KEY: role.secretAccessKey,
      AWS_SESSION_TOKEN: role.sessionToken!,
      AWS_CREDENTIAL_EXPIRATION: expiration,
    })
    try {
      const ready = await run.next((e) => e.event === 'ready')
      const warning = await run.next((e) => e.event === 'expiring')
      await new Promise((resolve) => setTimeout(resolve, 3000))
      expect(warning.expiresAt).toBe(expiration)
      expect(warning.detail).toMatch(/cannot be renewed .* run infra again with fresh credentials/)
      expect(run.events.map((e) => e.event)).toEqual(['opened', 'ready', 'expiring'])
      expect(standIn.calls.filter((c) => c.operation === 'StartSession')).toHaveLength(1)
      const plugins = pluginRuns().slice(before)
      expect(plugins).toHaveLength(1)
      expect(plugins[0].env.AWS_ACCESS_KEY_ID).toBe(role.accessKeyId)
      expect(await roundTrip(ready.tunnels[0].localPort, 'still open')).toBe('still open')
    } finally {
      // Ended on every path, the storm included: no plugin or CLI outlives the test.
      run.child.kill('SIGINT')
      await run.child
    }
  })
})

describe('infra tunnel db --psql', () => {
  const PG_BIN = '/usr/lib/postgresql/15/bin'
  const pgData = path.join(work, 'pg')
  let pgPort: number

  beforeAll(async () => {
    // A real PostgreSQL as the database behind the bastion (its binaries refuse to run as root).
    chmodSync(work, 0o755)
    mkdirSync(pgData, {recursive: true})
    const {uid, gid} = {uid: Number(execFileSync('id', ['-u', 'postgres'], {encoding: 'utf8'})), gid: Number(execFileSync('id', ['-g', 'postgres'], {encoding: 'utf8'}))}
    chownSync(pgData, uid, gid)
    pgPort = await freePort()
    execFileSync('runuser', ['-u', 'postgres', '--', `${PG_BIN}/initdb`, '-D', pgData, '-A', 'trust', '-U', 'infra_admin'], {stdio: 'ignore'})
    execFileSync('runuser', ['-u', 'postgres', '--', `${PG_BIN}/pg_ctl`, '-D', pgData, '-w', '-l', path.join(pgData, 'log'), '-o', `-p ${pgPort} -k ${pgData} -c listen_addresses=127.0.0.1`, 'start'], {stdio: 'ignore'})
  })

  afterAll(() => {
    execFileSync('runuser', ['-u', 'postgres', '--', `${PG_BIN}/pg_ctl`, '-D', pgData, '-m', 'immediate', 'stop'], {stdio: 'ignore'})
  })

  it('runs psql through the tunnel with an IAM auth token in PGPASSWORD, then closes the tunnel', async () => {
    // The real psql, behind a wrapper that notes what it was given.
    const wrapper = path.join(work, 'psql-wrapper')
    writeFileSync(wrapper, `#!/bin/sh\nprintf '%s' "$PGPASSWORD" > ${work}/pgpassword\nprintf '%s\\n' "$@" > ${work}/psql-args\nexec /usr/bin/psql "$@"\n`)
    chmodSync(wrapper, 0o755)
    const before = pluginRuns().length
    const result = await execa('node', [BIN, 'tunnel', 'db', '--psql', '--psql-path', wrapper, '--db-name', 'postgres', '--env', 'net', '--estate', estateFile, '--reason', 'psql test'], {
      reject: false,
      input: "select 'through-' || 'the-tunnel' as answer;\n",
      env: {
        CI: '',
        AWS_ACCESS_KEY_ID: 'test',
        AWS_SECRET_ACCESS_KEY: 'test',
        AWS_EC2_METADATA_DISABLED: 'true',
        PATH: `${STANDIN_BIN}${path.delimiter}${process.env.PATH}`,
        STANDIN_PLUGIN_LOG: pluginLog,
        STANDIN_RELAY_MAP: JSON.stringify({[`${DB_HOST}:5432`]: `127.0.0.1:${pgPort}`}),
        PGSSLMODE: 'disable', // the test server has no TLS; infra asks for require otherwise
      },
      timeout: 120_000,
    })
    expect(result.stderr).not.toMatch(/Error/)
    expect(result.stdout).toContain('through-the-tunnel')
    expect(result.exitCode).toBe(0)
    const [run] = pluginRuns().slice(before)
    const localPort = JSON.parse(run.argv[4]).Parameters.localPortNumber[0]
    expect(readFileSync(path.join(work, 'psql-args'), 'utf8').trim().split('\n')).toEqual(['--host', '127.0.0.1', '--port', localPort, '--username', 'infra_admin', '--dbname', 'postgres'])
    // An RDS IAM token: a presigned rds-db connect for the real endpoint, as the assumed role.
    const token = new URL(`https://${readFileSync(path.join(work, 'pgpassword'), 'utf8')}`)
    expect(`${token.hostname}:${token.port}`).toBe(`${DB_HOST}:5432`)
    expect(token.searchParams.get('Action')).toBe('connect')
    expect(token.searchParams.get('DBUser')).toBe('infra_admin')
    expect(token.searchParams.get('X-Amz-Credential')).toMatch(/^ASIA\w+\/\d{8}\/eu-west-1\/rds-db\/aws4_request$/)
    expect(token.searchParams.get('X-Amz-Expires')).toBe('900')
    expect(standIn.sessions.get(run.sessionId)?.state).toBe('Terminated')
    expect(groupMembers(run.pid)).toEqual([])
  })
})
