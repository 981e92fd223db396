import {execFileSync} from 'node:child_process'
import {mkdtempSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {PostgresJobStore, poolConfig} from '../../../src/service/store/postgres-store.js'
import {runCli} from '../../support/cli.js'
import {freePort} from '../../support/net.js'
import {startPostgres, type TestPostgres} from '../../support/postgres.js'

/** A real PostgreSQL 15 with TLS on, its certificate signed by a CA made for the run, for "localhost" only. */
describe('PostgreSQL connections', () => {
  let server: TestPostgres
  beforeAll(async () => {
    server = await startPostgres({tls: true})
  }, 120_000)
  afterAll(async () => {
    await server?.stop()
  }, 60_000)

  it('verifies the server against the CA bundle: chain and name with verify-full, the chain only with verify-ca', async () => {
    const good = `postgres://postgres@localhost:${server.port}/postgres?sslmode=verify-full&sslrootcert=${server.caFile}`
    const store = await PostgresJobStore.open(good)
    const {rows} = await store.pool.query('SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()')
    expect(rows[0]).toMatchObject({ssl: true})
    expect(rows[0].version).toMatch(/^TLSv1\.[23]$/)
    await store.close()
    // The certificate names localhost, not 127.0.0.1.
    await expect(PostgresJobStore.open(`postgres://postgres@127.0.0.1:${server.port}/postgres?sslmode=verify-full&sslrootcert=${server.caFile}`)).rejects.toThrow(/127\.0\.0\.1|altnames|IP/)
    const chainOnly = await PostgresJobStore.open(`postgres://postgres@127.0.0.1:${server.port}/postgres?sslmode=verify-ca&sslrootcert=${server.caFile}`)
    await chainOnly.close()
  })

  it('refuses a server whose certificate another CA signed', async () => {
    const other = mkdtempSync(path.join(os.tmpdir(), 'infra-other-ca-'))
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '1', '-subj', '/CN=someone else'], {cwd: other, stdio: 'pipe'})
    await expect(PostgresJobStore.open(`postgres://postgres@localhost:${server.port}/postgres?sslmode=verify-full&sslrootcert=${path.join(other, 'ca.pem')}`)).rejects.toThrow(/cannot open the job database .*(self-signed|unable to verify|certificate)/)
  })

  it('signs an RDS IAM authentication token for each new connection, as the password', async () => {
    const config = poolConfig(`postgres://infra_app@db.example.internal:5432/infra?sslmode=verify-full&sslrootcert=${server.caFile}&iam=true&region=eu-west-1`, {
      AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
      AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
    })
    expect(typeof config.password).toBe('function')
    const previous = {id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY}
    process.env.AWS_ACCESS_KEY_ID = 'AKIDEXAMPLE'
    process.env.AWS_SECRET_ACCESS_KEY = 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY'
    try {
      const token = await (config.password as () => Promise<string>)()
      // The documented shape: host:port/?Action=connect&DBUser=...&X-Amz-... (a presigned URL without scheme).
      expect(token).toMatch(/^db\.example\.internal:5432\/\?/)
      const query = new URLSearchParams(token.split('?')[1])
      expect(query.get('Action')).toBe('connect')
      expect(query.get('DBUser')).toBe('infra_app')
      expect(query.get('X-Amz-Credential')).toMatch(/^AKIDEXAMPLE\/\d{8}\/eu-west-1\/rds-db\/aws4_request$/)
      expect(query.get('X-Amz-Expires')).toBe('900')
      expect(query.get('X-Amz-Signature')).toMatch(/^[0-9a-f]{64}$/)
    } finally {
      process.env.AWS_ACCESS_KEY_ID = previous.id
      process.env.AWS_SECRET_ACCESS_KEY = previous.secret
      if (previous.id === undefined) delete process.env.AWS_ACCESS_KEY_ID
      if (previous.secret === undefined) delete process.env.AWS_SECRET_ACCESS_KEY
    }
    expect(config.ssl).toMatchObject({rejectUnauthorized: true})
    expect(() => poolConfig('postgres://u@h/db?iam=true', {})).toThrow(/needs the CA bundle/)
    expect(() => poolConfig(`postgres://u@h/db?iam=true&sslrootcert=${server.caFile}`, {})).toThrow(/region/)
  })

  it('token commands work over verified TLS; a bad or unreachable URL is one line, exit 2 or 1, no password shown', async () => {
    const url = `postgres://postgres@localhost:${server.port}/postgres?sslmode=verify-full&sslrootcert=${server.caFile}`
    const created = await runCli(['service', 'token', 'create', '--name', 'over-tls', '--database-url', url, '--json'])
    expect(created.exitCode, created.stderr).toBe(0)
    const listed = await runCli(['service', 'token', 'list', '--json'], {env: {INFRA_SERVICE_DATABASE_URL: url}})
    expect(JSON.parse(listed.stdout).tokens.map((t: {name: string}) => t.name)).toContain('over-tls')
    const insecure = await runCli(['service', 'token', 'list', '--database-url', `postgres://postgres@localhost:${server.port}/postgres?sslmode=require`, '--json'])
    expect(insecure.exitCode).toBe(2)
    expect(JSON.parse(insecure.stdout).error).toMatchObject({code: 'BAD_DATABASE_URL', fix: expect.stringContaining('verify-full')})
    // A URL that says nothing of TLS is refused (libpq's default, prefer, would fall back to cleartext).
    for (const unsaid of [`postgres://postgres@localhost:${server.port}/postgres`, `postgres://postgres@localhost:${server.port}/postgres?sslmode=prefer`]) {
      const refused = await runCli(['service', 'token', 'list', '--database-url', unsaid, '--json'])
      expect(refused.exitCode).toBe(2)
      expect(JSON.parse(refused.stdout).error).toMatchObject({code: 'BAD_DATABASE_URL', fix: expect.stringContaining('sslmode=disable')})
    }
    const closed = await freePort()
    const down = await runCli(['service', 'start', '--port', '0', '--database-url', `postgres://app:hunter2@127.0.0.1:${closed}/jobs?sslmode=disable`, '--data-dir', mkdtempSync(path.join(os.tmpdir(), 'infra-down-'))])
    expect(down.exitCode).toBe(1)
    expect(down.stderr.trim().split('\n')).toHaveLength(1)
    expect(down.stderr).toContain(`cannot open the job database postgres://app:***@127.0.0.1:${closed}/jobs?sslmode=disable: connect ECONNREFUSED`)
    expect(down.stderr).not.toContain('hunter2')
  })
})
