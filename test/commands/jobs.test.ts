import {execFileSync} from 'node:child_process'
import {existsSync, mkdtempSync, readFileSync, statSync, writeFileSync} from 'node:fs'
import http from 'node:http'
import type {AddressInfo} from 'node:net'
import os from 'node:os'
import path from 'node:path'

import Database from 'better-sqlite3'
import {execa} from 'execa'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {BIN, runCli} from '../support/cli.js'
import {freePort} from '../support/net.js'
import {type TestService, startTestService} from '../support/service.js'

let t: TestService
let env: Record<string, string>
beforeAll(async () => {
  t = await startTestService()
  writeFileSync(path.join(t.fileRoot, 'inventory.txt'), 'servers: 42\n')
  env = {INFRA_SERVICE_URL: t.url, INFRA_SERVICE_TOKEN: t.token}
})
afterAll(() => t.service.stop())

describe('infra jobs against a running service', () => {
  it('triggers, waits, and fetches the result to a file', async () => {
    const triggered = await runCli(['jobs', 'trigger', '--source-type', 'file', '--config', '{"path": "inventory.txt"}', '--wait'], {env})
    expect(triggered.exitCode).toBe(0)
    expect(triggered.stdout).toMatch(/Queued: [0-9a-f-]{36}/)
    expect(triggered.stdout).toMatch(/succeeded 100%/)
    const id = /Queued: ([0-9a-f-]{36})/.exec(triggered.stdout)![1]
    const out = path.join(t.dataDir, 'out.txt')
    const result = await runCli(['jobs', 'result', id, '--output', out], {env})
    expect(result.exitCode).toBe(0)
    expect(readFileSync(out, 'utf8')).toBe('servers: 42\n')
    expect(result.stderr).toMatch(/wrote 12 bytes to .*out\.txt, sha256 [0-9a-f]{64} \(checked against the service\)/)
    const described = JSON.parse((await runCli(['jobs', 'result', id, '--output', out, '--json'], {env})).stdout)
    expect(described).toEqual({jobId: id, output: out, bytes: 12, rows: null, sha256: expect.stringMatching(/^[0-9a-f]{64}$/)})
    const needsFile = await runCli(['jobs', 'result', id, '--json'], {env})
    expect(needsFile.exitCode).toBe(2)
    expect(JSON.parse(needsFile.stdout).error).toMatchObject({code: 'MISSING_FLAG', message: '--json needs --output FILE'})
    const stdout = await runCli(['jobs', 'result', id], {env})
    expect(stdout.stdout).toBe('servers: 42')
    const status = JSON.parse((await runCli(['jobs', 'status', id, '--json'], {env})).stdout)
    expect(status).toMatchObject({job_id: id, status: 'succeeded', result: {bytes: 12}})
    const list = JSON.parse((await runCli(['jobs', 'list', '--json', '--status', 'succeeded'], {env})).stdout)
    expect(list.jobs.map((job: any) => job.job_id)).toContain(id)
  })

  it('says clearly when the service is unreachable, the token is bad or the job unknown', async () => {
    const closed = await freePort()
    const down = await runCli(['jobs', 'list'], {env: {...env, INFRA_SERVICE_URL: `http://127.0.0.1:${closed}`}})
    expect(down.exitCode).toBe(1)
    expect(down.stderr.trim()).toMatch(new RegExp(`^Error: cannot reach the collection service at http://127\\.0\\.0\\.1:${closed} \\(ECONNREFUSED\\): start it with`))
    const bad = await runCli(['jobs', 'list'], {env: {...env, INFRA_SERVICE_TOKEN: 'infra_nope'}})
    expect(bad.stderr).toContain('the service rejected the token')
    const none = await runCli(['jobs', 'list'], {env: {INFRA_SERVICE_URL: t.url, INFRA_SERVICE_TOKEN: '', INFRA_CREDENTIALS_FILE: path.join(t.dataDir, 'absent.json')}})
    expect(none.stderr).toContain('no service token')
    const unknown = await runCli(['jobs', 'status', '00000000-0000-4000-8000-000000000000'], {env})
    expect(unknown.stderr).toContain('no job 00000000-0000-4000-8000-000000000000')
    const badJson = await runCli(['jobs', 'trigger', '--source-type', 'file', '--config', '{path:'], {env})
    expect(badJson.stderr).toContain('--config is not JSON')
    const refused = await runCli(['jobs', 'trigger', '--source-type', 'file', '--config', '{"path": "../x"}'], {env})
    expect(refused.stderr).toContain('config.path must be relative to the file root')
  })

  it('uses the token saved for the endpoint when no flag or variable gives one', async () => {
    const credentials = path.join(t.dataDir, 'credentials.json')
    const {saveToken} = await import('../../src/jobs/credentials.js')
    saveToken(t.url, t.token, {INFRA_CREDENTIALS_FILE: credentials})
    const {statSync} = await import('node:fs')
    expect(statSync(credentials).mode & 0o777).toBe(0o600)
    const list = await runCli(['jobs', 'list', '--json'], {env: {INFRA_SERVICE_URL: t.url, INFRA_SERVICE_TOKEN: '', INFRA_CREDENTIALS_FILE: credentials}})
    expect(list.exitCode).toBe(0)
    expect(JSON.parse(list.stdout).jobs.length).toBeGreaterThan(0)
  })

  it('exits 1 from --wait when the job fails', async () => {
    const failed = await runCli(['jobs', 'trigger', '--source-type', 'file', '--config', '{"path": "absent.txt"}', '--wait', '--json'], {env})
    expect(failed.exitCode).toBe(1)
    expect(JSON.parse(failed.stdout).job).toMatchObject({status: 'failed'})
  })
})

