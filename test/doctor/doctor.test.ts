import {chmodSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

import {execa} from 'execa'
import {describe, expect, it} from 'vitest'

import {compareVersions, findProviderMirror, runDoctor} from '../../src/doctor/checks.js'
import {BIN} from '../support/cli.js'

/** A PATH holding only the tools named, so each can be missing in turn. */
function pathWith(tools: Record<string, string>): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'infra-doctor-path-'))
  for (const [name, target] of Object.entries(tools)) {
    if (target.startsWith('/')) symlinkSync(target, path.join(dir, name))
    else {
      writeFileSync(path.join(dir, name), `#!/bin/sh\n${target}\n`)
      chmodSync(path.join(dir, name), 0o755)
    }
  }
  return dir
}

const which = async (tool: string) => (await execa('sh', ['-c', `command -v ${tool}`])).stdout.trim()

/** No credentials anywhere the SDK looks: no variables, no files, no instance metadata. */
const NO_CREDENTIALS = {
  AWS_ACCESS_KEY_ID: undefined,
  AWS_SECRET_ACCESS_KEY: undefined,
  AWS_SESSION_TOKEN: undefined,
  AWS_PROFILE: undefined,
  AWS_CONFIG_FILE: '/nonexistent/config',
  AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/credentials',
  AWS_EC2_METADATA_DISABLED: 'true',
  AWS_CONTAINER_CREDENTIALS_FULL_URI: undefined,
  AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: undefined,
  AWS_WEB_IDENTITY_TOKEN_FILE: undefined,
}

function env(extra: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const merged: NodeJS.ProcessEnv = {...process.env, ...NO_CREDENTIALS, INFRA_TF_PLUGIN_MIRROR: undefined, INFRA_TERRAFORM: undefined, INFRA_SESSION_MANAGER_PLUGIN: undefined, ...extra}
  for (const [key, value] of Object.entries(merged)) if (value === undefined) delete merged[key]
  return merged
}

