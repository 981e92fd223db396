import {readFileSync} from 'node:fs'
import https from 'node:https'

import {CreateBucketCommand, GetObjectCommand, PutBucketPolicyCommand, PutObjectCommand, S3Client} from '@aws-sdk/client-s3'
import {NodeHttpHandler} from '@smithy/node-http-handler'
import {describe, expect, inject, it} from 'vitest'

/**
 * moto_server.py's bucket-policy patch on AWS's own published example policies (S3 user guide:
 * "AllowSSLRequestsOnly", and "DenyIncorrectEncryptionHeader"/"DenyUnEncryptedObjectUploads"),
 * each request sent as a client sends it, over TLS or over the plain-HTTP listener.
 */
const credentials = {accessKeyId: 'test', secretAccessKey: 'test'}
const account = '123456789012'

function clients() {
  const ca = readFileSync(inject('motoCaBundle'))
  const common = {region: 'eu-west-1', forcePathStyle: true, credentials}
  return {
    tls: new S3Client({...common, endpoint: inject('motoEndpoint'), requestHandler: new NodeHttpHandler({httpsAgent: new https.Agent({ca})})}),
    plain: new S3Client({...common, endpoint: inject('motoPlainEndpoint')}),
  }
}

async function bucketWith(name: string, statements: (arn: string) => object[]): Promise<ReturnType<typeof clients>> {
  const s3 = clients()
  await s3.tls.send(new CreateBucketCommand({Bucket: name, CreateBucketConfiguration: {LocationConstraint: 'eu-west-1'}}))
  await s3.tls.send(new PutObjectCommand({Bucket: name, Key: 'seed', Body: 'seed', ServerSideEncryption: 'aws:kms'}))
  await s3.tls.send(new PutBucketPolicyCommand({Bucket: name, Policy: JSON.stringify({Version: '2012-10-17', Statement: statements(`arn:aws:s3:::${name}`)})}))
  return s3
}

const status = (call: Promise<{$metadata: {httpStatusCode?: number}}>) =>
  call.then(
    (response) => response.$metadata.httpStatusCode,
    (error) => error.$metadata?.httpStatusCode,
  )

describe('moto evaluates bucket-policy conditions from the request', () => {
  it('aws:SecureTransport: the TLS-only deny refuses plain HTTP and lets TLS through', async () => {
    const s3 = await bucketWith('tls-only-example', (arn) => [
      {Sid: 'AllowSSLRequestsOnly', Action: 's3:*', Effect: 'Deny', Resource: [arn, `${arn}/*`], Condition: {Bool: {'aws:SecureTransport': 'false'}}, Principal: '*'},
    ])
    expect(await status(s3.tls.send(new GetObjectCommand({Bucket: 'tls-only-example', Key: 'seed'})))).toBe(200)
    expect(await status(s3.plain.send(new GetObjectCommand({Bucket: 'tls-only-example', Key: 'seed'})))).toBe(403)
    expect(await status(s3.plain.send(new PutObjectCommand({Bucket: 'tls-only-example', Key: 'plain', Body: 'x', ServerSideEncryption: 'aws:kms'})))).toBe(403)
  })

  it('s3:x-amz-server-side-encryption: uploads without the KMS header are refused, with it accepted', async () => {
    const s3 = await bucketWith('sse-kms-example', (arn) => [
      {Sid: 'DenyIncorrectEncryptionHeader', Effect: 'Deny', Principal: '*', Action: 's3:PutObject', Resource: `${arn}/*`, Condition: {StringNotEquals: {'s3:x-amz-server-side-encryption': 'aws:kms'}}},
      {Sid: 'DenyUnEncryptedObjectUploads', Effect: 'Deny', Principal: '*', Action: 's3:PutObject', Resource: `${arn}/*`, Condition: {Null: {'s3:x-amz-server-side-encryption': 'true'}}},
    ])
    const put = (key: string, sse?: 'AES256' | 'aws:kms') => status(s3.tls.send(new PutObjectCommand({Bucket: 'sse-kms-example', Key: key, Body: 'x', ServerSideEncryption: sse})))
    expect(await put('none')).toBe(403)
    expect(await put('aes', 'AES256')).toBe(403)
    expect(await put('kms', 'aws:kms')).toBe(200)
  })

  it('aws:SourceAccount/aws:SourceArn: absent on a direct call, so a service-only allow does not apply and a deny on them does not either', async () => {
    const s3 = await bucketWith('source-example', (arn) => [
      {Sid: 'OnlyFromOurTrail', Effect: 'Deny', Principal: '*', Action: 's3:GetObject', Resource: `${arn}/*`, Condition: {StringEquals: {'aws:SourceAccount': account}, ArnLike: {'aws:SourceArn': `arn:aws:cloudtrail:*:${account}:trail/*`}}},
    ])
    expect(await status(s3.tls.send(new GetObjectCommand({Bucket: 'source-example', Key: 'seed'})))).toBe(200)
  })
})
