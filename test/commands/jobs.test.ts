import {readFileSync, writeFileSync} from 'node:fs'
import path from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {runCli} from '../support/cli.js'
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
    expect(result.stderr).toMatch(/wrote 12 bytes to .*out\.txt, sha256 [0-9a-f]{64}/)
    const described = JSON.parse((await runCli(['jobs', 'result', id, '--output', out, '--json'], {env})).stdout)
    expect(described).toEqual({jobId: id, output: out, bytes: 12, rows: null, sha256: expect.stringMatching(/^[0-9a-f]{64}$/)})
    const needsFile = await runCli(['jobs', 'result', id, '--json'], {env})
    expect(needsFile.exitCode).toBe(1)
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
