import {type Dirent, existsSync, readdirSync} from 'node:fs'
import {createRequire} from 'node:module'
import path from 'node:path'

import {execa} from 'execa'

import {createClient} from '../aws/clients.js'
import {readProtection} from '../delivery/environments.js'
import {ghReader} from '../delivery/reviewed-plan.js'
import {InfraError} from '../errors.js'
import {loadEstate} from '../estate/load.js'
import type {Estate} from '../estate/model.js'
import {findTerraformBinary} from '../terraform/binary.js'

/** What a person is about to do; each check says which of these need it. */
export const PURPOSES = ['provision', 'session', 'tunnel', 'service', 'ci'] as const
export type Purpose = (typeof PURPOSES)[number]

export type CheckStatus = 'ok' | 'missing' | 'warning'

export interface CheckResult {
  id: string
  title: string
  status: CheckStatus
  /** What was found: a version, a path, an identity, or what went wrong. */
  detail: string
  /** How to close the gap; null when there is none. */
  fix: string | null
  /** The purposes that cannot work without this check passing. */
  requiredFor: Purpose[]
}

export interface DoctorReport {
  purpose: Purpose | null
  checks: CheckResult[]
  /** Checks that fail and are required for the purpose (for any purpose when none is given, only those every purpose needs). */
  blocking: string[]
  ok: boolean
  /** Every check that is missing, needed or not: "Ready" is said only when this is empty. */
  missing: string[]
  /** The purposes nothing missing stands in the way of. */
  readyFor: Purpose[]
}

export interface DoctorOptions {
  purpose?: Purpose
  estateFile?: string
  profile?: string
  env?: NodeJS.ProcessEnv
  /** How long the credential check may wait for STS. */
  timeoutMs?: number
}

const MIN_NODE = [20, 19] as const
const MIN_TERRAFORM = [1, 10] as const
/** The AWS CLI passes the StartSession response through the environment above this plugin version. */
const MIN_PLUGIN = '1.2.497.0'

export async function runDoctor(options: DoctorOptions = {}): Promise<DoctorReport> {
  const env = options.env ?? process.env
  const estate = checkEstate(options.estateFile, env)
  const checks: CheckResult[] = [
    checkNode(),
    estate.result,
    await checkCredentials(estate.estate, options.profile, options.timeoutMs ?? 8000),
    await checkTerraform(env),
    checkProviderSource(env),
    await checkTool({
      id: 'session-manager-plugin',
      title: 'Session Manager plugin',
      binary: env.INFRA_SESSION_MANAGER_PLUGIN ?? 'session-manager-plugin',
      versionArgs: ['--version'],
      env,
      requiredFor: ['session', 'tunnel'],
      fix: 'install the Session Manager plugin (AWS docs: "Install the Session Manager plugin for the AWS CLI") or point INFRA_SESSION_MANAGER_PLUGIN at it',
      minimum: MIN_PLUGIN,
    }),
    await checkTool({
      id: 'kubectl',
      title: 'kubectl',
      binary: 'kubectl',
      versionArgs: ['version', '--client', '-o', 'json'],
      env,
      requiredFor: [],
      fix: 'install kubectl (needed for `infra tunnel eks` and deployments to EKS)',
    }),
    await checkTool({
      id: 'psql',
      title: 'psql',
      binary: 'psql',
      versionArgs: ['--version'],
      env,
      requiredFor: [],
      fix: 'install the PostgreSQL client (needed for `infra tunnel db --psql`)',
    }),
    checkSqlite(),
  ]
  // GitHub is asked only when the pipelines are what is being checked.
  if (options.purpose === 'ci') checks.push(...(await checkPipelineEnvironments(estate.estate, env)))
  const purpose = options.purpose ?? null
  const blocking = checks
    .filter((check) => check.status === 'missing')
    .filter((check) => (purpose ? check.requiredFor.includes(purpose) : PURPOSES.every((p) => check.requiredFor.includes(p))))
    .map((check) => check.id)
  const missing = checks.filter((check) => check.status === 'missing')
  const readyFor = decidedPurposes(purpose).filter((p) => !missing.some((check) => check.requiredFor.includes(p)))
  return {purpose, checks, blocking, ok: blocking.length === 0, missing: missing.map((check) => check.id), readyFor}
}

function checkNode(): CheckResult {
  const version = process.versions.node
  const [major, minor] = version.split('.').map(Number)
  const ok = major > MIN_NODE[0] || (major === MIN_NODE[0] && minor >= MIN_NODE[1])
  return {
    id: 'node',
    title: 'Node.js',
    status: ok ? 'ok' : 'missing',
    detail: `v${version}`,
    fix: ok ? null : `install Node.js >= ${MIN_NODE.join('.')} (or use the standalone tarball, which brings its own)`,
    requiredFor: [...PURPOSES],
  }
}

