import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import {validateWorkflow} from '@action-validator/core'
import {describe, expect, it} from 'vitest'
import {parse as parseYaml} from 'yaml'

import {renderPipelines, writePipelines} from '../../src/delivery/ci.js'
import {parseEstate} from '../../src/estate/load.js'
import type {Estate} from '../../src/estate/model.js'
import {resourcesFromJson} from '../../src/policy/resources.js'
import {runAudit} from '../../src/policy/engine.js'
import {runCli} from '../support/cli.js'
import {synth} from '../support/synth.js'

const ROOT = path.resolve(import.meta.dirname, '../..')
const SHIPPED = readFileSync(path.join(ROOT, 'config/estate.yaml'), 'utf8')
const manifest = JSON.parse(readFileSync(path.join(ROOT, 'oclif.manifest.json'), 'utf8')) as {
  commands: Record<string, {flags: Record<string, {allowNo?: boolean; char?: string}>}>
}

/** The shipped estate with a repository to deliver from, as a file a user would keep. */
function estateFile(extra = 'delivery:\n  repository: acme/estate\n'): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'infra-ci-estate-'))
  const file = path.join(dir, 'estate.yaml')
  writeFileSync(file, `${SHIPPED}\n${extra}`)
  return file
}

const shippedWithDelivery = (): Estate => parseEstate(parseYaml(readFileSync(estateFile(), 'utf8')), 'estate.yaml')

/** Splits a shell line of `npx infra ...` into the command id and its flags, as oclif would read them. */
function infraInvocations(script: string): {id: string; flags: string[]; line: string}[] {
  return script
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.startsWith('npx infra '))
    .map((line) => {
      const words = line.replace(/^npx infra /, '').split(/\s+/)
      const topics: string[] = []
      while (words.length && !words[0].startsWith('-')) topics.push(words.shift()!)
      // The longest prefix of plain words that is a command; what follows is an argument.
      let id = ''
      for (let n = topics.length; n > 0 && !id; n--) if (manifest.commands[topics.slice(0, n).join(':')]) id = topics.slice(0, n).join(':')
      return {id, flags: words.filter((word) => word.startsWith('--')).map((word) => word.slice(2).split('=')[0]), line}
    })
}

