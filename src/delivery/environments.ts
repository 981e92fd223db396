import {execa} from 'execa'

import type {Estate} from '../estate/model.js'
import {InfraError} from '../errors.js'
import type {GitHubReader} from './reviewed-plan.js'

/**
 * The GitHub environments the apply jobs name. A deploy role trusts only `environment:<env>`, and
 * GitHub creates an environment, unprotected, the first time a job names it: so each must exist with
 * a deployment branch policy admitting only its branch (else a job on any branch can name it and
 * take the deploy role) and, where the estate marks it protected, required reviewers.
 *
 * REST API, as documented:
 * - "Create or update an environment" PUT /repos/{owner}/{repo}/environments/{environment_name}
 *   {prevent_self_review, reviewers: [{type: User|Team, id}], deployment_branch_policy:
 *   {protected_branches: false, custom_branch_policies: true}}
 *   (https://docs.github.com/en/rest/deployments/environments#create-or-update-an-environment)
 * - "Create a deployment branch policy" POST .../environments/{environment_name}/deployment-branch-policies
 *   {name, type: branch} (https://docs.github.com/en/rest/deployments/branch-policies)
 */

/** `user:LOGIN` or `team:ORG/SLUG`, as --reviewer takes them. */
export interface Reviewer {
  type: 'User' | 'Team'
  name: string
}

export function parseReviewer(spec: string): Reviewer {
  const user = /^user:([A-Za-z0-9-]{1,39})$/.exec(spec)
  if (user) return {type: 'User', name: user[1]}
  const team = /^team:([A-Za-z0-9-]{1,39})\/([A-Za-z0-9._-]{1,100})$/.exec(spec)
  if (team) return {type: 'Team', name: `${team[1]}/${team[2]}`}
  throw new InfraError(`--reviewer "${spec}" names no user or team`, 'write user:LOGIN or team:ORG/SLUG', 'BAD_REVIEWER', 2)
}

export interface EnvironmentSetup {
  environment: string
  branch: string
  protected: boolean
  reviewers: Reviewer[]
  /**
   * The gh commands that configure it, to run as they are. None for a protected environment without
   * a reviewer: the PUT sets the whole environment, and one with no reviewers would remove those it has.
   */
  commands: string[]
}

/** The id lookup of a reviewer, as a shell substitution (GET /users/{login}, GET /orgs/{org}/teams/{slug}). */
const idLookup = (reviewer: Reviewer) => (reviewer.type === 'User' ? `$(gh api users/${reviewer.name} --jq .id)` : `$(gh api orgs/${reviewer.name.replace('/', '/teams/')} --jq .id)`)

export function environmentSetups(estate: Estate, reviewers: Reviewer[]): EnvironmentSetup[] {
  const delivery = estate.delivery!
  return Object.entries(delivery.branches).map(([name, branch]) => {
    const env = estate.environments.find((candidate) => candidate.name === name)!
    const own = env.protected ? reviewers : []
    const body = (ids: string[]) =>
      `{"prevent_self_review": ${env.protected}, "reviewers": [${own.map((reviewer, index) => `{"type": "${reviewer.type}", "id": ${ids[index]}}`).join(', ')}], "deployment_branch_policy": {"protected_branches": false, "custom_branch_policies": true}}`
    const base = `repos/${delivery.repository}/environments/${name}`
    return {
      environment: name,
      branch,
      protected: env.protected,
      reviewers: own,
      commands: env.protected && own.length === 0 ? [] : [
        `gh api --method PUT ${base} --input - <<EOF\n${body(own.map(idLookup))}\nEOF`,
        `gh api --method POST ${base}/deployment-branch-policies -f name=${branch} -f type=branch`,
      ],
    }
  })
}

export type ProtectionStatus = 'protected' | 'unprotected' | 'missing'

export interface EnvironmentProtection {
  environment: string
  branch: string
  status: ProtectionStatus
  /** What is wrong, one phrase each; empty when protected as it should be. */
  problems: string[]
}

interface GitHubEnvironment {
  protection_rules?: {type: string; reviewers?: unknown[]}[]
  deployment_branch_policy?: {protected_branches: boolean; custom_branch_policies: boolean} | null
}

/**
 * Reads each environment back ("Get an environment", "List deployment branch policies") and says
 * what leaves its deploy role open: no environment, any branch admitted, another branch admitted,
 * no reviewer where the estate says protected.
 */
export async function readProtection(estate: Estate, github: GitHubReader): Promise<EnvironmentProtection[]> {
  const delivery = estate.delivery!
  const results: EnvironmentProtection[] = []
  for (const [name, branch] of Object.entries(delivery.branches)) {
    const env = estate.environments.find((candidate) => candidate.name === name)!
    const base = `repos/${delivery.repository}/environments/${name}`
    const found = (await getOrNull(github, base)) as GitHubEnvironment | null
    if (!found) {
      results.push({environment: name, branch, status: 'missing', problems: ['does not exist: the first job that names it creates it unprotected']})
      continue
    }
    const problems: string[] = []
    const policy = found.deployment_branch_policy
    if (!policy) problems.push('admits every branch (no deployment branch policy)')
    else if (policy.protected_branches) problems.push('admits every protected branch, not only its own')
    else {
      const listed = (await github.get(`${base}/deployment-branch-policies`)) as {branch_policies: {name: string; type?: string}[]}
      const names = listed.branch_policies.map((rule) => rule.name)
      if (!names.includes(branch)) problems.push(`does not admit ${branch}`)
      const others = listed.branch_policies.filter((rule) => rule.name !== branch)
      if (others.length > 0) problems.push(`also admits ${others.map((rule) => `${rule.type ?? 'branch'} ${rule.name}`).join(', ')}`)
    }
    const reviewers = (found.protection_rules ?? []).filter((rule) => rule.type === 'required_reviewers').flatMap((rule) => rule.reviewers ?? [])
    if (env.protected && reviewers.length === 0) problems.push('has no required reviewer, and the estate marks it protected')
    results.push({environment: name, branch, status: problems.length ? 'unprotected' : 'protected', problems})
  }
  return results
}

async function getOrNull(github: GitHubReader, apiPath: string): Promise<unknown> {
  try {
    return await github.get(apiPath)
  } catch (error) {
    if (error instanceof InfraError && (error.details as {status?: number} | null)?.status === 404) return null
    throw error
  }
}

/** Runs the printed commands as they are (bash, gh), so what is run is what a person would have run. */
/** Refuses, before anything is written, to configure a protected environment without a reviewer. */
export function requireReviewers(setups: EnvironmentSetup[]): void {
  const bare = setups.filter((setup) => setup.protected && setup.reviewers.length === 0).map((setup) => setup.environment)
  if (bare.length > 0) {
    throw new InfraError(
      `--configure would leave ${bare.join(', ')} (protected in the estate) without a required reviewer, removing any it has`,
      'name who approves its applies with --reviewer user:LOGIN or --reviewer team:ORG/SLUG (repeatable)',
      'REVIEWER_REQUIRED',
      2,
    )
  }
}

export async function configureEnvironment(setup: EnvironmentSetup): Promise<void> {
  for (const command of setup.commands) {
    const result = await execa('bash', ['-c', command], {reject: false})
    if (result.exitCode !== 0) {
      throw new InfraError(`configuring the GitHub environment ${setup.environment} failed: ${result.stderr.trim().split('\n')[0]}`, 'check that gh is logged in with admin rights on the repository, or run the commands `infra init ci` prints', 'GH_FAILED')
    }
  }
}
