import {execFileSync} from 'node:child_process'
import {accessSync, constants, statSync} from 'node:fs'
import path from 'node:path'

import {InfraError} from '../errors.js'
import type {SessionHandle, StartSessionRequest} from './session-api.js'

export const PLUGIN_BINARY = 'session-manager-plugin'
export const PLUGIN_ENV = 'INFRA_SESSION_MANAGER_PLUGIN'
/** The AWS CLI passes the StartSession answer in this variable to plugins newer than LAST_PLUGIN_VERSION_WITHOUT_ENV_VAR. */
export const START_SESSION_RESPONSE_ENV = 'AWS_SSM_START_SESSION_RESPONSE'
export const LAST_PLUGIN_VERSION_WITHOUT_ENV_VAR = '1.2.497.0'
/** AWS-StartPortForwardingSessionToRemoteHost needs at least this plugin. */
export const MIN_PLUGIN_VERSION_FOR_REMOTE_HOST = '1.2.285.0'
export const PLUGIN_INSTALL_HINT =
  'install the Session Manager plugin (https://docs.aws.amazon.com/systems-manager/latest/userguide/session-manager-working-with-install-plugin.html), ' +
  `or point --plugin or ${PLUGIN_ENV} at it`

export interface SessionManagerPlugin {
  path: string
  /** As `session-manager-plugin --version` printed it, trimmed. */
  version: string
}

/** Finds the plugin: --plugin, then INFRA_SESSION_MANAGER_PLUGIN, then PATH; and asks its version. */
export function findPlugin(flag?: string, env: NodeJS.ProcessEnv = process.env): SessionManagerPlugin {
  const given = flag ?? env[PLUGIN_ENV]
  const file = given ? (isExecutable(given) ? path.resolve(given) : undefined) : searchPath(PLUGIN_BINARY, env.PATH ?? '')
  if (!file) {
    throw new InfraError(
      given ? `the Session Manager plugin at ${given} is missing or not executable` : `the Session Manager plugin (${PLUGIN_BINARY}) is not on PATH`,
      PLUGIN_INSTALL_HINT,
      'PLUGIN_NOT_FOUND',
    )
  }
  let version: string
  try {
    version = execFileSync(file, ['--version'], {encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'pipe']}).trim()
  } catch (error) {
    throw new InfraError(`${file} --version failed: ${(error as Error).message.split('\n')[0]}`, PLUGIN_INSTALL_HINT, 'PLUGIN_BROKEN')
  }
  return {path: file, version}
}

/**
 * The AWS CLI's rule (VersionRequirement.meets_requirement): whitespace removed, up to four
 * numeric parts, compared part by part after padding with zeros; strictly newer than the
 * minimum. Anything unparsable is treated as old.
 */
export function versionNewerThan(version: string, minimum: string): boolean {
  const clean = version.replace(/\s+/g, '')
  if (!/^\d+(\.\d+){0,3}$/.test(clean)) return false
  const a = clean.split('.').map(Number)
  const b = minimum.split('.').map(Number)
  while (a.length < b.length) a.push(0)
  while (b.length < a.length) b.push(0)
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i] > b[i]
  return false
}

export function checkPluginSupports(plugin: SessionManagerPlugin, documentName: string): void {
  if (documentName !== 'AWS-StartPortForwardingSessionToRemoteHost') return
  const clean = plugin.version.replace(/\s+/g, '')
  if (/^\d+(\.\d+){0,3}$/.test(clean) && !versionNewerThan(clean, MIN_PLUGIN_VERSION_FOR_REMOTE_HOST) && clean !== MIN_PLUGIN_VERSION_FOR_REMOTE_HOST) {
    throw new InfraError(
      `Session Manager plugin ${clean} cannot forward to a remote host (needs ${MIN_PLUGIN_VERSION_FOR_REMOTE_HOST} or newer)`,
      PLUGIN_INSTALL_HINT.replace('install', 'update'),
      'PLUGIN_TOO_OLD',
    )
  }
}

/** Temporary credentials infra got by assuming the target's role. */
export interface PluginCredentials {
  accessKeyId: string
  secretAccessKey: string
  sessionToken?: string
  /** When they expire (an assumed role's last an hour at most). */
  expiration?: Date
}

export interface PluginLaunch {
  file: string
  args: string[]
  env: NodeJS.ProcessEnv
  /** False when an old plugin forced the token into argv (as the AWS CLI does for it). */
  tokenHidden: boolean
}

/**
 * The command line and environment the AWS CLI gives the plugin (awscli/customizations/
 * sessionmanager.py): `<StartSession answer> <region> StartSession <profile or ''> <request JSON>
 * <SSM endpoint URL>`, the answer in AWS_SSM_START_SESSION_RESPONSE for plugins newer than
 * 1.2.497.0 so no token shows in `ps`. With assumed-role credentials the plugin gets those, and the
 * region, in its environment with an empty profile: its own calls (KMS data keys, ResumeSession)
 * then run as the same identity.
 */
export function pluginLaunch(options: {
  plugin: SessionManagerPlugin
  handle: SessionHandle
  region: string
  request: StartSessionRequest
  endpoint: string
  profile?: string
  credentials?: PluginCredentials
  baseEnv?: NodeJS.ProcessEnv
}): PluginLaunch {
  const env: NodeJS.ProcessEnv = {...(options.baseEnv ?? process.env)}
  delete env[START_SESSION_RESPONSE_ENV]
  const answer = JSON.stringify({SessionId: options.handle.SessionId, TokenValue: options.handle.TokenValue, StreamUrl: options.handle.StreamUrl})
  const tokenHidden = versionNewerThan(options.plugin.version, LAST_PLUGIN_VERSION_WITHOUT_ENV_VAR)
  if (tokenHidden) env[START_SESSION_RESPONSE_ENV] = answer
  let profile = options.profile ?? ''
  if (options.credentials) {
    profile = ''
    for (const name of ['AWS_PROFILE', 'AWS_DEFAULT_PROFILE', 'AWS_SESSION_TOKEN', 'AWS_SECURITY_TOKEN']) delete env[name]
    env.AWS_ACCESS_KEY_ID = options.credentials.accessKeyId
    env.AWS_SECRET_ACCESS_KEY = options.credentials.secretAccessKey
    if (options.credentials.sessionToken) env.AWS_SESSION_TOKEN = options.credentials.sessionToken
    env.AWS_REGION = options.region
    env.AWS_DEFAULT_REGION = options.region
  }
  return {
    file: options.plugin.path,
    args: [tokenHidden ? START_SESSION_RESPONSE_ENV : answer, options.region, 'StartSession', profile, JSON.stringify(options.request), options.endpoint],
    env,
    tokenHidden,
  }
}

function isExecutable(file: string): boolean {
  try {
    if (!statSync(file).isFile()) return false
    accessSync(file, constants.X_OK)
    return true
  } catch {
    return false
  }
}

function searchPath(binary: string, pathVariable: string): string | undefined {
  for (const dir of pathVariable.split(path.delimiter)) {
    if (!dir) continue
    const candidate = path.join(dir, binary)
    if (isExecutable(candidate)) return candidate
  }
  return undefined
}
