import {mkdtempSync, readFileSync, writeFileSync, mkdirSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import {describe, expect, it} from 'vitest'

import {differences, planChanges} from '../../src/delivery/plan-changes.js'
import {checkReviewed, ghReader} from '../../src/delivery/reviewed-plan.js'
import {loadEstate} from '../../src/estate/load.js'
import {InfraError} from '../../src/errors.js'
import {PLAN_MANIFEST, type PlanManifest} from '../../src/provision/provision.js'
import {runCli} from '../support/cli.js'

const ROOT = path.resolve(import.meta.dirname, '../..')
const STAND_IN = path.join(ROOT, 'test/support/gh-stand-in')
const SHIPPED = readFileSync(path.join(ROOT, 'config/estate.yaml'), 'utf8')

const HEAD = 'a'.repeat(40)
const MERGE = 'b'.repeat(40)

/** A plan as `terraform show -json` prints it (resource_changes[].change.{actions, before, after, after_unknown}). */
function planJson(ingressCidr = '10.3.0.0/16', extra: object[] = []): unknown {
  return {
    format_version: '1.2',
    resource_changes: [
      {
        address: 'aws_s3_bucket.reports',
        type: 'aws_s3_bucket',
        change: {actions: ['create'], before: null, after: {bucket: 'acme-prod-reports', force_destroy: false, tags: {env: 'prod'}}, after_unknown: {arn: true, id: true, tags: {}}},
      },
      {
        address: 'aws_security_group.app',
        type: 'aws_security_group',
        change: {
          actions: ['update'],
          before: {id: 'sg-1', name: 'app', ingress: [{cidr_blocks: ['10.3.0.0/16'], from_port: 443, to_port: 443}]},
          after: {id: 'sg-1', name: 'app', ingress: [{cidr_blocks: [ingressCidr], from_port: 443, to_port: 443}]},
          after_unknown: {ingress: [{cidr_blocks: [false]}]},
        },
      },
      {address: 'aws_vpc.main', type: 'aws_vpc', change: {actions: ['no-op'], before: {cidr_block: '10.3.0.0/16'}, after: {cidr_block: '10.3.0.0/16'}, after_unknown: {}}},
      {address: 'data.aws_caller_identity.current', type: 'aws_caller_identity', change: {actions: ['read'], before: null, after: {}, after_unknown: {account_id: true}}},
      ...extra,
    ],
  }
}

function manifest(plan: unknown): PlanManifest {
  return {
    environment: 'prod',
    accountId: '333333333333',
    createdAt: '2026-12-07T00:00:00Z',
    stacks: [
      {name: 'prod-state', configSha256: 's', planFile: null, summary: null, changes: []},
      {name: 'prod-estate', configSha256: 'e', planFile: 'prod-estate.tfplan', summary: null, changes: planChanges(plan)},
    ],
  }
}

describe('plan changes as data', () => {
  it('keeps addresses, actions and digests of the attributes that change; no values, no no-ops or reads', () => {
    const changes = planChanges(planJson())
    expect(changes.map((change) => [change.address, change.actions])).toEqual([
      ['aws_s3_bucket.reports', ['create']],
      ['aws_security_group.app', ['update']],
    ])
    expect(Object.keys(changes[0].attributes)).toEqual(['arn', 'bucket', 'force_destroy', 'id', 'tags'])
    expect(changes[0].attributes.arn.after).toMatch(/^unknown:/)
    // An update that changes nothing in an attribute does not list it; the values never appear.
    expect(Object.keys(changes[1].attributes)).toEqual([])
    expect(JSON.stringify(changes)).not.toContain('acme-prod-reports')
  })

  it('finds every way two plans differ', () => {
    const reviewed = planChanges(planJson())
    expect(differences(reviewed, planChanges(planJson()))).toEqual([])
    expect(differences(reviewed, planChanges(planJson('0.0.0.0/0')))).toEqual(['aws_security_group.app: ingress changes differently than reviewed'])
    const extra = {address: 'aws_iam_user.backdoor', type: 'aws_iam_user', change: {actions: ['create'], before: null, after: {name: 'x'}, after_unknown: {}}}
    expect(differences(reviewed, planChanges(planJson('10.3.0.0/16', [extra])))).toEqual(['aws_iam_user.backdoor: create was not in the reviewed plan'])
    expect(differences(planChanges(planJson('10.3.0.0/16', [extra])), reviewed)).toEqual(['aws_iam_user.backdoor: the reviewed create is no longer planned'])
    const replaced = planJson() as {resource_changes: {change: {actions: string[]}}[]}
    replaced.resource_changes[1].change.actions = ['delete', 'create']
    expect(differences(reviewed, planChanges(replaced))).toEqual(['aws_security_group.app: reviewed update, now delete+create'])
  })
})

/** A repository served by the gh stand-in, the merged commit's plan in a folder, and the CLI's answer. */
async function checkWith(repository: {pulls: object[]; runs: object[]; artifacts: Record<string, Record<string, string>>}, current = manifest(planJson()), viaCli = false, spelled = 'acme/estate') {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'infra-reviewed-'))
  const estate = path.join(dir, 'estate.yaml')
  writeFileSync(estate, `${SHIPPED}\ndelivery:\n  repository: ${spelled}\n`)
  const state = path.join(dir, 'github.json')
  writeFileSync(state, JSON.stringify({repository: 'acme/estate', ...repository}))
  const replan = path.join(dir, 'replan')
  mkdirSync(replan)
  writeFileSync(path.join(replan, PLAN_MANIFEST), JSON.stringify(current))
  const log = path.join(dir, 'gh.log')
  writeFileSync(log, '')
  const env = {PATH: `${STAND_IN}:${process.env.PATH}`, GH_STANDIN_STATE: state, GH_STANDIN_LOG: log}
  const calls = () => readFileSync(log, 'utf8').trim().split('\n').filter(Boolean).map((line) => JSON.parse(line) as string[])
  if (viaCli) {
    const result = await runCli(['ci', 'check-reviewed', '--env', 'prod', '--commit', MERGE, '--plan-dir', replan, '--estate', estate, '--json'], {env})
    return {exitCode: result.exitCode, stderr: result.stderr, body: JSON.parse(result.stdout), calls: calls()}
  }
  // In this process (the CLI costs seconds a run on the shared machine), with the real gh client on a PATH that finds the stand-in.
  const saved = {...process.env}
  Object.assign(process.env, env)
  try {
    const body = await checkReviewed(loadEstate({file: estate}), 'prod', MERGE, replan, ghReader(spelled))
    return {exitCode: 0, stderr: '', body: body as unknown as Record<string, any>, calls: calls()}
  } catch (error) {
    if (!(error instanceof InfraError)) throw error
    return {exitCode: error.exitCode, stderr: error.message, body: error.toJson() as Record<string, any>, calls: calls()}
  } finally {
    for (const key of Object.keys(env)) delete process.env[key]
    Object.assign(process.env, saved)
  }
}