function checkEstate(file: string | undefined, env: NodeJS.ProcessEnv): {estate?: Estate; result: CheckResult} {
  const base = {id: 'estate', title: 'Estate file', requiredFor: ['provision', 'session', 'tunnel', 'ci'] as Purpose[]}
  try {
    const estate = loadEstate({file, env})
    const targets = estate.environments.length + estate.clients.length
    return {estate, result: {...base, status: 'ok', detail: `${estate.source}: ${estate.environments.length} environment(s), ${estate.clients.length} client(s)${targets ? '' : ' (none to act on)'}`, fix: null}}
  } catch (error) {
    if (!(error instanceof InfraError)) throw error
    return {result: {...base, status: 'missing', detail: error.message, fix: error.fix ?? 'fix the estate file (see docs/provisioning.md, "The estate file")'}}
  }
}

async function checkCredentials(estate: Estate | undefined, profile: string | undefined, timeoutMs: number): Promise<CheckResult> {
  const base = {id: 'aws-credentials', title: 'AWS credentials', requiredFor: ['provision', 'session', 'tunnel'] as Purpose[]}
  if (!estate) return {...base, status: 'missing', detail: 'not checked: the estate file could not be read', fix: 'fix the estate file first'}
  try {
    const {STSClient, GetCallerIdentityCommand} = await import('@aws-sdk/client-sts')
    const sts = await createClient(STSClient, {estate, profile, purpose: 'doctor'})
    const identity = await sts.send(new GetCallerIdentityCommand({}), {abortSignal: AbortSignal.timeout(timeoutMs)})
    const arn = identity.Arn ?? 'unknown'
    if (arn.endsWith(':root')) {
      return {...base, status: 'warning', detail: `${arn} (the root user)`, fix: 'use an IAM Identity Center or IAM role session: root credentials cannot assume the estate\'s roles'}
    }
    const managed = identity.Account === estate.organization.managementAccountId
    return {...base, status: 'ok', detail: `${arn} in account ${identity.Account}${managed ? ' (the management account)' : ''}${estate.endpoint ? ` via ${estate.endpoint}` : ''}`, fix: null}
  } catch (error) {
    const err = error as {name?: string; message?: string}
    if (error instanceof InfraError) return {...base, status: 'missing', detail: error.message, fix: error.fix ?? null}
    if (err.name === 'TimeoutError' || err.name === 'AbortError') {
      return {...base, status: 'missing', detail: `STS did not answer within ${timeoutMs / 1000} s${estate.endpoint ? ` at ${estate.endpoint}` : ''}`, fix: 'check the network, proxy settings and AWS_ENDPOINT_URL'}
    }
    return {...base, status: 'missing', detail: `STS GetCallerIdentity failed: ${(err.message ?? String(error)).split('\n')[0]}`, fix: 'refresh your session (aws sso login) or check the profile'}
  }
}

async function checkTerraform(env: NodeJS.ProcessEnv): Promise<CheckResult> {
  const base = {id: 'terraform', title: 'terraform or tofu', requiredFor: ['provision'] as Purpose[]}
  let binary: string
  try {
    binary = findTerraformBinary(undefined, env)
  } catch (error) {
    if (!(error instanceof InfraError)) throw error
    return {...base, status: 'missing', detail: error.message, fix: error.fix ?? null}
  }
  const run = await execa(binary, ['version', '-json'], {reject: false, env, extendEnv: false, timeout: 20_000})
  let version: string | undefined
  try {
    version = (JSON.parse(String(run.stdout)) as {terraform_version?: string}).terraform_version
  } catch {
    version = /v?(\d+\.\d+\.\d+)/.exec(String(run.stdout))?.[1]
  }
  if (!version) return {...base, status: 'missing', detail: `${binary} did not report its version`, fix: 'reinstall terraform >= 1.10 or OpenTofu'}
  const [major, minor] = version.split('.').map(Number)
  const ok = major > MIN_TERRAFORM[0] || (major === MIN_TERRAFORM[0] && minor >= MIN_TERRAFORM[1])
  return {...base, status: ok ? 'ok' : 'missing', detail: `${binary} ${version}`, fix: ok ? null : `upgrade to terraform >= ${MIN_TERRAFORM.join('.')}`}
}

/**
 * `--for ci`: the GitHub environments the apply jobs run in, read back with gh: each must exist,
 * admit only its branch, and have a required reviewer where the estate marks it protected. Otherwise
 * a job on another branch can name it and take the deploy role (see src/delivery/environments.ts).
 */
