import {mkdtempSync, readFileSync, rmSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import {execa} from 'execa'

import type {Estate} from '../estate/model.js'
import {InfraError} from '../errors.js'
import {PLAN_MANIFEST, type PlanManifest} from '../provision/provision.js'
import {differences} from './plan-changes.js'

/**
 * The apply job's guard. A push to an environment's branch never runs a binary plan made by a
 * pull-request run: it plans again, on the merged commit and with the deploy role, and applies that
 * plan only when its changes are the ones shown on the pull request that was merged into this branch
 * as this very commit. The pull request's artifact is only read as data (addresses, actions,
 * digests of the attributes that change), so a crafted artifact can at worst stop an apply.
 */

/** The slice of GitHub's REST API the guard reads; `gh` in the pipeline, a stand-in in the tests. */
export interface GitHubReader {
  get(apiPath: string): Promise<unknown>
  /** Downloads one named artifact of a workflow run into dir. */
  downloadArtifact(runId: number, name: string, dir: string): Promise<void>
}

/** `gh`, authenticated by GH_TOKEN (the job's token with actions: read and pull-requests: read). */
export function ghReader(repository: string, env: NodeJS.ProcessEnv = process.env): GitHubReader {
  const gh = async (args: string[]) => {
    const result = await execa('gh', args, {reject: false, env, extendEnv: false}).catch((error: Error) => {
      throw new InfraError(`cannot run gh: ${error.message}`, 'install the GitHub CLI (preinstalled on GitHub-hosted runners) and set GH_TOKEN', 'GH_UNAVAILABLE')
    })
    if (result.exitCode !== 0) {
      // gh api says "gh: Not Found (HTTP 404)" for a status that is not 2xx.
      const said = result.stderr.trim().split('\n')[0]
      const status = Number(/\(HTTP (\d{3})\)/.exec(said)?.[1] ?? 0) || null
      throw new InfraError(`gh ${args.slice(0, 2).join(' ')} failed: ${said}`, 'check GH_TOKEN and its permissions (actions: read, pull-requests: read; administration: read for environments)', 'GH_FAILED', 1, {status})
    }
    return result.stdout
  }
  return {
    get: async (apiPath) => JSON.parse(await gh(['api', '-H', 'Accept: application/vnd.github+json', apiPath])) as unknown,
    downloadArtifact: async (runId, name, dir) => void (await gh(['run', 'download', String(runId), '--repo', repository, '--name', name, '--dir', dir])),
  }
}

// Fields as GitHub documents them: "List pull requests associated with a commit"
// (https://docs.github.com/en/rest/commits/commits#list-pull-requests-associated-with-a-commit) returns
// pull requests with number, merged_at, merge_commit_sha, base.ref and head.sha; "List workflow runs for a
// workflow" (https://docs.github.com/en/rest/actions/workflow-runs#list-workflow-runs-for-a-workflow) takes
// event, head_sha and status and returns workflow_runs with id, event, status, conclusion, head_sha,
// head_repository {full_name}, created_at, run_attempt and pull_requests[] ({number, head: {ref, sha},
// base: {ref, sha}}). A run's pull_requests lists only OPEN pull requests of the same repository: GitHub
// empties it once the pull request is merged or closed (reproduced by GitHub staff, con/tinuous issue 28)
// and never fills it for a fork's pull request (github/docs issue 22501). The guard runs after the merge,
// so it cannot rely on it.
interface PullRequest {
  number: number
  merged_at: string | null
  merge_commit_sha: string | null
  base: {ref: string}
  head: {sha: string}
}

interface WorkflowRun {
  id: number
  event: string
  status: string | null
  conclusion: string | null
  head_sha: string
  head_repository?: {full_name: string} | null
  created_at: string
  pull_requests?: {number: number; base: {ref: string}}[]
}

export interface ReviewedRun {
  pullRequest: number
  headSha: string
  /** The newest candidate run. */
  runId: number
  /** Every run that may be the pull request's plan, newest first: all must agree with the new plan. */
  runIds: number[]
}

export interface ReviewedRunQuery {
  repository: string
  branch: string
  /** The pushed commit: the merge (or squash, or last rebased) commit of the reviewed pull request. */
  commit: string
  /** The environment's workflow file name, e.g. infra-prod.yml. */
  workflow: string
}

/** The pull request merged into this branch as this commit, and its newest successful plan run for this base. */
export async function findReviewedRun(github: GitHubReader, query: ReviewedRunQuery): Promise<ReviewedRun> {
  const {repository, branch, commit, workflow} = query
  const pulls = (await github.get(`repos/${repository}/commits/${commit}/pulls`)) as PullRequest[]
  // Another pull request may share the head (into another branch, with its own workflow file): only
  // the one GitHub merged into this branch, producing exactly this commit, was reviewed for it.
  const merged = pulls.filter((pull) => pull.merged_at && pull.base.ref === branch && pull.merge_commit_sha === commit)
  if (merged.length !== 1) {
    throw notReviewed(
      `${commit.slice(0, 12)} is not the merge of a pull request into ${branch}${pulls.length ? ` (associated: ${pulls.map((pull) => `#${pull.number} into ${pull.base.ref}${pull.merged_at ? '' : ', not merged'}`).join('; ')})` : ''}`,
      `change ${branch} through a pull request; a direct push is never applied`,
    )
  }
  const [pull] = merged
  const listed = (await github.get(`repos/${repository}/actions/workflows/${workflow}/runs?event=pull_request&head_sha=${pull.head.sha}&status=success&per_page=100`)) as {workflow_runs: WorkflowRun[]}
  const runs = listed.workflow_runs
    .filter((run) => run.event === 'pull_request' && run.head_sha === pull.head.sha && run.status === 'completed' && run.conclusion === 'success')
    .filter((run) => mayBeThePullRequests(run, pull, repository, branch))
    .sort((a, b) => b.created_at.localeCompare(a.created_at) || b.id - a.id)
  if (runs.length === 0) {
    throw notReviewed(`pull request #${pull.number} has no successful ${workflow} plan run for its last commit ${pull.head.sha.slice(0, 12)} into ${branch}`, 'rerun the plan on the pull request and merge again, or plan and apply by hand')
  }
  return {pullRequest: pull.number, headSha: pull.head.sha, runId: runs[0].id, runIds: runs.map((run) => run.id)}
}

/**
 * Whether a run of this workflow for the pull request's head may be its plan. After the merge GitHub no
 * longer links runs to the pull request (see above), so a run of another pull request with the same head
 * (into another branch, whose own copy of this workflow file may do anything) can look the same: every run
 * kept here must agree with the new plan (checkReviewed), so such a run can stop an apply, never pass one.
 * Runs are dropped only on evidence: from another repository (a fork's run, with its own workflow file),
 * started after the merge, or linked to another open pull request.
 */
function mayBeThePullRequests(run: WorkflowRun, pull: PullRequest, repository: string, branch: string): boolean {
  // GitHub answers the repository's canonical name; names are case-insensitive, and the estate may spell it otherwise.
  if (run.head_repository?.full_name?.toLowerCase() !== repository.toLowerCase()) return false
  if (pull.merged_at && run.created_at > pull.merged_at) return false
  const linked = run.pull_requests ?? []
  return linked.length === 0 || linked.some((other) => other.number === pull.number && other.base.ref === branch)
}

export interface ReviewCheck {
  environment: string
  commit: string
  pullRequest: number
  runId: number
  runIds: number[]
  stacks: {name: string; changes: number}[]
  differences: string[]
}

/**
 * Finds the reviewed plan, downloads its artifact and compares it with the plan made now (planDir,
 * written by `provision --plan-only`). Throws PLAN_NOT_REVIEWED unless the changes are the same.
 */
export async function checkReviewed(estate: Estate, envName: string, commit: string, planDir: string, github: GitHubReader): Promise<ReviewCheck> {
  const delivery = estate.delivery
  const branch = delivery?.branches[envName]
  if (!delivery || !branch) throw new InfraError(`the estate delivers no branch to ${envName}`, 'name it in the estate\'s delivery.branches', 'NO_DELIVERY_SETTINGS', 2)
  const reviewed = await findReviewedRun(github, {repository: delivery.repository, branch, commit, workflow: `infra-${envName}.yml`})
  const current = readManifest(planDir, 'the plan of the merged commit')
  const found: string[] = []
  for (const runId of reviewed.runIds) {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'infra-reviewed-'))
    try {
      await github.downloadArtifact(runId, `infra-plan-${envName}`, dir)
      const said = compareManifests(readManifest(dir, `the plan of run ${runId}`), current)
      found.push(...(reviewed.runIds.length > 1 ? said.map((line) => `run ${runId}: ${line}`) : said))
    } finally {
      rmSync(dir, {recursive: true, force: true})
    }
  }
  const result: ReviewCheck = {
    environment: envName,
    commit,
    pullRequest: reviewed.pullRequest,
    runId: reviewed.runId,
    runIds: reviewed.runIds,
    stacks: current.stacks.map((stack) => ({name: stack.name, changes: stack.changes?.length ?? 0})),
    differences: found,
  }
  if (found.length > 0) {
    throw new InfraError(
      `the plan of ${commit.slice(0, 12)} is not the one reviewed on pull request #${reviewed.pullRequest}: ${found.join('; ')}`,
      'nothing was applied; plan again on a pull request (the estate or the state changed since the review) and merge that',
      'PLAN_NOT_REVIEWED',
      1,
      result,
    )
  }
  return result
}

