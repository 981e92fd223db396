import {execFileSync} from 'node:child_process'
import {X509Certificate} from 'node:crypto'
import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import http from 'node:http'
import os from 'node:os'
import path from 'node:path'
import tls from 'node:tls'

import pg from 'pg'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {DATABASE_SECRET, TLS_SECRET} from '../../src/k8s/service-manifests.js'
import {runCli} from '../support/cli.js'
import {type PodProcess, imageAddedFiles, renderTemplate, startPod, waitForStatus} from '../support/pod.js'
import {startPostgres, type TestPostgres} from '../support/postgres.js'
import {synthesizedObjects} from './fixtures.js'

/**
 * The pod as `infra deploy service` writes it, started for real: the Deployment's args and env, the
 * image's ENV, and the database URL the ExternalSecret renders from the RDS-managed secret. Only the
 * database's host and port move (to a local PostgreSQL 15 speaking TLS with a certificate from a CA
 * made here), and the CA bundle the URL names (which the image carries) is swapped for that CA.
 * The pod serves HTTPS with the kubernetes.io/tls Secret cert-manager issues from the Certificate:
 * here the same kind of pair (self-signed, as the selfSigned Issuer makes it, for the Certificate's
 * names and addresses, its key algorithm) made with openssl, written into the Secret volume.
 */
/** The Secret cert-manager writes for a Certificate with a selfSigned issuer: tls.crt, tls.key and ca.crt (the certificate itself). */
function tlsSecretFor(certificate: any): {'tls.crt': string; 'tls.key': string; 'ca.crt': string} {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'infra-pod-tls-'))
  const {dnsNames = [], ipAddresses = [], commonName, privateKey} = certificate.spec
  expect(privateKey).toMatchObject({algorithm: 'ECDSA', size: 256})
  const san = [...dnsNames.map((name: string) => `DNS:${name}`), ...ipAddresses.map((ip: string) => `IP:${ip}`)].join(',')
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'tls.key', '-out', 'tls.crt', '-days', '2', '-subj', `/CN=${commonName}`, '-addext', `subjectAltName=${san}`], {cwd: dir, stdio: 'pipe'})
  const crt = readFileSync(path.join(dir, 'tls.crt'), 'utf8')
  return {'tls.crt': crt, 'tls.key': readFileSync(path.join(dir, 'tls.key'), 'utf8'), 'ca.crt': crt}
}

