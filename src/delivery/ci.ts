import {createHash} from 'node:crypto'
import {existsSync, mkdirSync, readFileSync, renameSync, writeFileSync} from 'node:fs'
import {createRequire} from 'node:module'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

import {InfraError} from '../errors.js'
import type {Estate} from '../estate/model.js'
import {pinActions} from './pins.js'

export const CI_PROVIDERS = ['github'] as const
export type CiProvider = (typeof CI_PROVIDERS)[number]

const TEMPLATES = fileURLToPath(new URL('../../templates/ci/', import.meta.url))
/** The terraform the pipelines install: the version this repository's tests run. */
export const PIPELINE_TERRAFORM_VERSION = '1.11.4'
export const PIPELINE_NODE_VERSION = '20.19'
/** The Trivy the scans install: a release from before the March 2026 compromise (v0.69.4 was the malicious one). */
export const PIPELINE_TRIVY_VERSION = 'v0.69.3'
const HASH_LINE = /^# infra-template-sha256: ([0-9a-f]{64})\n/m

export interface PipelineFile {
  /** Relative to the repository root. */
  path: string
  environment: string
  content: string
}

/** The aws provider version the stacks pin, so the pipeline's provider cache key follows upgrades. */
export function pinnedAwsProviderVersion(): string {
  const require = createRequire(import.meta.url)
  const pkg = require('@cdktf/provider-aws/package.json') as {cdktf: {provider: {version: string}}}
  return pkg.cdktf.provider.version
}

/** The infra the pipelines install: a published version, and the integrity of its tarball (npm's `dist.integrity`). */
export interface PipelineTool {
  name: string
  version: string
  integrity: string
}

const INTEGRITY = /^sha512-[A-Za-z0-9+/]{86}==$/

/** This infra's own name and version: the pipelines run what wrote them. */
export function runningInfra(): {name: string; version: string} {
  const require = createRequire(import.meta.url)
  const pkg = require('../../package.json') as {name: string; version: string}
  return {name: pkg.name, version: pkg.version}
}

/** One workflow per environment the estate's delivery settings name, rendered from the shipped template. */
export function renderPipelines(estate: Estate, tool: PipelineTool, estateFile: string, provider: CiProvider = 'github'): PipelineFile[] {
  if (!INTEGRITY.test(tool.integrity)) {
    throw new InfraError(`"${tool.integrity}" is not the sha512 integrity of an npm tarball`, `pass --infra-integrity with the value of \`npm view ${tool.name}@${tool.version} dist.integrity\` (sha512-...)`, 'BAD_INTEGRITY', 2)
  }
  const delivery = estate.delivery
  if (!delivery) {
    throw new InfraError(
      `the estate (${estate.source}) names no repository to deliver from`,
      'add `delivery: {repository: owner/name}` to the estate (branches default to develop -> dev, test -> test, main -> prod), provision the environments so their pipeline roles exist, then run this again',
      'NO_DELIVERY_SETTINGS',
    )
  }
  const template = readFileSync(path.join(TEMPLATES, provider, 'infra-environment.yml'), 'utf8')
  const prefix = estate.organization.name
  return Object.entries(delivery.branches).map(([envName, branch]) => {
    const env = estate.environments.find((candidate) => candidate.name === envName)!
    const values: Record<string, string> = {
      env: env.name,
      branch,
      accountId: env.accountId,
      region: env.region,
      planRole: `${prefix}-${env.name}-pipeline-plan`,
      deployRole: `${prefix}-${env.name}-pipeline-deploy`,
      nodeVersion: PIPELINE_NODE_VERSION,
      terraformVersion: PIPELINE_TERRAFORM_VERSION,
      trivyVersion: PIPELINE_TRIVY_VERSION,
      awsProviderVersion: pinnedAwsProviderVersion(),
      infraPackage: `${tool.name}@${tool.version}`,
      infraIntegrity: tool.integrity,
      installInfra: installInfraScript(),
      estateFile,
    }
    const body = pinActions(fillTemplate(template, values))
    return {path: `.github/workflows/infra-${env.name}.yml`, environment: env.name, content: withHash(body)}
  })
}

/**
 * The one script by which every job of a pipeline installs infra (INFRA_PACKAGE at INFRA_INTEGRITY,
 * set by the workflow): the tarball is downloaded and compared with the pinned integrity before
 * anything of it runs; its package scripts are deleted; its dependencies come from the
 * npm-shrinkwrap.json it carries, by `npm ci`, each checked against the integrity recorded there
 * (not `npm install --global`, which ignores a package's shrinkwrap:
 * https://github.com/npm/cli/issues/5325). `infra` is then on the job's PATH.
 */
