// A stand-in for the GitHub CLI (`gh`), for tests: it answers the calls infra makes the way
// GitHub's REST API and gh do, from a repository described in the JSON file named by
// GH_STANDIN_STATE, and appends every call to GH_STANDIN_LOG.
//
// The state: {repository, pulls: [...], runs: [...], artifacts: {"<runId>/<name>": {"file": "content"}},
//             environments: {"<name>": {...}}, branchPolicies: {"<name>": [...]}}
//
// Behaviour copied from GitHub's documentation:
// - GET /repos/{owner}/{repo}/commits/{commit_sha}/pulls ("List pull requests associated with a commit",
//   https://docs.github.com/en/rest/commits/commits#list-pull-requests-associated-with-a-commit): the pull
//   requests whose commits include the commit, merged or open; a merged pull request is associated with its
//   merge commit as well as its head.
// - GET /repos/{owner}/{repo}/actions/workflows/{workflow_id}/runs ("List workflow runs for a workflow",
//   https://docs.github.com/en/rest/actions/workflow-runs#list-workflow-runs-for-a-workflow): workflow_id may
//   be the file name; filters event, head_sha, branch and status, where status takes a conclusion such as
//   success as well as a status such as completed; answers {total_count, workflow_runs}. Each run's
//   pull_requests lists only the pull requests that triggered it and are still OPEN and from this
//   repository: GitHub empties it once the pull request is merged or closed (reproduced by GitHub staff in
//   con/tinuous issue 28: "the field then becomes empty once the PR is merged or closed") and leaves it
//   empty for a fork's pull request (github/docs issue 22501). A run's head_repository is the repository
//   its head commit came from (the fork's, for a fork's pull request).
// - GET /repos/{owner}/{repo}/environments/{environment_name} ("Get an environment",
//   https://docs.github.com/en/rest/deployments/environments#get-an-environment): 404 when it does not exist;
//   protection_rules [{type: required_reviewers, reviewers: [...]}, {type: branch_policy}, ...] and
//   deployment_branch_policy {protected_branches, custom_branch_policies} or null.
// - GET .../environments/{environment_name}/deployment-branch-policies ("List deployment branch policies",
//   https://docs.github.com/en/rest/deployments/branch-policies): {total_count, branch_policies: [{name, type}]}.
// - gh api prints the body and exits 1 with "gh: Not Found (HTTP 404)" on stderr for a 404
//   (https://cli.github.com/manual/gh_api).
// - PUT /repos/{owner}/{repo}/environments/{environment_name} ("Create or update an environment"): body
//   {prevent_self_review, reviewers: [{type, id}], deployment_branch_policy}; the answer's protection_rules hold
//   {type: required_reviewers, prevent_self_review, reviewers: [{type, reviewer: {...}}]} when reviewers are given and
//   {type: branch_policy} when a deployment branch policy is set.
// - POST .../environments/{environment_name}/deployment-branch-policies ("Create a deployment branch policy"):
//   {name, type}; 404 when the environment's policy is not custom_branch_policies.
// - GET /users/{username} and GET /orgs/{org}/teams/{team_slug}: objects with an id.
// - gh api: -f/--raw-field key=value fields make the request a POST unless -X says otherwise, --input -
//   reads the body from stdin, --jq FILTER filters the answer (only `.id` is served here).
// - gh run download RUN_ID --name NAME --dir DIR (https://cli.github.com/manual/gh_run_download) extracts
//   the named artifact into DIR; a name the run does not have is "no artifact matches any of the names or
//   patterns provided", exit 1.
import {appendFileSync, mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import path from 'node:path'

const state = JSON.parse(readFileSync(process.env.GH_STANDIN_STATE, 'utf8'))
const args = process.argv.slice(2)
if (process.env.GH_STANDIN_LOG) appendFileSync(process.env.GH_STANDIN_LOG, `${JSON.stringify(args)}\n`)

function fail(message, code = 1) {
  process.stderr.write(`${message}\n`)
  process.exit(code)
}

function option(name) {
  const index = args.indexOf(name)
  return index >= 0 ? args[index + 1] : undefined
}

function notFound() {
  process.stdout.write(JSON.stringify({message: 'Not Found', documentation_url: 'https://docs.github.com/rest', status: '404'}))
  fail('gh: Not Found (HTTP 404)')
}

function api() {
  // The endpoint is the one argument that is neither a flag nor a flag's value.
  const valued = new Set(['-H', '--header', '-X', '--method', '-f', '-F', '--field', '--raw-field', '--jq', '-q', '--input'])
  const rest = []
  for (let i = 1; i < args.length; i++) {
    if (valued.has(args[i])) i++
    else if (!args[i].startsWith('-')) rest.push(args[i])
  }
  const fields = {}
  args.forEach((arg, i) => {
    if (['-f', '--raw-field', '-F', '--field'].includes(arg)) {
      const [key, ...value] = args[i + 1].split('=')
      fields[key] = value.join('=')
    }
  })
  const method = (option('-X') ?? option('--method') ?? (Object.keys(fields).length ? 'POST' : 'GET')).toUpperCase()
  const body = option('--input') === '-' ? JSON.parse(readFileSync(0, 'utf8')) : fields
  const url = new URL(rest[0].replace(/^\//, ''), 'https://api.github.com/')
  const parts = url.pathname.split('/').filter(Boolean)
  if (parts[0] === 'users' && state.users?.[parts[1]]) return print({login: parts[1], id: state.users[parts[1]]})
  if (parts[0] === 'orgs' && parts[2] === 'teams' && state.teams?.[`${parts[1]}/${parts[3]}`]) return print({slug: parts[3], id: state.teams[`${parts[1]}/${parts[3]}`]})
  const repository = `${parts[1]}/${parts[2]}`
  // Owner and repository names in paths are case-insensitive; answers carry the canonical spelling.
  if (parts[0] !== 'repos' || repository.toLowerCase() !== state.repository.toLowerCase()) notFound()
  const tail = parts.slice(3)
  if (method === 'PUT' && tail[0] === 'environments' && tail.length === 2) {
    const rules = []
    if ((body.reviewers ?? []).length) rules.push({id: 1, type: 'required_reviewers', prevent_self_review: Boolean(body.prevent_self_review), reviewers: body.reviewers.map((r) => ({type: r.type, reviewer: {id: r.id}}))})
    if (body.deployment_branch_policy) rules.push({id: 2, type: 'branch_policy'})
    state.environments = {...state.environments, [tail[1]]: {protection_rules: rules, deployment_branch_policy: body.deployment_branch_policy ?? null}}
    save()
    return print({name: tail[1], ...state.environments[tail[1]]})
  }
  if (method === 'POST' && tail[0] === 'environments' && tail[2] === 'deployment-branch-policies') {
    if (!state.environments?.[tail[1]]?.deployment_branch_policy?.custom_branch_policies) notFound()
    const policies = (state.branchPolicies ??= {})[tail[1]] ??= []
    if (!policies.some((policy) => policy.name === body.name)) policies.push({id: policies.length + 1, name: body.name, type: body.type ?? 'branch'})
    save()
    return print(policies.find((policy) => policy.name === body.name))
  }
  if (method !== 'GET') fail(`gh stand-in: ${method} ${url.pathname} is not served`)

  if (tail[0] === 'commits' && tail[2] === 'pulls') {
    const sha = tail[1]
    const pulls = state.pulls.filter((pull) => pull.head.sha === sha || pull.merge_commit_sha === sha || (pull.commits ?? []).includes(sha))
    return print(pulls.map(({commits, ...pull}) => pull))
  }
  if (tail[0] === 'actions' && tail[1] === 'workflows' && tail[3] === 'runs') {
    const file = tail[2]
    const q = url.searchParams
    const status = q.get('status')
    const runs = state.runs
      .filter((run) => run.path === `.github/workflows/${file}`)
      .filter((run) => !q.get('event') || run.event === q.get('event'))
      .filter((run) => !q.get('head_sha') || run.head_sha === q.get('head_sha'))
      .filter((run) => !q.get('branch') || run.head_branch === q.get('branch'))
      .filter((run) => !status || run.status === status || run.conclusion === status)
      .sort((a, b) => b.created_at.localeCompare(a.created_at))
      .map((run) => ({
        ...run,
        head_repository: {full_name: run.head_repository?.full_name ?? state.repository},
        pull_requests: (run.pull_requests ?? []).filter((linked) => {
          const pull = state.pulls.find((candidate) => candidate.number === linked.number)
          return pull && pull.state === 'open' && (pull.head.repo?.full_name ?? state.repository) === state.repository
        }),
      }))
    return print({total_count: runs.length, workflow_runs: runs})
  }
  if (tail[0] === 'environments' && tail.length === 2) {
    const environment = state.environments?.[tail[1]]
    if (!environment) notFound()
    return print({name: tail[1], ...environment})
  }
  if (tail[0] === 'environments' && tail[2] === 'deployment-branch-policies') {
    if (!state.environments?.[tail[1]]) notFound()
    const policies = state.branchPolicies?.[tail[1]] ?? []
    return print({total_count: policies.length, branch_policies: policies})
  }
  notFound()
}

function print(body) {
  const jq = option('--jq') ?? option('-q')
  if (jq === '.id') return process.stdout.write(`${body.id}\n`)
  if (jq) fail(`gh stand-in: --jq ${jq} is not served`)
  process.stdout.write(`${JSON.stringify(body)}\n`)
}

function save() {
  writeFileSync(process.env.GH_STANDIN_STATE, JSON.stringify(state))
}

function runDownload() {
  const runId = args[2]
  const name = option('--name') ?? option('-n')
  const dir = option('--dir') ?? option('-D') ?? '.'
  const files = state.artifacts?.[`${runId}/${name}`]
  if (!files) fail('no artifact matches any of the names or patterns provided')
  for (const [file, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, file)), {recursive: true})
    writeFileSync(path.join(dir, file), content)
  }
}

if (args[0] === '--version') process.stdout.write('gh version 2.63.0 (stand-in)\n')
else if (args[0] === 'api') api()
else if (args[0] === 'run' && args[1] === 'download') runDownload()
else fail(`gh stand-in: ${args.join(' ')} is not served`)
