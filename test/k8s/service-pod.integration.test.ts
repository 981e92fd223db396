import {execFileSync} from 'node:child_process'
import {mkdirSync, openSync, writeSync, closeSync} from 'node:fs'
import path from 'node:path'

import pg from 'pg'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {DATABASE_SECRET} from '../../src/k8s/service-manifests.js'
import {runCli} from '../support/cli.js'
import {type PodProcess, imageAddedFiles, renderTemplate, startPod, waitForStatus} from '../support/pod.js'
import {startPostgres, type TestPostgres} from '../support/postgres.js'
import {synthesizedObjects} from './fixtures.js'

/**
 * The pod as `infra deploy service` writes it, started for real: the Deployment's args and env, the
 * image's ENV, and the database URL the ExternalSecret renders from the RDS-managed secret. Only the
 * database's host and port move (to a local PostgreSQL 15 speaking TLS with a certificate from a CA
 * made here), and the CA bundle the URL names (which the image carries) is swapped for that CA.
 */
describe('the service pod, as the manifests write it', () => {
  let server: TestPostgres
  let pod: PodProcess
  let databaseUrl: string
  const dev = synthesizedObjects('dev')

  beforeAll(async () => {
    server = await startPostgres({tls: true})
    await server.createDatabase('infra')
  }, 120_000)
  afterAll(async () => {
    pod?.child.kill('SIGKILL')
    await pod?.child
    await server?.stop()
  }, 60_000)

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

    pod = await startPod({deployment: dev.find('Deployment'), externalSecret: external}, {secrets: {[DATABASE_SECRET]: {url: databaseUrl}}, files: {[bundle]: server.caFile!}})
    expect(pod.env.INFRA_SERVICE_RESULTS_BUCKET).toMatch(/^s3:\/\/acme-dev-service-results-111111111111$/)
    const ready = await waitForStatus(pod, pod.probes.ready, 200, 60_000)
    expect(ready.body).toMatchObject({status: 'ready', checks: {database: 'ok', workers: 'ok'}})

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

  it('outlives a database outage: 503 while it lasts, ready again alone, and the job that finished meanwhile is kept', async () => {
    expect(pod, 'the first test started the pod').toBeDefined()
    const created = await runCli(['service', 'token', 'create', '--name', 'outage', '--database-url', pod.env.INFRA_SERVICE_DATABASE_URL, '--json'])
    expect(created.exitCode, created.stdout + created.stderr).toBe(0)
    const token = JSON.parse(created.stdout).token as string
    // An in-flight job: the file source reads a FIFO under the pod's file root, which the test
    // writes and closes only while the database is down.
    const fileRoot = path.join(pod.env.INFRA_SERVICE_DATA_DIR, 'files')
    mkdirSync(fileRoot, {recursive: true})
    execFileSync('mkfifo', [path.join(fileRoot, 'slow.fifo')])
    const trigger = await fetch(`${pod.url}/api/v1/jobs/trigger`, {
      method: 'POST',
      headers: {authorization: `Bearer ${token}`, 'content-type': 'application/json'},
      body: JSON.stringify({source_type: 'file', config: {path: 'slow.fifo'}}),
    })
    expect(trigger.status).toBe(202)
    const {job_id: jobId} = (await trigger.json()) as {job_id: string}
    const status = async () => (await (await fetch(`${pod.url}/api/v1/jobs/status/${jobId}`, {headers: {authorization: `Bearer ${token}`}})).json()) as any
    for (let i = 0; i < 100 && (await status()).status !== 'running'; i++) await new Promise((resolve) => setTimeout(resolve, 100))
    expect((await status()).status).toBe('running')
    const writer = openSync(path.join(fileRoot, 'slow.fifo'), 'w')
    writeSync(writer, 'collected before the outage\n')

    await server.halt()
    const health = await waitForStatus(pod, pod.probes.startup, 503, 10_000)
    expect(health.body.checks.database).toMatch(/^failing/)
    const ready = await waitForStatus(pod, pod.probes.ready, 503, 10_000)
    expect(ready.body.status).toBe('not ready')
    // The job ends while the database is away; the process must neither crash nor drop it.
    writeSync(writer, 'and during it\n')
    closeSync(writer)
    await new Promise((resolve) => setTimeout(resolve, 3000))
    expect(pod.child.exitCode).toBeNull()

    await server.resume()
    await waitForStatus(pod, pod.probes.ready, 200, 30_000)
    await waitForStatus(pod, pod.probes.startup, 200, 10_000)
    let job = await status()
    for (let i = 0; i < 100 && job.status !== 'succeeded'; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100))
      job = await status()
    }
    expect(job).toMatchObject({status: 'succeeded', attempts: 1})
    const result = await fetch(`${pod.url}/api/v1/jobs/result/${jobId}`, {headers: {authorization: `Bearer ${token}`}})
    expect(await result.text()).toBe('collected before the outage\nand during it\n')
    expect(pod.child.exitCode).toBeNull()
  }, 120_000)
})