const pull = (number: number, base: string, merged: boolean) => ({
  number,
  state: merged ? 'closed' : 'open',
  merged_at: merged ? '2026-12-07T01:00:00Z' : null,
  merge_commit_sha: merged ? MERGE : 'c'.repeat(40),
  base: {ref: base, sha: 'd'.repeat(40)},
  head: {ref: 'feature', sha: HEAD},
})
// The run as it was triggered: the stand-in answers its pull_requests as GitHub does (empty once the pull
// request is merged or closed, and for a fork's).
const run = (id: number, pullNumber: number, base: string, created: string, headRepository = 'acme/estate') => ({
  id,
  name: 'infra prod',
  path: '.github/workflows/infra-prod.yml',
  event: 'pull_request',
  status: 'completed',
  conclusion: 'success',
  head_branch: 'feature',
  head_sha: HEAD,
  head_repository: {full_name: headRepository},
  created_at: created,
  run_attempt: 1,
  pull_requests: [{number: pullNumber, head: {ref: 'feature', sha: HEAD}, base: {ref: base, sha: 'd'.repeat(40)}}],
})
const artifact = (plan: PlanManifest) => ({[PLAN_MANIFEST]: JSON.stringify(plan), 'prod-estate.tfplan': 'binary plan, never executed'})
const downloads = (calls: string[][]) => calls.filter((call) => call[0] === 'run' && call[1] === 'download').map((call) => call[2])