export function installInfraScript(): string {
  return [
    'mkdir -p "$RUNNER_TEMP/infra" "$RUNNER_TEMP/bin"',
    `tarball=$(npm pack "$INFRA_PACKAGE" --pack-destination "$RUNNER_TEMP" --json | jq -r '.[0].filename')`,
    'actual="sha512-$(openssl dgst -sha512 -binary "$RUNNER_TEMP/$tarball" | base64 -w0)"',
    'if [ "$actual" != "$INFRA_INTEGRITY" ]; then echo "::error::$INFRA_PACKAGE is $actual, not the pinned $INFRA_INTEGRITY"; exit 1; fi',
    'tar -xzf "$RUNNER_TEMP/$tarball" -C "$RUNNER_TEMP/infra" --strip-components=1',
    'cd "$RUNNER_TEMP/infra"',
    'npm pkg delete scripts',
    'npm ci --omit=dev --no-audit --no-fund',
    'ln -s "$RUNNER_TEMP/infra/bin/run.js" "$RUNNER_TEMP/bin/infra"',
    'echo "$RUNNER_TEMP/bin" >> "$GITHUB_PATH"',
  ].join('\n')
}

/**
 * Where the pipelines find the estate: its path inside the repository they run in. A file outside
 * the repository (or the shipped default) would not be there when the workflow checks it out.
 */
export function estateFileInRepository(root: string, source: string): string {
  const relative = path.relative(path.resolve(root), path.resolve(source))
  if (!relative || relative.startsWith('..') || path.isAbsolute(relative)) {
    throw new InfraError(
      `the estate file ${source} is not inside the repository ${path.resolve(root)}: its pipelines could not read it`,
      `copy it into the repository (e.g. ${path.join(root, 'infra.estate.yaml')}) and pass --estate with that path`,
      'ESTATE_OUTSIDE_REPOSITORY',
      2,
    )
  }
  return relative.split(path.sep).join('/')
}

/**
 * Replaces %%name%% placeholders; a line left empty by its placeholder is dropped. A value of
 * several lines (a script) continues at the indentation of the line its placeholder stands in.
 */
export function fillTemplate(template: string, values: Record<string, string>): string {
  const lines: string[] = []
  for (const line of template.split('\n')) {
    const indentation = /^\s*/.exec(line)![0]
    const filled = line.replace(/%%(\w+)%%/g, (_, name: string) => {
      if (!(name in values)) throw new Error(`template placeholder %%${name}%% has no value`)
      return values[name].replaceAll('\n', `\n${indentation}`)
    })
    if (filled !== line && filled.trim() === '') continue
    lines.push(filled)
  }
  return lines.join('\n')
}

function withHash(body: string): string {
  return `# infra-template-sha256: ${sha256(body)}\n${body}`
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex')

export type WriteOutcome = 'created' | 'updated' | 'unchanged' | 'refused' | 'overwritten'

export interface WrittenPipeline {
  path: string
  environment: string
  outcome: WriteOutcome
}

/**
 * Writes the files into a repository. A file infra wrote and nobody changed since is updated; a
 * file someone edited (its content no longer matches the hash infra stamped on it) is left alone
 * unless `force` is set. Each file is written whole (temp file, then rename).
 */
export function writePipelines(root: string, files: PipelineFile[], force = false): WrittenPipeline[] {
  const results = files.map((file) => {
    const target = path.join(root, file.path)
    if (!existsSync(target)) return {file, target, outcome: 'created' as WriteOutcome}
    const current = readFileSync(target, 'utf8')
    if (current === file.content) return {file, target, outcome: 'unchanged' as WriteOutcome}
    const stamped = HASH_LINE.exec(current)
    const edited = !stamped || sha256(current.replace(HASH_LINE, '')) !== stamped[1]
    if (edited) return {file, target, outcome: (force ? 'overwritten' : 'refused') as WriteOutcome}
    return {file, target, outcome: 'updated' as WriteOutcome}
  })
  const refused = results.filter((result) => result.outcome === 'refused')
  if (refused.length > 0) {
    throw new InfraError(
      `${refused.map((result) => result.file.path).join(', ')} ${refused.length === 1 ? 'was' : 'were'} edited since infra wrote ${refused.length === 1 ? 'it' : 'them'}; nothing was written`,
      'keep your edits (and merge the template by hand), or pass --force to replace them',
      'PIPELINE_EDITED',
      1,
      {refused: refused.map((result) => result.file.path)},
    )
  }
  for (const result of results) {
    if (result.outcome === 'unchanged') continue
    mkdirSync(path.dirname(result.target), {recursive: true})
    const temp = `${result.target}.${process.pid}.tmp`
    writeFileSync(temp, result.file.content)
    renameSync(temp, result.target)
  }
  return results.map((result) => ({path: result.file.path, environment: result.file.environment, outcome: result.outcome}))
}

/**
 * The integrity of the published tarball, as the registry records it (`npm view NAME@VERSION
 * dist.integrity`); pipelines check the tarball they download against it.
 */
export async function publishedIntegrity(name: string, version: string): Promise<string> {
  const {execa} = await import('execa')
  const result = await execa('npm', ['view', `${name}@${version}`, 'dist.integrity'], {reject: false}).catch(() => undefined)
  const integrity = result?.exitCode === 0 ? result.stdout.trim() : ''
  if (!INTEGRITY.test(integrity)) {
    throw new InfraError(
      `the registry gives no sha512 integrity for ${name}@${version}${result?.stderr ? ` (${result.stderr.trim().split('\n')[0]})` : ''}`,
      'publish that version first, or pass --infra-version and --infra-integrity of a published one (npm view NAME@VERSION dist.integrity)',
      'NO_PUBLISHED_INTEGRITY',
      2,
    )
  }
  return integrity
}