describe('infra doctor', () => {
  it('names every missing tool with its fix, and blocks only the purposes that need it', async () => {
    const report = await runDoctor({env: env({PATH: pathWith({})}), timeoutMs: 3000})
    const byId = Object.fromEntries(report.checks.map((check) => [check.id, check]))
    expect(byId.terraform.status).toBe('missing')
    expect(byId.terraform.fix).toMatch(/install terraform/)
    expect(byId['session-manager-plugin'].status).toBe('missing')
    expect(byId['session-manager-plugin'].detail).toMatch(/not on PATH/)
    // kubectl and psql serve single subcommands: warnings, never blocking.
    expect(byId.kubectl.status).toBe('warning')
    expect(byId.psql.status).toBe('warning')
    expect(byId.node.status).toBe('ok')
    // Nothing every purpose needs is missing, so the plain doctor passes.
    expect(report.ok).toBe(true)

    const provision = await runDoctor({purpose: 'provision', env: env({PATH: pathWith({})}), timeoutMs: 3000})
    expect(provision.blocking).toEqual(['aws-credentials', 'terraform'])
    const service = await runDoctor({purpose: 'service', env: env({PATH: pathWith({})}), timeoutMs: 3000})
    expect(service.ok).toBe(true)
  })

  it('says there are no credentials, and checks the Session Manager plugin\'s version', async () => {
    const terraform = await which('terraform')
    const fresh = pathWith({terraform, 'session-manager-plugin': 'echo 1.2.707.0'})
    const report = await runDoctor({purpose: 'tunnel', env: env({PATH: fresh}), timeoutMs: 3000})
    const byId = Object.fromEntries(report.checks.map((check) => [check.id, check]))
    expect(byId['aws-credentials']).toMatchObject({status: 'missing', detail: 'no AWS credentials found'})
    expect(byId['session-manager-plugin']).toMatchObject({status: 'ok', detail: 'session-manager-plugin 1.2.707.0'})
    expect(byId.terraform.status).toBe('ok')
    expect(report.blocking).toEqual(['aws-credentials'])

    // Older plugins take the session token on the command line, where `ps` shows it.
    const old = pathWith({'session-manager-plugin': 'echo 1.2.295.0'})
    const oldReport = await runDoctor({purpose: 'session', env: env({PATH: old}), timeoutMs: 3000})
    expect(oldReport.checks.find((check) => check.id === 'session-manager-plugin')).toMatchObject({status: 'missing', detail: expect.stringMatching(/older than 1\.2\.497\.0/)})
  })

  it('checks a provider mirror for the aws provider', async () => {
    const empty = mkdtempSync(path.join(os.tmpdir(), 'infra-doctor-mirror-'))
    const report = await runDoctor({purpose: 'provision', env: env({PATH: pathWith({}), INFRA_TF_PLUGIN_MIRROR: empty}), timeoutMs: 3000})
    expect(report.checks.find((check) => check.id === 'provider-source')).toMatchObject({status: 'missing'})
    expect(report.blocking).toContain('provider-source')
  })

  it('exits 1 with the blocking checks under --json, 0 when the purpose is served', async () => {
    const node = process.execPath
    const run = (args: string[]) => execa(node, [BIN, 'doctor', ...args], {reject: false, env: env({PATH: pathWith({}), CI: 'true'}), extendEnv: false})
    const blocked = await run(['--for', 'provision', '--json'])
    expect(blocked.exitCode).toBe(1)
    const error = JSON.parse(blocked.stdout).error
    expect(error.code).toBe('DOCTOR_NOT_READY')
    expect(error.details.blocking).toEqual(['aws-credentials', 'terraform'])
    const served = await run(['--for', 'service', '--json'])
    expect(served.exitCode).toBe(0)
    expect(JSON.parse(served.stdout)).toMatchObject({purpose: 'service', ok: true})
    // Text mode says "not ready" once (the error line, with the fixes), and "Ready" only when ready.
    const text = await run(['--for', 'provision'])
    expect(`${text.stdout}\n${text.stderr}`.match(/not ready/gi)).toHaveLength(1)
    expect(text.stderr.trim()).toMatch(/^Error: not ready for provision: aws-credentials, terraform missing: /)
    // Served, but with things missing that it does not need: it says they are missing.
    expect((await run(['--for', 'service'])).stdout).toMatch(/\nReady for service \(aws-credentials, terraform, session-manager-plugin missing: not needed for it\)\.$/)
    // No purpose and things missing: never a bare "Ready."
    const all = await run([])
    expect(all.exitCode).toBe(0)
    expect(all.stdout).not.toMatch(/\nReady\.$/)
    expect(all.stdout.trim().split('\n').at(-1)).toBe('Not ready for provision, session, tunnel (aws-credentials, terraform, session-manager-plugin missing); ready for service.')
  })

  it('finds a provider mirror where scripts/provider-mirror.sh finds it, and names it when INFRA_TF_PLUGIN_MIRROR is unset', async () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'infra-doctor-roots-'))
    const mirror = path.join(root, 'tools', 'tf-plugins')
    const arch = path.join(mirror, 'registry.terraform.io', 'hashicorp', 'aws', '5.100.0', 'linux_amd64')
    mkdirSync(arch, {recursive: true})
    writeFileSync(path.join(arch, 'terraform-provider-aws_v5.100.0_x5'), '')
    const script = await execa('bash', [fileURLToPath(new URL('../../scripts/provider-mirror.sh', import.meta.url)), root])
    expect(findProviderMirror([root])).toBe(script.stdout.trim())
    expect(findProviderMirror([mkdtempSync(path.join(os.tmpdir(), 'infra-doctor-none-'))])).toBeUndefined()
  })

  it('exits 2 when --estate names nothing', async () => {
    const result = await execa(process.execPath, [BIN, 'doctor', '--estate', '/nonexistent/estate.yaml', '--json'], {reject: false})
    expect(result.exitCode).toBe(2)
    expect(JSON.parse(result.stdout).error.code).toBe('ESTATE_NOT_FOUND')
  })

  it('compares versions numerically', () => {
    expect(compareVersions('1.2.497.0', '1.2.707.0')).toBe(-1)
    expect(compareVersions('1.10.0', '1.9.9')).toBe(1)
    expect(compareVersions('1.2', '1.2.0')).toBe(0)
  })
})