describe('the service pod, as the manifests write it', () => {
  let server: TestPostgres
  let pod: PodProcess
  let databaseUrl: string
  const dev = synthesizedObjects('dev')
  const tlsSecret = tlsSecretFor(dev.find('Certificate', TLS_SECRET))
  // Like the kubelet's HTTPS probes and the ALB, the test's own requests do not verify the pod's
  // certificate; the first test verifies it once, against the Secret's ca.crt.
  const rejectUnauthorized = process.env.NODE_TLS_REJECT_UNAUTHORIZED
  /**
   * The jobs' target: an HTTP server that sends the first line of /NAME at once and holds the rest
   * until the test releases it, so a job is in flight exactly as long as the test wants.
   */
  const held = new Map<string, http.ServerResponse>()
  const target = http.createServer((request, response) => {
    response.writeHead(200, {'content-type': 'text/plain'})
    response.write(`${request.url} first line\n`)
    held.set(request.url!.slice(1), response)
  })
  const release = (name: string) => held.get(name)!.end('and the rest\n')
  /** The pod with one named addition: --allow-private-http, since the jobs' target is on loopback. */
  const startJobPod = (envOverrides: Record<string, string> = {}) => {
    const bundle = new URL(databaseUrl).searchParams.get('sslrootcert')!
    return startPod({deployment: dev.find('Deployment')}, {secrets: {[DATABASE_SECRET]: {url: databaseUrl}, [TLS_SECRET]: tlsSecret}, files: {[bundle]: server.caFile!}, extraArgs: ['--allow-private-http'], envOverrides})
  }
  const targetUrl = (name: string) => `http://127.0.0.1:${(target.address() as {port: number}).port}/${name}`

  beforeAll(async () => {
    process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0'
    server = await startPostgres({tls: true})
    await server.createDatabase('infra')
    await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve))
  }, 120_000)
  afterAll(async () => {
    if (rejectUnauthorized === undefined) delete process.env.NODE_TLS_REJECT_UNAUTHORIZED
    else process.env.NODE_TLS_REJECT_UNAUTHORIZED = rejectUnauthorized
    pod?.child.kill('SIGKILL')
    await pod?.child
    for (const response of held.values()) response.destroy()
    target.close()
    await server?.stop()
  }, 60_000)

  /** A token, a job triggered on the pod against /NAME, and a way to read the job's status. */
  const jobOn = async (on: PodProcess, names: string[]) => {
    const created = await runCli(['service', 'token', 'create', '--name', `t-${names[0]}`, '--database-url', on.env.INFRA_SERVICE_DATABASE_URL, '--json'])
    expect(created.exitCode, created.stdout + created.stderr).toBe(0)
    const auth = {authorization: `Bearer ${JSON.parse(created.stdout).token as string}`}
    const ids: string[] = []
    for (const name of names) {
      const response = await fetch(`${on.url}/api/v1/jobs/trigger`, {method: 'POST', headers: {...auth, 'content-type': 'application/json'}, body: JSON.stringify({source_type: 'http', config: {url: targetUrl(name)}})})
      expect(response.status).toBe(202)
      ids.push(((await response.json()) as {job_id: string}).job_id)
    }
    const status = async (id: string) => (await (await fetch(`${on.url}/api/v1/jobs/status/${id}`, {headers: auth})).json()) as any
    // Running once the target holds the request.
    for (let i = 0; i < 100 && !names.every((name) => held.has(name)); i++) await new Promise((resolve) => setTimeout(resolve, 100))
    expect(names.filter((name) => !held.has(name))).toEqual([])
    return {ids, auth, status}
  }

  it('starts with exactly the Deployment\'s arguments and environment, over verified TLS, and becomes ready', async () => {
    const external = dev.find('ExternalSecret', DATABASE_SECRET)
    // What the RDS-managed secret holds: the master user and a password that needs escaping.
    const rendered = renderTemplate(external.spec.target.template.data.url, {username: 'postgres', password: 'p@ss/w:rd?&'})
    const url = new URL(rendered)
    expect(url.searchParams.get('sslmode')).toBe('verify-full')
    // The bundle the URL names is the one the image fetches, pinned by its SHA-256.
    const bundle = url.searchParams.get('sslrootcert')!
    expect(imageAddedFiles()).toContainEqual({url: 'https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem', dest: bundle, checksum: expect.stringMatching(/^sha256:[0-9a-f]{64}$/)})
    // Only host and port move: the certificate is for "localhost", so verify-full checks the name.
    url.hostname = 'localhost'
    url.port = String(server.port)
    databaseUrl = url.toString()

    pod = await startPod({deployment: dev.find('Deployment'), externalSecret: external}, {secrets: {[DATABASE_SECRET]: {url: databaseUrl}, [TLS_SECRET]: tlsSecret}, files: {[bundle]: server.caFile!}})
    expect(pod.env.INFRA_SERVICE_RESULTS_BUCKET).toMatch(/^s3:\/\/acme-dev-service-results-111111111111$/)
    const ready = await waitForStatus(pod, pod.probes.ready, 200, 60_000)
    expect(ready.body).toMatchObject({status: 'ready', checks: {database: 'ok', workers: 'ok'}})

    // HTTPS, as the probes' scheme and the ALB's backend-protocol say, with the Secret's certificate:
    // verified against its ca.crt for the address a port-forward uses.
    expect(pod.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/)
    const served = await new Promise<X509Certificate>((resolve, reject) => {
      const socket = tls.connect({host: '127.0.0.1', port: Number(new URL(pod.url).port), ca: tlsSecret['ca.crt'], rejectUnauthorized: true}, () => {
        resolve(socket.getPeerX509Certificate()!)
        socket.end()
      })
      socket.on('error', reject)
    })
    expect(served.fingerprint256).toBe(new X509Certificate(tlsSecret['tls.crt']).fingerprint256)
    // Plain HTTP on that port gets no answer from the API.
    await expect(fetch(pod.url.replace('https:', 'http:') + pod.probes.ready, {signal: AbortSignal.timeout(3000)})).rejects.toThrow()

    // `infra jobs` against the https endpoint: refused with the fix while the CA is unknown, working with NODE_EXTRA_CA_CERTS.
    const created = await runCli(['service', 'token', 'create', '--name', 'jobs-over-https', '--database-url', pod.env.INFRA_SERVICE_DATABASE_URL, '--json'])
    expect(created.exitCode, created.stderr).toBe(0)
    const token = JSON.parse(created.stdout).token as string
    const caFile = path.join(mkdtempSync(path.join(os.tmpdir(), 'infra-pod-ca-')), 'ca.crt')
    writeFileSync(caFile, tlsSecret['ca.crt'])
    const untrusted = await runCli(['jobs', 'list', '--endpoint', pod.url, '--token', token, '--json'], {env: {NODE_TLS_REJECT_UNAUTHORIZED: undefined}})
    expect(untrusted.exitCode, untrusted.stdout + untrusted.stderr).not.toBe(0)
    expect(untrusted.stdout + untrusted.stderr).toContain('NODE_EXTRA_CA_CERTS')
    const trusted = await runCli(['jobs', 'list', '--endpoint', pod.url, '--token', token, '--json'], {env: {NODE_TLS_REJECT_UNAUTHORIZED: undefined, NODE_EXTRA_CA_CERTS: caFile}})
    expect(trusted.exitCode, trusted.stdout + trusted.stderr).toBe(0)
    expect(JSON.parse(trusted.stdout)).toHaveProperty('jobs')

    // The service's own sessions are encrypted.
    const admin = new pg.Client(`postgres://postgres@127.0.0.1:${server.port}/postgres?sslmode=disable`)
    await admin.connect()
    try {
      const {rows} = await admin.query("SELECT s.ssl FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) WHERE a.application_name = 'infra-service'")
      expect(rows.length).toBeGreaterThan(0)
      expect(rows.every((row) => row.ssl === true)).toBe(true)
    } finally {
      await admin.end()
    }
  }, 90_000)

  it('believes X-Forwarded-For only from the load balancer\'s subnets: a peer outside them with a forged header is counted as itself', async () => {
    expect(pod, 'the first test started the pod').toBeDefined()
    const [container] = dev.find('Deployment').spec.template.spec.containers
    const trusted = container.env.find((e: any) => e.name === 'INFRA_SERVICE_TRUSTED_PROXIES').value as string
    // The pod as written trusts the load-balancer tier only; this test's peer, 127.0.0.1, is outside it.
    expect(trusted).toBe('10.1.240.0/23,10.1.242.0/23,10.1.244.0/23')
    expect(pod.env.INFRA_SERVICE_TRUSTED_PROXIES).toBe(trusted)
    // 40 failed tokens, each naming another client (one inside the balancer's own subnets among
    // them). Believed, each would be a client of its own, under its allowance (bursts of 20);
    // not believed, all are the peer's, and it is refused past 20.
    const forged = `infra_${'F'.repeat(43)}`
    const statuses: number[] = []
    for (let i = 0; i < 40; i++) {
      const response = await fetch(`${pod.url}/api/v1/jobs`, {headers: {authorization: `Bearer ${forged}`, 'x-forwarded-for': i === 0 ? '10.1.240.9' : `10.77.0.${i}`}})
      statuses.push(response.status)
    }
    expect(statuses.slice(0, 20).every((status) => status === 401)).toBe(true)
    expect(statuses.slice(20)).toContain(429)
    // A valid token from that same peer still gets in (failures never lock out a token holder).
    const created = await runCli(['service', 'token', 'create', '--name', 'behind-forged', '--database-url', pod.env.INFRA_SERVICE_DATABASE_URL, '--json'])
    expect(created.exitCode, created.stderr).toBe(0)
    const valid = await fetch(`${pod.url}/api/v1/jobs`, {headers: {authorization: `Bearer ${JSON.parse(created.stdout).token}`, 'x-forwarded-for': '10.77.0.1'}})
    expect(valid.status).toBe(200)
  }, 60_000)

  it('outlives a database outage: 503 while it lasts, ready again alone, and the job that finished meanwhile is kept', async () => {
    expect(pod, 'the first test started the pod').toBeDefined()
    pod.child.kill('SIGKILL')
    await pod.child
    pod = await startJobPod()
    await waitForStatus(pod, pod.probes.ready, 200, 60_000)
    const {ids: [jobId], auth, status} = await jobOn(pod, ['outage'])

    await server.halt()
    const health = await waitForStatus(pod, '/health', 503, 10_000)
    expect(health.body.checks.database).toMatch(/^failing/)
    const ready = await waitForStatus(pod, pod.probes.ready, 503, 10_000)
    expect(ready.body.status).toBe('not ready')
    // The kubelet's liveness stays 200: restarting the pod would not bring the database back.
    expect((await fetch(`${pod.url}${pod.probes.live}`)).status).toBe(200)
    // The job ends while the database is away; the process must neither crash nor drop it.
    release('outage')
    await new Promise((resolve) => setTimeout(resolve, 3000))
    expect(pod.child.exitCode).toBeNull()

    await server.resume()
    await waitForStatus(pod, pod.probes.ready, 200, 30_000)
    await waitForStatus(pod, '/health', 200, 10_000)
    let job = await status(jobId)
    for (let i = 0; i < 100 && job.status !== 'succeeded'; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100))
      job = await status(jobId)
    }
    expect(job).toMatchObject({status: 'succeeded', attempts: 1})
    const result = await fetch(`${pod.url}/api/v1/jobs/result/${jobId}`, {headers: auth})
    expect(await result.text()).toContain('/outage first line\nand the rest\n')
    expect(pod.child.exitCode).toBeNull()
  }, 120_000)

  it('drains on SIGTERM: not ready at once, still serving for the drain time, a running job finishes, a stuck one goes back to the queue', async () => {
    expect(pod, 'the first test started the pod').toBeDefined()
    const deployment = dev.find('Deployment')
    const [container] = deployment.spec.template.spec.containers
    const drainSeconds = Number(container.env.find((e: any) => e.name === 'INFRA_SERVICE_DRAIN_SECONDS').value)
    const graceSeconds = Number(container.env.find((e: any) => e.name === 'INFRA_SERVICE_STOP_GRACE_SECONDS').value)
    // The kubelet's SIGKILL comes after both phases (they run side by side; the bound adds them).
    expect(deployment.spec.template.spec.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(drainSeconds + graceSeconds)
    // The ALB keeps in-flight requests no longer than the pod serves after SIGTERM.
    const ingress = dev.find('Ingress')
    expect(ingress.metadata.annotations['alb.ingress.kubernetes.io/target-group-attributes']).toBe(`deregistration_delay.timeout_seconds=${drainSeconds}`)

    // One replica on the database: the last pod goes, and another starts with the drain and
    // grace shortened (the only change) so the test takes seconds, not the production minute.
    pod.child.kill('SIGKILL')
    await pod.child
    const drainer = await startJobPod({INFRA_SERVICE_DRAIN_SECONDS: '3', INFRA_SERVICE_STOP_GRACE_SECONDS: '5'})
    pod = drainer
    await waitForStatus(drainer, drainer.probes.ready, 200, 60_000)
    const {ids: [finishes, stuck], auth, status} = await jobOn(drainer, ['finishes', 'stuck'])

    const signalled = Date.now()
    drainer.child.kill('SIGTERM')
    // Not ready as soon as the signal is handled (a probe already on its way may still see 200).
    await waitForStatus(drainer, drainer.probes.ready, 503, 1000)
    // Still serving: the kubelet's liveness, and the API for whoever the balancer still sends.
    expect((await fetch(`${drainer.url}${drainer.probes.live}`)).status).toBe(200)
    release('finishes')
    await new Promise((resolve) => setTimeout(resolve, 2000))
    expect((await status(finishes)).status).toBe('succeeded')
    expect(Date.now() - signalled).toBeLessThan(3000)
    const during = await fetch(`${drainer.url}/api/v1/jobs/status/${stuck}`, {headers: auth})
    expect(during.status).toBe(200)

    const ended = await Promise.race([drainer.child, new Promise<never>((_resolve, reject) => setTimeout(() => reject(new Error(`still running 15 s after SIGTERM:\n${drainer.output().split('\n').filter((l) => !l.includes('"msg":"request"')).join('\n')}`)), 15_000))])
    const took = Date.now() - signalled
    const {exitCode} = ended
    expect(exitCode).toBe(0)
    // The stuck job had its grace, then went back to the queue for another replica.
    expect(took).toBeGreaterThanOrEqual(5000)
    expect(took).toBeLessThan(9000)
    const admin = new pg.Client(`postgres://postgres@127.0.0.1:${server.port}/infra?sslmode=disable`)
    await admin.connect()
    try {
      const {rows} = await admin.query('SELECT id, status FROM jobs WHERE id = ANY($1)', [[finishes, stuck]])
      expect(Object.fromEntries(rows.map((row) => [row.id, row.status]))).toEqual({[finishes]: 'succeeded', [stuck]: 'queued'})
    } finally {
      await admin.end()
    }
    await expect(fetch(`${drainer.url}${drainer.probes.live}`)).rejects.toThrow()
  }, 120_000)
})
