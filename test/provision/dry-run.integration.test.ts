import {existsSync, mkdtempSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import {describe, expect, it} from 'vitest'

import {runCli} from '../support/cli.js'

/** The dry run as a script reads it: stdout piped, real terraform validate (needs the provider mirror). */
describe('provision --dry-run, piped', () => {
  it('prints results on stdout (the audit verdict and the output folder), progress on stderr', async () => {
    const work = mkdtempSync(path.join(os.tmpdir(), 'infra-dry-piped-'))
    const result = await runCli(['provision', '--env', 'dev', '--dry-run', '--work-dir', work], {env: {AWS_ACCESS_KEY_ID: '', AWS_PROFILE: ''}, timeoutMs: 300_000})
    expect(result.exitCode).toBe(0)
    // listr2's lines ("[STARTED] validate dev-state") are progress: stderr only.
    expect(result.stderr).toMatch(/validate dev-state/)
    expect(result.stdout).not.toMatch(/STARTED|COMPLETED|validate dev-/)
    expect(result.stdout).toMatch(/^Dry run of dev .*terraform validate passed/)
    expect(result.stdout).toMatch(/^Security audit: PASSED on 2 synthesized stacks \(critical 0, high 0, /m)
    const folder = path.join(work, 'dev', 'cdktf.out')
    expect(result.stdout).toContain(`Synthesized stacks: ${folder}`)
    expect(existsSync(path.join(folder, 'stacks', 'dev-estate', 'cdk.tf.json'))).toBe(true)
    // The service's Kubernetes objects beside them, through the Kubernetes rules of the gate.
    const manifests = path.join(work, 'dev', 'k8s', 'manifests')
    expect(result.stdout).toMatch(new RegExp(`^Service manifests: ${manifests.replaceAll('/', '\\/')} \\(\\d+ objects; Kubernetes rules PASSED: high 0, `, 'm'))
    expect(result.stdout).toContain('placeholders until `infra deploy service` fills them in: image (infra deploy service --env dev --image), wafWebAclArn (/infra/dev/waf/web-acl-arn once applied)')
    expect(existsSync(path.join(manifests, 'dev-infra-service.yaml'))).toBe(true)
  })

  it('refuses --no-validate without --dry-run (exit 2) instead of starting a real run', async () => {
    const result = await runCli(['provision', '--env', 'dev', '--no-validate', '--yes', '--json'], {env: {AWS_ACCESS_KEY_ID: '', AWS_PROFILE: ''}})
    expect(result.exitCode).toBe(2)
    expect(JSON.parse(result.stdout).error).toMatchObject({code: 'FLAG_CONFLICT', message: '--no-validate only applies to --dry-run'})
  })
})
