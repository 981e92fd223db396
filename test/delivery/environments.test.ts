import {existsSync, mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import {execa} from 'execa'
import {describe, expect, it} from 'vitest'
import {parse as parseYaml} from 'yaml'

import {environmentSetups, parseReviewer} from '../../src/delivery/environments.js'
import {runDoctor} from '../../src/doctor/checks.js'
import {parseEstate} from '../../src/estate/load.js'
import {runCli} from '../support/cli.js'

const ROOT = path.resolve(import.meta.dirname, '../..')
const STAND_IN = path.join(ROOT, 'test/support/gh-stand-in')
const SHIPPED = readFileSync(path.join(ROOT, 'config/estate.yaml'), 'utf8')
const ESTATE = `${SHIPPED}\ndelivery:\n  repository: acme/estate\n`
const INTEGRITY = `sha512-${Buffer.alloc(64, 7).toString('base64')}`

/** A repository as the gh stand-in serves it, an estate file, and the environment gh and doctor run with. */
function github(environments: Record<string, unknown> = {}, branchPolicies: Record<string, unknown[]> = {}) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'infra-environments-'))
  const state = path.join(dir, 'github.json')
  writeFileSync(state, JSON.stringify({repository: 'acme/estate', pulls: [], runs: [], users: {alice: 5001}, teams: {'acme/platform': 77}, environments, branchPolicies}))
  const estate = path.join(dir, 'estate.yaml')
  writeFileSync(estate, ESTATE)
  const env: NodeJS.ProcessEnv = {...process.env, PATH: `${STAND_IN}:${process.env.PATH}`, GH_STANDIN_STATE: state, AWS_EC2_METADATA_DISABLED: 'true'}
  return {dir, estate, env, read: () => JSON.parse(readFileSync(state, 'utf8'))}
}

const ciChecks = async (repo: ReturnType<typeof github>) => {
  const report = await runDoctor({purpose: 'ci', estateFile: repo.estate, env: repo.env, timeoutMs: 1000})
  return {report, byId: Object.fromEntries(report.checks.filter((check) => check.requiredFor.includes('ci')).map((check) => [check.id, check]))}
}