async function checkPipelineEnvironments(estate: Estate | undefined, env: NodeJS.ProcessEnv): Promise<CheckResult[]> {
  const base = {requiredFor: ['ci'] as Purpose[]}
  if (!estate) return []
  if (!estate.delivery) return [{...base, id: 'ci-delivery', title: 'Delivery settings', status: 'missing', detail: `${estate.source} names no repository to deliver from`, fix: 'add delivery: {repository: owner/name} to the estate, then run `infra init ci`'}]
  const gh = await checkTool({id: 'gh', title: 'GitHub CLI', binary: 'gh', versionArgs: ['--version'], env, requiredFor: ['ci'], fix: 'install the GitHub CLI and log in (gh auth login) with read access to the repository\'s environments'})
  if (gh.status !== 'ok') return [gh]
  const repository = estate.delivery.repository
  try {
    const found = await readProtection(estate, ghReader(repository, env))
    return [
      gh,
      ...found.map((environment) => ({
        ...base,
        id: `ci-environment-${environment.environment}`,
        title: `GitHub environment ${environment.environment}`,
        status: (environment.status === 'protected' ? 'ok' : 'missing') as CheckStatus,
        detail: environment.status === 'protected' ? `${repository}: admits only ${environment.branch}${estate.environments.find((candidate) => candidate.name === environment.environment)?.protected ? ', with required reviewers' : ''}` : `${repository}: ${environment.problems.join('; ')}`,
        fix: environment.status === 'protected' ? null : `run the commands \`infra init ci\` prints for ${environment.environment} (or pass it --configure): its deploy role trusts whoever runs in this environment`,
      })),
    ]
  } catch (error) {
    if (!(error instanceof InfraError)) throw error
    return [gh, {...base, id: 'ci-environments', title: 'GitHub environments', status: 'missing', detail: error.message, fix: error.fix ?? null}]
  }
}

function checkProviderSource(env: NodeJS.ProcessEnv): CheckResult {
  const base = {id: 'provider-source', title: 'hashicorp/aws provider source', requiredFor: [] as Purpose[]}
  const mirror = env.INFRA_TF_PLUGIN_MIRROR
  if (!mirror) {
    const found = findProviderMirror(mirrorRoots(env))
    if (found) {
      return {...base, status: 'warning', detail: `INFRA_TF_PLUGIN_MIRROR is unset; a mirror of hashicorp/aws is at ${found}`, fix: `export INFRA_TF_PLUGIN_MIRROR=${found} (terraform uses the public registry until you do)`}
    }
    return {...base, status: 'warning', detail: 'the public registry (no INFRA_TF_PLUGIN_MIRROR, no mirror found): needs access to registry.terraform.io', fix: 'on an offline machine, point INFRA_TF_PLUGIN_MIRROR (or --plugin-mirror) at a filesystem mirror'}
  }
  const providerDir = path.join(mirror, 'registry.terraform.io', 'hashicorp', 'aws')
  if (!existsSync(providerDir)) {
    return {...base, requiredFor: ['provision'], status: 'missing', detail: `mirror ${mirror} has no registry.terraform.io/hashicorp/aws`, fix: 'lay the mirror out with `terraform providers mirror DIR`, or unset INFRA_TF_PLUGIN_MIRROR'}
  }
  const versions = readdirSync(providerDir).filter((name) => /^\d/.test(name))
  return {...base, status: 'ok', detail: `mirror ${mirror}: hashicorp/aws ${versions.join(', ') || '(no versions)'}`, fix: null}
}

/** Where scripts/provider-mirror.sh looks, in its order. */
function mirrorRoots(env: NodeJS.ProcessEnv): string[] {
  return ['/opt', '/usr/local/share', '/usr/share', ...(env.HOME ? [path.join(env.HOME, '.terraform.d')] : [])]
}

/**
 * The root of a filesystem mirror holding hashicorp/aws under one of the roots, found as
 * scripts/provider-mirror.sh finds it (<root>/registry.terraform.io/hashicorp/aws/<v>/<os_arch>/
 * terraform-provider-aws*), so doctor and the script never disagree. Links are not followed and
 * the walk stops a few levels down: /usr/share is large.
 */
export function findProviderMirror(roots: string[], depth = 4): string | undefined {
  for (const root of roots) {
    const found = searchMirror(root, depth)
    if (found) return found
  }
  return undefined
}

