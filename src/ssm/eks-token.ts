import {Sha256} from '@aws-crypto/sha256-js'
import type {AwsCredentialIdentity} from '@aws-sdk/types'
import {SignatureV4} from '@smithy/signature-v4'

/** What kubectl's exec credential plugins answer with (client.authentication.k8s.io/v1beta1). */
export interface ExecCredential {
  kind: 'ExecCredential'
  apiVersion: 'client.authentication.k8s.io/v1beta1'
  spec: Record<string, never>
  status: {expirationTimestamp: string; token: string}
}

export const EXEC_CREDENTIAL_API = 'client.authentication.k8s.io/v1beta1'
export const TOKEN_PREFIX = 'k8s-aws-v1.'
export const CLUSTER_ID_HEADER = 'x-k8s-aws-id'
/** As `aws eks get-token`: the URL is presigned for 60 s, EKS accepts the token for 15 minutes, kubectl is told 14 to renew in time. */
export const PRESIGN_SECONDS = 60
export const TOKEN_LIFETIME_MINUTES = 14
const CONTENT_HASH_HEADER = 'x-amz-content-sha256'

/**
 * An EKS bearer token, the way aws-iam-authenticator reads it: a presigned STS
 * GetCallerIdentity URL (the cluster name in the signed x-k8s-aws-id header), base64url
 * without padding, after "k8s-aws-v1.".
 */
export async function eksToken(options: {clusterName: string; region: string; credentials: AwsCredentialIdentity; now?: Date}): Promise<ExecCredential> {
  const now = options.now ?? new Date()
  const hostname = `sts.${options.region}.${options.region.startsWith('cn-') ? 'amazonaws.com.cn' : 'amazonaws.com'}`
  const signer = new SignatureV4({service: 'sts', region: options.region, credentials: options.credentials, sha256: Sha256})
  const signed = await signer.presign(
    {
      method: 'GET',
      protocol: 'https:',
      hostname,
      path: '/',
      query: {Action: 'GetCallerIdentity', Version: '2011-06-15'},
      // The content hash header only selects UNSIGNED-PAYLOAD, as botocore presigns (SigV4QueryAuth);
      // it is neither signed nor put in the URL.
      headers: {host: hostname, [CLUSTER_ID_HEADER]: options.clusterName, [CONTENT_HASH_HEADER]: 'UNSIGNED-PAYLOAD'},
    },
    {expiresIn: PRESIGN_SECONDS, signingDate: now, unsignableHeaders: new Set([CONTENT_HASH_HEADER]), unhoistableHeaders: new Set([CONTENT_HASH_HEADER])},
  )
  const query = Object.entries(signed.query ?? {})
    .map(([key, value]) => `${encodeURIComponent(key)}=${encodeURIComponent(String(value))}`)
    .join('&')
  const url = `https://${hostname}/?${query}`
  const expires = new Date(now.getTime() + TOKEN_LIFETIME_MINUTES * 60_000)
  return {
    kind: 'ExecCredential',
    apiVersion: EXEC_CREDENTIAL_API,
    spec: {},
    status: {
      expirationTimestamp: expires.toISOString().replace(/\.\d{3}Z$/, 'Z'),
      token: TOKEN_PREFIX + Buffer.from(url).toString('base64url'),
    },
  }
}