describe('jobs result checks what it wrote', () => {
  it('fails loudly and keeps nothing when the download was tampered with on the way', async () => {
    const id = /Queued: ([0-9a-f-]{36})/.exec((await runCli(['jobs', 'trigger', '--source-type', 'file', '--config', '{"path": "inventory.txt"}', '--wait'], {env})).stdout)![1]
    // A proxy between client and service that changes one byte of the body (a stand-in for a
    // tampering middlebox: the service itself is real).
    const upstream = new URL(t.url)
    const proxy = http.createServer((request, response) => {
      const forwarded = http.request({host: upstream.hostname, port: upstream.port, path: request.url, method: request.method, headers: request.headers}, (answer) => {
        const chunks: Buffer[] = []
        answer.on('data', (chunk) => chunks.push(chunk))
        answer.on('end', () => {
          const body = Buffer.concat(chunks)
          if (request.url?.includes('/result/')) body[0] ^= 0x20
          response.writeHead(answer.statusCode ?? 502, answer.headers).end(body)
        })
      })
      request.pipe(forwarded)
    })
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve))
    try {
      const out = path.join(t.dataDir, 'tampered.txt')
      const tampered = await runCli(['jobs', 'result', id, '--output', out, '--json'], {env: {...env, INFRA_SERVICE_URL: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`}})
      expect(tampered.exitCode).toBe(1)
      const error = JSON.parse(tampered.stdout).error
      expect(error).toMatchObject({code: 'RESULT_MISMATCH', message: expect.stringMatching(/^the result of job .* does not match what the service holds: SHA-256 [0-9a-f]{64} differs from the service's [0-9a-f]{64}$/)})
      expect(existsSync(out)).toBe(false)
      expect(existsSync(`${out}.partial`)).toBe(false)
      // The same download straight from the service passes.
      expect((await runCli(['jobs', 'result', id, '--output', out], {env})).exitCode).toBe(0)
      expect(statSync(out).mode & 0o777).toBe(0o600)
    } finally {
      proxy.close()
    }
  })
})

describe('jobs list --since', () => {
  it('takes a duration or a date like audit flow-logs, and names the flag when it is wrong', async () => {
    const recent = JSON.parse((await runCli(['jobs', 'list', '--since', '24h', '--json'], {env})).stdout)
    expect(recent.jobs.length).toBeGreaterThan(0)
    const future = JSON.parse((await runCli(['jobs', 'list', '--since', '2099-01-01', '--json'], {env})).stdout)
    expect(future.jobs).toEqual([])
    const bad = await runCli(['jobs', 'list', '--since', 'yesterday'], {env})
    expect(bad.exitCode).toBe(2)
    expect(bad.stderr.trim()).toBe('Error: --since "yesterday" is not a time: use an ISO date (2026-11-27, 2026-11-27T10:00Z) or a duration like 24h or 7d')
    // A refusal by the service names the flag, not the query string.
    const cursor = await runCli(['jobs', 'list', '--cursor', 'not a cursor!'], {env})
    expect(cursor.exitCode).toBe(2)
    expect(cursor.stderr.trim()).toBe('Error: --cursor not a cursor! was refused by the service: check --cursor (infra jobs list --help)')
  })
})

describe('jobs trigger --help', () => {
  it('has examples that run as written against a service set up like the README says', async () => {
    const db = new Database(path.join(t.dataDir, 'crm.db'))
    db.exec('CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT); INSERT INTO users (email) VALUES (\'a@example.com\')')
    db.close()
    const configured = await startTestService({connections: {crm: path.join(t.dataDir, 'crm.db')}})
    try {
      writeFileSync(path.join(configured.fileRoot, 'report.csv'), 'a,b\n1,2\n')
      // The http example reads its config from job.json in the working folder, as the README's does.
      const cwd = mkdtempSync(path.join(os.tmpdir(), 'infra-trigger-examples-'))
      writeFileSync(path.join(cwd, 'job.json'), JSON.stringify({url: 'https://example.com/export.csv', max_bytes: 1048576}))
      const help = await runCli(['jobs', 'trigger', '--help'])
      const examples = [...help.stdout.slice(help.stdout.indexOf('EXAMPLES')).matchAll(/^\s+\$ infra (jobs trigger .*)$/gm)].map((match) => match[1])
      expect(examples.length).toBeGreaterThanOrEqual(3)
      for (const example of examples) {
        // Shell words: single-quoted strings stay whole.
        const words = [...example.matchAll(/'([^']*)'|(\S+)/g)].map((match) => match[1] ?? match[2])
        const ran = await runCli(words, {cwd, env: {INFRA_SERVICE_URL: configured.url, INFRA_SERVICE_TOKEN: configured.token}})
        expect(ran.stderr, example).toBe('')
        expect(ran.exitCode, example).toBe(0)
        expect(ran.stdout, example).toMatch(/Queued: [0-9a-f-]{36}/)
      }
    } finally {
      await configured.service.stop()
    }
  })
})

describe('infra service token', () => {
  it('lists tokens without secrets, and a revoked token is refused by the running service within a second', async () => {
    const created = JSON.parse((await runCli(['service', 'token', 'create', '--name', 'ci-deploy', '--data-dir', t.dataDir, '--json'])).stdout)
    expect(created).toMatchObject({name: 'ci-deploy', scopes: ['jobs:write', 'jobs:read'], token: expect.stringMatching(/^infra_/)})
    expect((await t.call('GET', '/api/v1/jobs', {token: created.token})).status).toBe(200)
    const listed = JSON.parse((await runCli(['service', 'token', 'list', '--data-dir', t.dataDir, '--json'])).stdout)
    expect(listed.tokens.map((token: any) => token.name)).toEqual(expect.arrayContaining(['test', 'ci-deploy']))
    expect(JSON.stringify(listed)).not.toMatch(/hash|infra_/)
    const revoked = await runCli(['service', 'token', 'revoke', 'ci-deploy', '--data-dir', t.dataDir])
    expect(revoked.exitCode).toBe(0)
    expect(revoked.stdout).toMatch(/^Token "ci-deploy" \([0-9a-f-]{36}\) revoked at /)
    const revokedAt = Date.now()
    for (;;) {
      const status = (await t.call('GET', '/api/v1/jobs', {token: created.token})).status
      if (status === 401) break
      expect(Date.now() - revokedAt).toBeLessThan(1000)
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    const again = await runCli(['service', 'token', 'revoke', 'ci-deploy', '--data-dir', t.dataDir])
    expect(again.exitCode).toBe(1)
    expect(again.stderr).toContain('token ci-deploy was already revoked')
    const unknown = await runCli(['service', 'token', 'revoke', 'nobody', '--data-dir', t.dataDir])
    expect(unknown.stderr.trim()).toMatch(/^Error: no token named or with id nobody: live tokens: test/)
    // A mistyped data folder is said, not made.
    const typo = path.join(t.dataDir, 'no-such-folder')
    const nowhere = await runCli(['service', 'token', 'list', '--data-dir', typo])
    expect(nowhere.exitCode).toBe(1)
    expect(nowhere.stderr.trim()).toMatch(/^Error: no job database at .*no-such-folder\/jobs\.db: pass the service's --data-dir/)
    expect(existsSync(typo)).toBe(false)
  })
})

describe('infra service start', () => {
  it('refuses a missing --file-root or --connection file in one line, and warns when no token exists', async () => {
    const dataDir = path.join(t.dataDir, 'fresh-service')
    const missingRoot = await runCli(['service', 'start', '--port', '0', '--data-dir', dataDir, '--file-root', '/nonexistent/files'])
    expect(missingRoot.exitCode).toBe(2)
    expect(missingRoot.stderr.trim()).toBe('Error: --file-root /nonexistent/files does not exist: create it, or pass the folder the file source may read')
    const missingDb = await runCli(['service', 'start', '--port', '0', '--data-dir', dataDir, '--connection', 'crm=/nonexistent/crm.db'])
    expect(missingDb.exitCode).toBe(2)
    expect(missingDb.stderr.trim()).toBe('Error: --connection crm=/nonexistent/crm.db: no such file: pass NAME=path/to/an/existing/sqlite.db')
    const started = execa('node', [BIN, 'service', 'start', '--port', '0', '--data-dir', dataDir, '--log-level', 'silent'], {reject: false})
    let stderr = ''
    started.stderr?.on('data', (chunk) => (stderr += chunk))
    const deadline = Date.now() + 20_000
    while (!stderr.includes('listening') && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100))
    started.kill('SIGTERM')
    await started
    expect(stderr).toContain(`warning: no live API token: every request will be refused; create one with \`infra service token create --name NAME --data-dir ${dataDir}\``)
  })
})

describe('infra service start --tls-cert / --tls-key', () => {
  it('take both or neither; an unreadable file or a key that is not the certificate\'s exits 2 in one line', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'infra-start-tls-'))
    for (const name of ['a', 'b']) execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.crt`, '-days', '1', '-subj', `/CN=${name}`], {cwd: dir, stdio: 'pipe'})
    const start = (...args: string[]) => runCli(['service', 'start', '--port', '0', '--data-dir', path.join(dir, 'data'), ...args])
    const alone = await start('--tls-cert', path.join(dir, 'a.crt'))
    expect([alone.exitCode, alone.stderr.trim()]).toEqual([2, 'Error: --tls-cert was given without --tls-key: pass both (INFRA_SERVICE_TLS_CERT and INFRA_SERVICE_TLS_KEY), or neither for plain HTTP'])
    const fromEnv = await runCli(['service', 'start', '--port', '0', '--data-dir', path.join(dir, 'data')], {env: {INFRA_SERVICE_TLS_KEY: path.join(dir, 'a.key')}})
    expect([fromEnv.exitCode, fromEnv.stderr.trim()]).toEqual([2, 'Error: --tls-key was given without --tls-cert: pass both (INFRA_SERVICE_TLS_CERT and INFRA_SERVICE_TLS_KEY), or neither for plain HTTP'])
    const missing = await start('--tls-cert', path.join(dir, 'none.crt'), '--tls-key', path.join(dir, 'a.key'))
    expect([missing.exitCode, missing.stderr.trim()]).toEqual([2, `Error: --tls-cert ${path.join(dir, 'none.crt')} cannot be read: ENOENT: name a readable PEM file (in the pod: the TLS Secret's mount)`])
    const mismatched = await start('--tls-cert', path.join(dir, 'a.crt'), '--tls-key', path.join(dir, 'b.key'))
    expect(mismatched.exitCode).toBe(2)
    expect(mismatched.stderr.trim().split('\n')).toHaveLength(1)
    expect(mismatched.stderr).toContain('are not a usable pair')
    // Nothing was opened before the refusal: no jobs database in the data folder.
    expect(existsSync(path.join(dir, 'data', 'jobs.db'))).toBe(false)
  })
})