function readManifest(dir: string, what: string): PlanManifest {
  try {
    return JSON.parse(readFileSync(path.join(dir, PLAN_MANIFEST), 'utf8')) as PlanManifest
  } catch {
    throw notReviewed(`${what} has no readable ${PLAN_MANIFEST} in ${dir}`, 'plan with `infra provision --plan-only --plan-dir DIR` and pass that folder')
  }
}

/** Same environment, same stacks, and for each stack the same changes; one line per difference. */
export function compareManifests(reviewed: PlanManifest, current: PlanManifest): string[] {
  if (reviewed.environment !== current.environment || reviewed.accountId !== current.accountId) {
    return [`the reviewed plan is for ${reviewed.environment} (${reviewed.accountId}), not ${current.environment} (${current.accountId})`]
  }
  const found: string[] = []
  for (const stack of current.stacks) {
    const before = reviewed.stacks.find((candidate) => candidate.name === stack.name)
    if (!before) {
      found.push(`${stack.name} was not in the reviewed plan`)
      continue
    }
    // Planned before its state bucket existed: nothing could be compared then, nor now.
    if (stack.waitsForBootstrap || before.waitsForBootstrap) {
      if (!stack.waitsForBootstrap || !before.waitsForBootstrap) found.push(`${stack.name} could not be planned on both sides (its state bucket did not exist on one)`)
      continue
    }
    if (!before.changes || !stack.changes) {
      found.push(`${stack.name} has no changes recorded as data in ${before.changes ? 'the new' : 'the reviewed'} plan (made by an older infra)`)
      continue
    }
    found.push(...differences(before.changes, stack.changes).map((line) => `${stack.name}: ${line}`))
  }
  return found
}

function notReviewed(message: string, fix: string): InfraError {
  return new InfraError(message, fix, 'PLAN_NOT_REVIEWED')
}