describe('pipeline templates', () => {
  const files = renderPipelines(shippedWithDelivery())

  it('renders one workflow per delivered environment, each valid against the published GitHub workflow schema', () => {
    expect(files.map((file) => file.path)).toEqual(['.github/workflows/infra-dev.yml', '.github/workflows/infra-test.yml', '.github/workflows/infra-prod.yml'])
    for (const file of files) {
      const result = validateWorkflow(file.content) as {errors: unknown[]}
      expect(result.errors, file.path).toEqual([])
      expect(file.content).not.toMatch(/%%\w+%%/)
    }
  })

  it('schema validation is real: a broken workflow is rejected', () => {
    const broken = files[0].content.replace('runs-on: ubuntu-latest', 'runs_on: ubuntu-latest')
    expect((validateWorkflow(broken) as {errors: unknown[]}).errors.length).toBeGreaterThan(0)
  })

  it('runs only real infra commands with real flags', () => {
    for (const file of files) {
      const workflow = parseYaml(file.content)
      const scripts = Object.values(workflow.jobs as Record<string, {steps: {run?: string}[]}>).flatMap((job) => job.steps.map((step) => step.run ?? ''))
      const calls = scripts.flatMap(infraInvocations)
      expect(calls.length).toBeGreaterThanOrEqual(3)
      for (const call of calls) {
        expect(call.id, call.line).not.toBe('')
        const known = manifest.commands[call.id].flags
        for (const flag of call.flags) {
          const exists = flag in known || (flag.startsWith('no-') && known[flag.slice(3)]?.allowNo)
          expect(exists, `${call.line}: --${flag} is not a flag of ${call.id}`).toBeTruthy()
        }
      }
    }
  })

  it('plans on pull requests and applies on pushes to the environment\'s branch, one run per environment, by OIDC only', () => {
    const byEnv = Object.fromEntries(files.map((file) => [file.environment, parseYaml(file.content)]))
    expect(byEnv.dev.on).toEqual({pull_request: {branches: ['develop']}, push: {branches: ['develop']}})
    expect(byEnv.prod.on.push.branches).toEqual(['main'])
    expect(byEnv.test.on.push.branches).toEqual(['test'])
    for (const [env, workflow] of Object.entries(byEnv)) {
      expect(workflow.concurrency).toEqual({group: `infra-${env}`, 'cancel-in-progress': false})
      expect(workflow.jobs.plan.if).toBe("github.event_name == 'pull_request'")
      expect(workflow.jobs.apply.if).toBe("github.event_name == 'push'")
      expect(workflow.jobs.plan.permissions['id-token']).toBe('write')
      const plan = workflow.jobs.plan.steps.map((step: {run?: string}) => step.run ?? '').join('\n')
      expect(plan).toContain(`infra provision --env ${env} --plan-only`)
      expect(plan).not.toMatch(/--yes|--from-plan/)
      const apply = workflow.jobs.apply.steps.map((step: {run?: string}) => step.run ?? '').join('\n')
      expect(apply).toContain(`--from-plan plan --yes --confirm ${env}`)
      expect(JSON.stringify(workflow)).not.toMatch(/aws-access-key-id|AWS_SECRET_ACCESS_KEY/)
      const terraform = workflow.jobs.plan.steps.find((step: {uses?: string}) => step.uses?.startsWith('hashicorp/setup-terraform'))
      expect(terraform.with.terraform_version).toMatch(/^\d+\.\d+\.\d+$/)
    }
    // Only the protected environment waits for an approval.
    expect(byEnv.prod.jobs.apply.environment).toBe('prod')
    expect(byEnv.dev.jobs.apply.environment).toBeUndefined()
  })

  it('scans the supply chain on pull requests and pushes: npm audit, the SBOM, Trivy on the lockfile and the built image, reports kept; critical findings fail and stop the apply', () => {
    type Step = {name?: string; id?: string; uses?: string; run?: string; if?: string; with?: Record<string, unknown>}
    const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {scripts: Record<string, string>}
    for (const file of files) {
      const workflow = parseYaml(file.content)
      const job = workflow.jobs['supply-chain'] as {if?: string; permissions: Record<string, string>; steps: Step[]}
      expect(job, file.path).toBeDefined()
      // Both events, and no AWS role within reach of third-party scanners.
      expect(job.if).toBeUndefined()
      expect(job.permissions).toEqual({contents: 'read'})
      const steps = job.steps
      const install = steps.find((step) => step.run === 'npm ci')!
      expect(install.id).toBe('install')
      const runs = steps.map((step) => step.run ?? '').join('\n')
      // The documented threshold: critical advisories fail the job; the full audit is kept as a report.
      expect(runs).toMatch(/^npm audit --omit=dev --audit-level=critical$/m)
      expect(runs).toContain('npm audit --omit=dev --json > supply-chain-reports/npm-audit.json')
      const sbom = steps.find((step) => step.run?.startsWith('npm run sbom'))!
      expect(sbom.run).toBe('npm run sbom -- --output supply-chain-reports/sbom.cdx.json')
      expect(pkg.scripts.sbom).toBe('node scripts/sbom.mjs')

      const trivy = steps.filter((step) => step.uses?.startsWith('aquasecurity/trivy-action@'))
      expect(trivy.map((step) => step.with!['scan-type'])).toEqual(['fs', 'image'])
      for (const step of trivy) {
        // Pinned by commit, never by a tag that can be moved.
        expect(step.uses).toMatch(/^aquasecurity\/trivy-action@[0-9a-f]{40}$/)
        expect(step.with).toMatchObject({severity: 'CRITICAL', scanners: 'vuln', format: 'json'})
        expect(String(step.with!['exit-code'])).toBe('1')
        expect(String(step.with!.version)).toMatch(/^v\d+\.\d+\.\d+$/)
        expect(String(step.with!.output)).toMatch(/^supply-chain-reports\//)
      }
      expect(trivy[0].with).toMatchObject({'scan-ref': '.', 'skip-dirs': 'node_modules'})

      // The image scanned is the one built here from the repository's Dockerfile, and nothing is pushed.
      const build = steps.find((step) => step.uses?.startsWith('docker/build-push-action@'))!
      expect(build.with).toMatchObject({context: '.', file: 'Dockerfile', load: true})
      expect(String(build.with!.push)).toBe('false')
      expect(trivy[1].with!['image-ref']).toBe(build.with!.tags)
      expect(trivy[1].if).toContain(`steps.${build.id}.outcome == 'success'`)
      expect(steps.findIndex((step) => step === build)).toBeLessThan(steps.indexOf(trivy[1]))
      expect(steps.some((step) => step.uses?.startsWith('docker/setup-buildx-action@'))).toBe(true)

      // One failing check does not hide the others' reports: each later check runs unless cancelled.
      const auditIndex = steps.findIndex((step) => step.run?.includes('--audit-level=critical'))
      for (const step of steps.slice(auditIndex + 1)) expect(step.if, step.name ?? step.uses).toMatch(/^\$\{\{ !cancelled\(\)/)
      const upload = steps.at(-1)!
      expect(upload.uses).toMatch(/^actions\/upload-artifact@/)
      expect(upload.with).toMatchObject({name: `supply-chain-${file.environment}`, path: 'supply-chain-reports/'})
      const reports = [sbom.run!.split('--output ')[1], ...trivy.map((step) => String(step.with!.output)), 'supply-chain-reports/npm-audit.json']
      for (const report of reports) expect(report.startsWith(String(upload.with!.path)), report).toBe(true)

      // A critical finding stops the apply of that push.
      expect([workflow.jobs.apply.needs].flat()).toContain('supply-chain')
    }
  })

  it('says what to add when the estate names no repository', () => {
    expect(() => renderPipelines(parseEstate(parseYaml(SHIPPED), 'estate.yaml'))).toThrow(/names no repository/)
  })

  it('rejects delivery settings that name unknown environments or share a branch', () => {
    expect(() => parseEstate(parseYaml(`${SHIPPED}\ndelivery:\n  repository: acme/estate\n  branches: {dev: main, prod: main}\n`), 'x')).toThrow(/already deploys dev/)
    expect(() => parseEstate(parseYaml(`${SHIPPED}\ndelivery:\n  repository: acme/estate\n  branches: {staging: staging}\n`), 'x')).toThrow(/is not an environment/)
    expect(() => parseEstate(parseYaml(`${SHIPPED}\ndelivery:\n  repository: not a repo\n`), 'x')).toThrow(/is not a GitHub repository/)
  })
})

describe('infra init ci', () => {
  it('writes into an empty folder, is idempotent, updates what it wrote, and refuses edited files without --force', async () => {
    const repo = mkdtempSync(path.join(os.tmpdir(), 'infra-ci-repo-'))
    const estate = estateFile()
    const run = (args: string[], file = estate) => runCli(['init', 'ci', '--provider', 'github', '--dir', repo, '--estate', file, '--json', ...args])
    const outcomes = async (args: string[] = [], file = estate) => {
      const result = await run(args, file)
      return {exitCode: result.exitCode, body: JSON.parse(result.stdout)}
    }

    const first = await outcomes()
    expect(first.exitCode).toBe(0)
    expect(first.body.files.map((f: {outcome: string}) => f.outcome)).toEqual(['created', 'created', 'created'])
    const second = await outcomes()
    expect(second.body.files.map((f: {outcome: string}) => f.outcome)).toEqual(['unchanged', 'unchanged', 'unchanged'])

    // The estate changed (a branch), nobody edited the files: infra updates its own.
    const renamed = estateFile('delivery:\n  repository: acme/estate\n  branches: {dev: development, test: test, prod: main}\n')
    const third = await outcomes([], renamed)
    expect(third.body.files.map((f: {outcome: string}) => f.outcome)).toEqual(['updated', 'unchanged', 'unchanged'])

    // Somebody edited prod's workflow: nothing is written, the edit survives.
    const prodFile = path.join(repo, '.github/workflows/infra-prod.yml')
    const edited = readFileSync(prodFile, 'utf8').replace('timeout-minutes: 120', 'timeout-minutes: 240')
    writeFileSync(prodFile, edited)
    const devBefore = readFileSync(path.join(repo, '.github/workflows/infra-dev.yml'), 'utf8')
    const refused = await run([], estate)
    expect(refused.exitCode).toBe(1)
    expect(JSON.parse(refused.stdout).error).toMatchObject({code: 'PIPELINE_EDITED', details: {refused: ['.github/workflows/infra-prod.yml']}})
    expect(readFileSync(prodFile, 'utf8')).toBe(edited)
    expect(readFileSync(path.join(repo, '.github/workflows/infra-dev.yml'), 'utf8')).toBe(devBefore)

    const forced = await outcomes(['--force'])
    expect(forced.exitCode).toBe(0)
    expect(forced.body.files.find((f: {environment: string}) => f.environment === 'prod').outcome).toBe('overwritten')
    expect(readFileSync(prodFile, 'utf8')).toContain('timeout-minutes: 120')
  })
})

describe('pipeline roles in the stacks', () => {
  it('trusts GitHub OIDC for the repository: pull requests to plan read-only, the environment\'s branch to deploy', () => {
    const estate = shippedWithDelivery()
    const prod = synth('prod', estate)
    const github = (env: typeof prod) => env.all('aws_iam_openid_connect_provider').filter((p) => p.url === 'https://token.actions.githubusercontent.com')
    expect(github(prod)).toEqual([expect.objectContaining({client_id_list: ['sts.amazonaws.com']})])
    const roles = prod.all('aws_iam_role')
    const plan = roles.find((role) => role.name === 'acme-prod-pipeline-plan')!
    const deploy = roles.find((role) => role.name === 'acme-prod-pipeline-deploy')!
    const subjects = (role: Record<string, string>) => JSON.parse(role.assume_role_policy).Statement[0].Condition.StringEquals['token.actions.githubusercontent.com:sub']
    expect(subjects(plan)).toEqual(['repo:acme/estate:pull_request'])
    expect(subjects(deploy)).toEqual(['repo:acme/estate:ref:refs/heads/main', 'repo:acme/estate:environment:prod'])
    for (const role of [plan, deploy]) expect(JSON.parse(role.assume_role_policy).Statement[0].Condition.StringEquals['token.actions.githubusercontent.com:aud']).toBe('sts.amazonaws.com')
    const planPolicies = prod.all('aws_iam_role_policy_attachment').filter((a) => String(a.role).includes('pipeline_plan')).map((a) => a.policy_arn)
    expect(planPolicies).toEqual(['arn:aws:iam::aws:policy/ReadOnlyAccess'])
    // No pipeline roles where the estate names no repository.
    expect(github(synth('prod'))).toEqual([])
  })

  it('still passes the policy gate', () => {
    const estate = shippedWithDelivery()
    for (const env of ['dev', 'prod']) {
      const synthesized = synth(env, estate)
      const report = runAudit(resourcesFromJson(synthesized.estate, env), {protected: env === 'prod'})
      expect(report.findings.filter((f) => f.severity === 'critical' || f.severity === 'high')).toEqual([])
    }
  })
})
