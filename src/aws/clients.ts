import {readFileSync} from 'node:fs'
import https from 'node:https'
import tls from 'node:tls'

import type {AwsCredentialIdentityProvider} from '@aws-sdk/types'
import {NodeHttpHandler} from '@smithy/node-http-handler'

import type {EnvironmentSpec, Estate} from '../estate/model.js'
import {InfraError, fromAwsError} from '../errors.js'
import {roleSessionName} from '../estate/session-name.js'

/** How a command reaches AWS: the operator's profile and region, and the account it acts in. */
export interface AwsAccess {
  estate: Estate
  /** The environment or client whose account the command acts in; its role is assumed. */
  target?: EnvironmentSpec
  profile?: string
  region?: string
  /** What the session is for; shows up in CloudTrail as part of the role session name. */
  purpose: string
}

export interface AwsClientConfig {
  region: string
  credentials: AwsCredentialIdentityProvider
  endpoint?: string
  retryMode: 'adaptive'
  maxAttempts: number
  requestHandler?: NodeHttpHandler
}

/**
 * AWS_CA_BUNDLE, as the AWS CLI and terraform honour it (TLS-inspecting proxies, emulators with
 * their own certificate); the JavaScript SDK does not read it by itself.
 */
export function caBundleHandler(env = process.env): NodeHttpHandler | undefined {
  const bundle = env.AWS_CA_BUNDLE
  if (!bundle) return undefined
  let pem: string
  try {
    pem = readFileSync(bundle, 'utf8')
  } catch {
    throw new InfraError(`AWS_CA_BUNDLE points at ${bundle}, which cannot be read`, 'fix the path or unset AWS_CA_BUNDLE', 'CA_BUNDLE_UNREADABLE')
  }
  return new NodeHttpHandler({httpsAgent: new https.Agent({keepAlive: true, ca: [...tls.rootCertificates, pem]})})
}

/**
 * The one place SDK clients get their settings: the standard credential chain (profiles, SSO,
 * environment), the target's role assumed through STS, adaptive retries, and the endpoint
 * override that points everything at an emulator.
 */
export async function awsClientConfig(access: AwsAccess): Promise<AwsClientConfig> {
  const {fromNodeProviderChain, fromTemporaryCredentials} = await import('@aws-sdk/credential-providers')
  const region = access.region ?? access.target?.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'eu-west-1'
  const endpoint = access.estate.endpoint
  const requestHandler = caBundleHandler()
  const base = fromNodeProviderChain({profile: access.profile, clientConfig: {requestHandler}})
  const credentials = access.target && access.estate.assumeRoles !== false
    ? fromTemporaryCredentials({
        masterCredentials: base,
        params: {RoleArn: access.target.roleArn, RoleSessionName: roleSessionName(access.purpose), DurationSeconds: 3600},
        clientConfig: {region, endpoint, maxAttempts: 3, requestHandler},
      })
    : base
  return {region, credentials: withReadableErrors(credentials, access), endpoint, retryMode: 'adaptive', maxAttempts: 6, requestHandler}
}

/** Builds any SDK v3 client with the shared settings. */
export async function createClient<Client>(
  ClientClass: new (config: AwsClientConfig) => Client,
  access: AwsAccess,
): Promise<Client> {
  return new ClientClass(await awsClientConfig(access))
}

/** Resolves credentials now, so a command fails before doing anything when there are none. */
export async function checkCredentials(access: AwsAccess): Promise<void> {
  const config = await awsClientConfig(access)
  await config.credentials()
}

function withReadableErrors(provider: AwsCredentialIdentityProvider, access: AwsAccess): AwsCredentialIdentityProvider {
  return async (options) => {
    try {
      return await provider(options)
    } catch (error) {
      throw describeCredentialError(error, access)
    }
  }
}

export function describeCredentialError(error: unknown, access: Pick<AwsAccess, 'profile' | 'target' | 'estate'>): InfraError {
  if (error instanceof InfraError) return error
  const err = error as {name?: string; message?: string; code?: string}
  const message = err.message ?? String(error)
  const profile = access.profile ?? process.env.AWS_PROFILE
  if (err.name === 'CredentialsProviderError' || /Could not load credentials|credential/i.test(message)) {
    return new InfraError(
      `no AWS credentials found${profile ? ` for profile "${profile}"` : ''}`,
      profile
        ? `run "aws sso login --profile ${profile}" or check ~/.aws/config`
        : 'pass --profile, set AWS_PROFILE, or export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY',
      'NO_CREDENTIALS',
    )
  }
  if (/ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ETIMEDOUT/.test(`${err.code ?? ''} ${message}`)) {
    return new InfraError(
      `cannot reach the AWS API${access.estate.endpoint ? ` at ${access.estate.endpoint}` : ''}`,
      access.estate.endpoint ? 'start the emulator or unset AWS_ENDPOINT_URL' : 'check the network and proxy settings',
      'AWS_UNREACHABLE',
    )
  }
  if (access.target && /AccessDenied|not authorized|InvalidClientTokenId|ExpiredToken/i.test(`${err.name} ${message}`)) {
    return new InfraError(
      `cannot assume ${access.target.roleArn} for ${access.target.name}: ${message.split('\n')[0]}${err.name && err.name !== 'Error' ? ` (${err.name})` : ''}`,
      'check that your identity is trusted by the role, or refresh your session',
      'ASSUME_ROLE_FAILED',
    )
  }
  // STS answering as AWS does with any other refusal (throttled after the SDK's retries, a value it
  // rejects): said by its kind, as every AWS refusal is, never as an endpoint that is not AWS.
  // "Unknown" and "NotFound" are names the SDK gives an answer without an STS error code (a web
  // page at the endpoint): those are the endpoint's problem, below.
  const refusal = ['Unknown', 'NotFound'].includes(err.name ?? '') ? undefined : fromAwsError(error)
  if (refusal && refusal.code !== 'AWS_REFUSED') {
    const what = access.target ? `assuming ${access.target.roleArn} for ${access.target.name}` : 'getting AWS credentials'
    return new InfraError(`${what}: ${refusal.message}`, refusal.fix, refusal.code, refusal.exitCode, refusal.details)
  }
  const endpoint = access.estate.endpoint ?? process.env.AWS_ENDPOINT_URL
  if (endpoint) {
    // An HTML page, a 404 or a parse error: whatever answers there is not an AWS API.
    return new InfraError(
      `the AWS endpoint ${endpoint} did not answer as AWS STS does (${err.name === 'Unknown' || !message ? 'an unknown error' : message.split('\n')[0]})`,
      'point AWS_ENDPOINT_URL (or the estate\'s endpoint) at AWS or an emulator such as moto, or unset it',
      'AWS_ENDPOINT_NOT_AWS',
    )
  }
  return new InfraError(
    `AWS credentials failed: ${message.split('\n')[0] || err.name || 'an unknown error'}`,
    'check the profile and the network; `aws sts get-caller-identity` shows the same failure with more detail',
    'CREDENTIALS_FAILED',
  )
}