function searchMirror(folder: string, depth: number): string | undefined {
  let entries: Dirent[]
  try {
    entries = readdirSync(folder, {withFileTypes: true})
  } catch {
    return undefined
  }
  const registry = entries.find((entry) => entry.isDirectory() && entry.name === 'registry.terraform.io')
  if (registry && hasAwsProvider(path.join(folder, registry.name, 'hashicorp', 'aws'))) return folder
  if (depth === 0) return undefined
  for (const entry of entries) {
    if (!entry.isDirectory()) continue
    const found = searchMirror(path.join(folder, entry.name), depth - 1)
    if (found) return found
  }
  return undefined
}

function hasAwsProvider(providerDir: string): boolean {
  const list = (dir: string) => {
    try {
      return readdirSync(dir)
    } catch {
      return []
    }
  }
  return list(providerDir).some((version) => list(path.join(providerDir, version)).some((arch) => list(path.join(providerDir, version, arch)).some((file) => file.startsWith('terraform-provider-aws'))))
}

interface ToolCheck {
  id: string
  title: string
  binary: string
  versionArgs: string[]
  env: NodeJS.ProcessEnv
  requiredFor: Purpose[]
  fix: string
  minimum?: string
}

async function checkTool(tool: ToolCheck): Promise<CheckResult> {
  const base = {id: tool.id, title: tool.title, requiredFor: tool.requiredFor}
  const status: CheckStatus = tool.requiredFor.length ? 'missing' : 'warning'
  const run = await execa(tool.binary, tool.versionArgs, {reject: false, env: tool.env, extendEnv: false, timeout: 20_000})
  if (run.failed && (run as {code?: string}).code === 'ENOENT') return {...base, status, detail: `${tool.binary} is not on PATH`, fix: tool.fix}
  if (run.exitCode !== 0) return {...base, status, detail: `${tool.binary} ${tool.versionArgs.join(' ')} exited ${run.exitCode ?? 'on a signal'}`, fix: tool.fix}
  const version = /\d+(\.\d+)+/.exec(String(run.stdout))?.[0] ?? 'unknown version'
  if (tool.minimum && version !== 'unknown version' && compareVersions(version, tool.minimum) < 0) {
    return {...base, status, detail: `${tool.binary} ${version} is older than ${tool.minimum}`, fix: tool.fix}
  }
  return {...base, status: 'ok', detail: `${tool.binary} ${version}`, fix: null}
}

function checkSqlite(): CheckResult {
  const base = {id: 'sqlite', title: 'SQLite driver (embedded service)', requiredFor: ['service'] as Purpose[]}
  try {
    // A native module: a copy built for another Node ABI fails here, not at the first request.
    const require = createRequire(import.meta.url)
    const Database = require('better-sqlite3') as new (file: string) => {close(): void; prepare(sql: string): {get(): unknown}}
    const db = new Database(':memory:')
    const row = db.prepare('select sqlite_version() as v').get() as {v: string}
    db.close()
    return {...base, status: 'ok', detail: `better-sqlite3 with SQLite ${row.v}`, fix: null}
  } catch (error) {
    return {...base, status: 'missing', detail: `better-sqlite3 does not load: ${(error as Error).message.split('\n')[0]}`, fix: 'reinstall infra for this Node version (npm rebuild better-sqlite3)'}
  }
}

/** Compares dotted version numbers numerically: 1.2.497.0 < 1.2.707.0. */
export function compareVersions(a: string, b: string): number {
  const left = a.split('.').map(Number)
  const right = b.split('.').map(Number)
  for (let i = 0; i < Math.max(left.length, right.length); i++) {
    const diff = (left[i] ?? 0) - (right[i] ?? 0)
    if (diff !== 0) return Math.sign(diff)
  }
  return 0
}

/** The purposes a run decides: `ci` only with --for ci, the one run that reads GitHub's environments. */
function decidedPurposes(purpose: Purpose | null): Purpose[] {
  return purpose === 'ci' ? [...PURPOSES] : PURPOSES.filter((p) => p !== 'ci')
}

/** "Ready" only when nothing is missing; otherwise what is ready and what is not, and why. */
export function readiness(report: DoctorReport): string {
  const purpose = report.purpose ? ` for ${report.purpose}` : ''
  if (report.missing.length === 0) return `Ready${purpose}.`
  const missing = `${report.missing.join(', ')} missing`
  if (report.purpose) return `Ready for ${report.purpose} (${missing}: not needed for it).`
  const notReady = decidedPurposes(report.purpose).filter((p) => !report.readyFor.includes(p))
  if (notReady.length === 0) return `Ready for ${decidedPurposes(report.purpose).join(', ')} (${missing}: see the fixes above).`
  return `Not ready for ${notReady.join(', ')} (${missing})${report.readyFor.length ? `; ready for ${report.readyFor.join(', ')}` : ''}.`
}
