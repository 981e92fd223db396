import {createHash, createHmac} from 'node:crypto'

import {describe, expect, it} from 'vitest'

import {eksToken} from '../../src/ssm/eks-token.js'

const credentials = {accessKeyId: 'ASIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', sessionToken: 'FwoGZXIvYXdzEXAMPLE//token+with/slashes='}
const now = new Date('2026-11-30T01:02:03.456Z')

/** SigV4 for a presigned GET, written out from the AWS documentation, independent of the SDK signer. */
function expectedSignature(url: URL, headers: Record<string, string>): string {
  const params = [...url.searchParams.entries()].filter(([key]) => key !== 'X-Amz-Signature')
  const encode = (value: string) => encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
  const query = params.map(([k, v]) => [encode(k), encode(v)]).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, v]) => `${k}=${v}`).join('&')
  const names = Object.keys(headers).sort()
  const canonical = ['GET', '/', query, ...names.map((n) => `${n}:${headers[n]}`), '', names.join(';'), 'UNSIGNED-PAYLOAD'].join('\n')
  const [, date, region, service] = /\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request$/.exec(url.searchParams.get('X-Amz-Credential')!)!
  const scope = `${date}/${region}/${service}/aws4_request`
  const toSign = ['AWS4-HMAC-SHA256', url.searchParams.get('X-Amz-Date'), scope, createHash('sha256').update(canonical).digest('hex')].join('\n')
  let key: Buffer = createHmac('sha256', `AWS4${credentials.secretAccessKey}`).update(date).digest()
  for (const part of [region, service, 'aws4_request']) key = createHmac('sha256', key).update(part).digest()
  return createHmac('sha256', key).update(toSign).digest('hex')
}

describe('infra eks token', () => {
  it('is an ExecCredential kubectl reads, expiring in 14 minutes as `aws eks get-token` says', async () => {
    const credential = await eksToken({clusterName: 'acme-prod-eks', region: 'eu-west-1', credentials, now})
    expect(credential).toEqual({
      kind: 'ExecCredential',
      apiVersion: 'client.authentication.k8s.io/v1beta1',
      spec: {},
      status: {expirationTimestamp: '2026-11-30T01:16:03Z', token: expect.stringMatching(/^k8s-aws-v1\.[A-Za-z0-9_-]+$/)},
    })
  })

  it('carries a presigned STS GetCallerIdentity URL bound to the cluster, as aws-iam-authenticator verifies it', async () => {
    const {status} = await eksToken({clusterName: 'acme-prod-eks', region: 'eu-west-1', credentials, now})
    const url = new URL(Buffer.from(status.token.slice('k8s-aws-v1.'.length), 'base64url').toString())
    expect(url.origin).toBe('https://sts.eu-west-1.amazonaws.com')
    expect(url.pathname).toBe('/')
    const q = Object.fromEntries(url.searchParams)
    expect(q).toMatchObject({
      Action: 'GetCallerIdentity',
      Version: '2011-06-15',
      'X-Amz-Algorithm': 'AWS4-HMAC-SHA256',
      'X-Amz-Credential': 'ASIAIOSFODNN7EXAMPLE/20261130/eu-west-1/sts/aws4_request',
      'X-Amz-Date': '20261130T010203Z',
      'X-Amz-Expires': '60',
      'X-Amz-SignedHeaders': 'host;x-k8s-aws-id',
      'X-Amz-Security-Token': credentials.sessionToken,
    })
    expect(q['X-Amz-Signature']).toBe(expectedSignature(url, {host: 'sts.eu-west-1.amazonaws.com', 'x-k8s-aws-id': 'acme-prod-eks'}))
    // Another cluster's name gives another signature: the token is good for this cluster only.
    expect(q['X-Amz-Signature']).not.toBe(expectedSignature(url, {host: 'sts.eu-west-1.amazonaws.com', 'x-k8s-aws-id': 'acme-dev-eks'}))
  })
})