describe('following a job', () => {
  /** Runs the CLI until its output matches, then sends a signal; the job must outlive it. */
  async function stopWhile(args: string[], serviceEnv: Record<string, string>, until: RegExp, signal: NodeJS.Signals) {
    const child = execa('node', [BIN, ...args], {reject: false, env: {CI: '', ...serviceEnv}, stdin: 'ignore'})
    let seen = ''
    await new Promise<void>((resolve) => {
      child.stdout!.on('data', (chunk) => {
        seen += String(chunk)
        if (until.test(seen)) resolve()
      })
    })
    child.kill(signal)
    return child
  }

  it('Ctrl-C in trigger --wait stops following, not the job, and says how to follow it; jobs status --wait follows it', async () => {
    // No workers: the job stays queued while the client follows it.
    const idle = await startTestService({}, {concurrency: 0})
    try {
      const idleEnv = {INFRA_SERVICE_URL: idle.url, INFRA_SERVICE_TOKEN: idle.token}
      const triggered = await stopWhile(['jobs', 'trigger', '--source-type', 'file', '--config', '{"path": "inventory.txt"}', '--wait'], idleEnv, /queued/, 'SIGINT')
      expect(triggered.exitCode).toBe(130)
      const id = /Queued: ([0-9a-f-]{36})/.exec(String(triggered.stdout))![1]
      expect(String(triggered.stderr).trim()).toBe(`Error: stopped following job ${id}; it runs on in the service: follow it again: infra jobs status ${id} --wait, or stop it: infra jobs cancel ${id}`)
      expect((await idle.call('GET', `/api/v1/jobs/status/${id}`)).body.status).toBe('queued')
      // A closed terminal (SIGHUP) while following with status --wait: the same.
      const followed = await stopWhile(['jobs', 'status', id, '--wait'], idleEnv, /queued/, 'SIGHUP')
      expect(followed.exitCode).toBe(130)
      expect(String(followed.stderr)).toContain(`infra jobs status ${id} --wait`)
    } finally {
      await idle.service.stop()
    }
  })

  it('jobs status --wait follows a job to its end, exit 0 when it succeeded and 1 when it failed', async () => {
    const ok = /Queued: ([0-9a-f-]{36})/.exec((await runCli(['jobs', 'trigger', '--source-type', 'file', '--config', '{"path": "inventory.txt"}'], {env})).stdout)![1]
    const followed = await runCli(['jobs', 'status', ok, '--wait', '--json'], {env})
    expect(followed.exitCode).toBe(0)
    expect(JSON.parse(followed.stdout)).toMatchObject({job_id: ok, status: 'succeeded'})
    const bad = /Queued: ([0-9a-f-]{36})/.exec((await runCli(['jobs', 'trigger', '--source-type', 'file', '--config', '{"path": "absent.txt"}'], {env})).stdout)![1]
    const failed = await runCli(['jobs', 'status', bad, '--wait'], {env})
    expect(failed.exitCode).toBe(1)
    expect(failed.stdout).toMatch(/failed/)
  })
})