describe('infra ci check-reviewed (the apply job\'s guard, against a gh stand-in)', () => {
  it('passes the genuine case: the plan of the pull request merged into main as this commit, with the same changes (the built CLI)', async () => {
    // GitHub no longer links the run to #7 once it is merged: found by its head, workflow and repository.
    const result = await checkWith({pulls: [pull(7, 'main', true)], runs: [run(101, 7, 'main', '2026-12-07T00:30:00Z')], artifacts: {'101/infra-plan-prod': artifact(manifest(planJson()))}}, manifest(planJson()), true)
    expect(result.exitCode, result.stderr).toBe(0)
    expect(result.body).toMatchObject({environment: 'prod', commit: MERGE, pullRequest: 7, runId: 101, runIds: [101], differences: []})
    expect(result.calls[0]).toEqual(['api', '-H', 'Accept: application/vnd.github+json', `repos/acme/estate/commits/${MERGE}/pulls`])
    expect(downloads(result.calls)).toEqual(['101'])
  })

  it('refuses a plan made by a pull request into another branch with the same head, even when it is the newest run', async () => {
    // #8 (same head, into "sandbox", where its own infra-prod.yml runs on pull requests into any branch)
    // uploaded a crafted plan that matches what the merged commit would do plus nothing: still not reviewed for main.
    const forged = await checkWith({
      pulls: [pull(7, 'main', true), pull(8, 'sandbox', false)],
      runs: [run(102, 8, 'sandbox', '2026-12-07T00:40:00Z')],
      artifacts: {'102/infra-plan-prod': artifact(manifest(planJson()))},
    })
    expect(forged.exitCode).toBe(1)
    expect(forged.body.error.code).toBe('PLAN_NOT_REVIEWED')
    expect(forged.body.error.message).toMatch(/pull request #7 has no successful infra-prod.yml plan run/)
    expect(downloads(forged.calls)).toEqual([])

    // With the genuine run there as well, the newer run of #8 is never the one read.
    const both = await checkWith({
      pulls: [pull(7, 'main', true), pull(8, 'sandbox', false)],
      runs: [run(101, 7, 'main', '2026-12-07T00:30:00Z'), run(102, 8, 'sandbox', '2026-12-07T00:40:00Z')],
      artifacts: {'101/infra-plan-prod': artifact(manifest(planJson())), '102/infra-plan-prod': artifact(manifest(planJson('0.0.0.0/0')))},
    })
    expect(both.exitCode, both.stderr).toBe(0)
    expect(downloads(both.calls)).toEqual(['101'])
  })

  it('after the merge, a closed pull request with the same head can stop the apply but never pass one', async () => {
    // #8 into "sandbox" was closed: GitHub lists its run with no pull request, like the genuine one.
    const closed = {...pull(8, 'sandbox', false), state: 'closed'}
    const forgedMatches = await checkWith(
      {
        pulls: [pull(7, 'main', true), closed],
        runs: [run(101, 7, 'main', '2026-12-07T00:30:00Z'), run(102, 8, 'sandbox', '2026-12-07T00:40:00Z')],
        // The merged commit now plans the open ingress; #8's crafted artifact says so, the review did not.
        artifacts: {'101/infra-plan-prod': artifact(manifest(planJson())), '102/infra-plan-prod': artifact(manifest(planJson('0.0.0.0/0')))},
      },
      manifest(planJson('0.0.0.0/0')),
    )
    expect(forgedMatches.exitCode).toBe(1)
    expect(forgedMatches.body.error).toMatchObject({code: 'PLAN_NOT_REVIEWED', details: {runIds: [102, 101], differences: ['run 101: prod-estate: aws_security_group.app: ingress changes differently than reviewed']}})
    expect(downloads(forgedMatches.calls)).toEqual(['102', '101'])
  })

  it('finds the run when the estate spells the repository otherwise than GitHub (names are case-insensitive)', async () => {
    const result = await checkWith({pulls: [pull(7, 'main', true)], runs: [run(101, 7, 'main', '2026-12-07T00:30:00Z')], artifacts: {'101/infra-plan-prod': artifact(manifest(planJson()))}}, manifest(planJson()), false, 'Acme/Estate')
    expect(result.exitCode, result.stderr).toBe(0)
    expect(result.body.runIds).toEqual([101])
  })

  it('leaves out runs of a fork and runs started after the merge', async () => {
    const result = await checkWith({
      pulls: [pull(7, 'main', true)],
      runs: [run(101, 7, 'main', '2026-12-07T00:30:00Z'), run(103, 9, 'main', '2026-12-07T00:50:00Z', 'mallory/estate'), run(104, 7, 'main', '2026-12-07T02:00:00Z')],
      artifacts: {'101/infra-plan-prod': artifact(manifest(planJson()))},
    })
    expect(result.exitCode, result.stderr).toBe(0)
    expect(result.body.runIds).toEqual([101])
    expect(downloads(result.calls)).toEqual(['101'])
  })

  it('refuses when the merged commit plans other changes than the reviewed ones, naming them', async () => {
    const result = await checkWith(
      {pulls: [pull(7, 'main', true)], runs: [run(101, 7, 'main', '2026-12-07T00:30:00Z')], artifacts: {'101/infra-plan-prod': artifact(manifest(planJson()))}},
      manifest(planJson('0.0.0.0/0')),
    )
    expect(result.exitCode).toBe(1)
    expect(result.body.error).toMatchObject({code: 'PLAN_NOT_REVIEWED', details: {pullRequest: 7, differences: ['prod-estate: aws_security_group.app: ingress changes differently than reviewed']}})
    expect(result.body.error.fix).toMatch(/nothing was applied/)
  })

  it('refuses a push that no pull request merged into this branch (a direct push, or a pull request merged elsewhere)', async () => {
    const direct = await checkWith({pulls: [], runs: [], artifacts: {}})
    expect(direct.exitCode).toBe(1)
    expect(direct.body.error.message).toMatch(/is not the merge of a pull request into main/)
    const elsewhere = await checkWith({pulls: [pull(8, 'sandbox', true)], runs: [run(102, 8, 'sandbox', '2026-12-07T00:40:00Z')], artifacts: {'102/infra-plan-prod': artifact(manifest(planJson()))}})
    expect(elsewhere.exitCode).toBe(1)
    expect(elsewhere.body.error.message).toMatch(/#8 into sandbox/)
    expect(downloads(elsewhere.calls)).toEqual([])
  })
})
