import type {DeliverySettings, EnvironmentSpec} from './model.js'

/** The branch each environment deploys from when the estate names none: develop to dev, test to test, main to prod. */
export const DEFAULT_BRANCHES: Record<string, string> = {dev: 'develop', test: 'test', prod: 'main'}

const REPOSITORY = /^[A-Za-z0-9-]{1,39}\/[A-Za-z0-9._-]{1,100}$/
const BRANCH = /^(?!\/|.*\/\/|.*\.\.|.*@\{)[A-Za-z0-9._\/-]{1,200}(?<![./])$/

/**
 * `delivery:` in the estate: the repository whose pipelines change the estate and the branch of
 * each environment. Only environments named here get pipeline roles.
 */
export function parseDelivery(
  raw: unknown,
  environments: EnvironmentSpec[],
  problem: (path: string, problem: string, fix: string) => void,
): DeliverySettings | undefined {
  if (raw === undefined || raw === null) return undefined
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    problem('delivery', 'is not a mapping', 'write delivery: {repository: owner/name} (branches optional)')
    return undefined
  }
  const spec = raw as Record<string, unknown>
  for (const key of Object.keys(spec)) {
    if (!['provider', 'repository', 'branches'].includes(key)) problem(`delivery.${key}`, 'is not a known setting', 'remove it; known: provider, repository, branches')
  }
  const provider = spec.provider ?? 'github'
  if (provider !== 'github') problem('delivery.provider', `"${String(provider)}" is not supported yet`, 'use github')
  const repository = typeof spec.repository === 'string' ? spec.repository : ''
  if (!REPOSITORY.test(repository)) problem('delivery.repository', `"${repository}" is not a GitHub repository`, 'write it as owner/name, e.g. "acme/estate"')

  const names = new Set(environments.map((env) => env.name))
  const branches: Record<string, string> = {}
  if (spec.branches === undefined) {
    for (const [env, branch] of Object.entries(DEFAULT_BRANCHES)) if (names.has(env)) branches[env] = branch
  } else if (typeof spec.branches !== 'object' || spec.branches === null || Array.isArray(spec.branches)) {
    problem('delivery.branches', 'is not a mapping', 'map environment names to branches, e.g. {dev: develop, prod: main}')
  } else {
    const seen = new Map<string, string>()
    for (const [env, branch] of Object.entries(spec.branches as Record<string, unknown>)) {
      if (!names.has(env)) problem(`delivery.branches.${env}`, 'is not an environment', `use one of: ${[...names].join(', ')}`)
      else if (typeof branch !== 'string' || !BRANCH.test(branch)) problem(`delivery.branches.${env}`, `"${String(branch)}" is not a branch name`, 'use a git branch name such as main or release/prod')
      else if (seen.has(branch)) problem(`delivery.branches.${env}`, `"${branch}" already deploys ${seen.get(branch)}`, 'give each environment a branch of its own')
      else {
        seen.set(branch, env)
        branches[env] = branch
      }
    }
  }
  return {provider: 'github', repository, branches}
}