describe('GitHub environments of the apply jobs', () => {
  it('prints the exact gh commands: each environment admits only its branch, protected ones need the reviewers named', () => {
    const setups = environmentSetups(parseEstate(parseYaml(ESTATE), 'x'), [parseReviewer('team:acme/platform'), parseReviewer('user:alice')])
    expect(setups.map((setup) => [setup.environment, setup.branch, setup.protected, setup.reviewers.length])).toEqual([
      ['dev', 'develop', false, 0],
      ['test', 'test', false, 0],
      ['prod', 'main', true, 2],
    ])
    expect(setups[2].commands).toEqual([
      'gh api --method PUT repos/acme/estate/environments/prod --input - <<EOF\n{"prevent_self_review": true, "reviewers": [{"type": "Team", "id": $(gh api orgs/acme/teams/platform --jq .id)}, {"type": "User", "id": $(gh api users/alice --jq .id)}], "deployment_branch_policy": {"protected_branches": false, "custom_branch_policies": true}}\nEOF',
      'gh api --method POST repos/acme/estate/environments/prod/deployment-branch-policies -f name=main -f type=branch',
    ])
    expect(() => parseReviewer('alice')).toThrow(/names no user or team/)
  })

  it('the printed commands, run by a person, configure what doctor --for ci then finds protected', async () => {
    const repo = github()
    const before = await ciChecks(repo)
    expect(before.report.ok).toBe(false)
    expect(before.byId['ci-environment-prod'].detail).toMatch(/does not exist/)
    for (const setup of environmentSetups(parseEstate(parseYaml(ESTATE), 'x'), [parseReviewer('user:alice')])) {
      for (const command of setup.commands) await execa('bash', ['-c', command], {env: repo.env})
    }
    expect(repo.read().environments.prod.protection_rules[0]).toMatchObject({type: 'required_reviewers', reviewers: [{type: 'User', reviewer: {id: 5001}}]})
    const after = await ciChecks(repo)
    expect(after.report.blocking).toEqual([])
    expect(after.byId['ci-environment-prod']).toMatchObject({status: 'ok', detail: 'acme/estate: admits only main, with required reviewers'})
  })

  it('init ci --configure runs them (the built CLI)', async () => {
    const repo = github()
    const result = await runCli(['init', 'ci', '--dir', repo.dir, '--estate', repo.estate, '--infra-version', '0.1.0', '--infra-integrity', INTEGRITY, '--reviewer', 'user:alice', '--configure', '--json'], {env: {PATH: repo.env.PATH, GH_STANDIN_STATE: repo.env.GH_STANDIN_STATE}})
    expect(result.exitCode, result.stderr).toBe(0)
    expect(JSON.parse(result.stdout).environments.map((setup: {environment: string; configured: boolean}) => [setup.environment, setup.configured])).toEqual([['dev', true], ['test', true], ['prod', true]])
    expect(repo.read().branchPolicies).toEqual({dev: [expect.objectContaining({name: 'develop'})], test: [expect.objectContaining({name: 'test'})], prod: [expect.objectContaining({name: 'main'})]})
  })

  it('never configures a protected environment without a reviewer: --configure is refused before any file or call, and no command is printed for it', async () => {
    const repo = github({prod: {protection_rules: [{id: 1, type: 'required_reviewers', reviewers: [{type: 'User', reviewer: {id: 5001}}]}], deployment_branch_policy: null}})
    const result = await runCli(['init', 'ci', '--dir', repo.dir, '--estate', repo.estate, '--infra-version', '0.1.0', '--infra-integrity', INTEGRITY, '--configure'], {env: {PATH: repo.env.PATH, GH_STANDIN_STATE: repo.env.GH_STANDIN_STATE}})
    expect(result.exitCode).toBe(2)
    expect(result.stderr.trim()).toBe('Error: --configure would leave prod (protected in the estate) without a required reviewer, removing any it has: name who approves its applies with --reviewer user:LOGIN or --reviewer team:ORG/SLUG (repeatable)')
    // prod keeps its reviewer; no workflow was written.
    expect(repo.read().environments.prod.protection_rules[0].reviewers).toEqual([{type: 'User', reviewer: {id: 5001}}])
    expect(existsSync(path.join(repo.dir, '.github'))).toBe(false)
    const setups = environmentSetups(parseEstate(parseYaml(ESTATE), 'x'), [])
    expect(setups.map((setup) => [setup.environment, setup.commands.length])).toEqual([['dev', 2], ['test', 2], ['prod', 0]])
  })

  it('doctor --for ci says what is unprotected: missing, any branch, another branch too, no reviewer on a protected one', async () => {
    const custom = {protected_branches: false, custom_branch_policies: true}
    const repo = github(
      {
        dev: {protection_rules: [], deployment_branch_policy: null},
        test: {protection_rules: [{type: 'branch_policy'}], deployment_branch_policy: custom},
        prod: {protection_rules: [{type: 'branch_policy'}], deployment_branch_policy: custom},
      },
      {test: [{name: 'test', type: 'branch'}, {name: 'feature/*', type: 'branch'}], prod: [{name: 'main', type: 'branch'}]},
    )
    const {report, byId} = await ciChecks(repo)
    expect(report.ok).toBe(false)
    expect(report.blocking.sort()).toEqual(['ci-environment-dev', 'ci-environment-prod', 'ci-environment-test'])
    expect(byId['ci-environment-dev'].detail).toBe('acme/estate: admits every branch (no deployment branch policy)')
    expect(byId['ci-environment-test'].detail).toBe('acme/estate: also admits branch feature/*')
    expect(byId['ci-environment-prod'].detail).toBe('acme/estate: has no required reviewer, and the estate marks it protected')
    expect(byId['ci-environment-prod'].fix).toMatch(/infra init ci/)
  })

  it('doctor --for ci without gh says so', async () => {
    const repo = github()
    const {report, byId} = await ciChecks({...repo, env: {...repo.env, PATH: '/nonexistent'}})
    expect(report.blocking).toContain('gh')
    expect(byId.gh.detail).toBe('gh is not on PATH')
  })
})
