import http from 'node:http'
import type {AddressInfo} from 'node:net'

import {HeadObjectCommand, S3Client} from '@aws-sdk/client-s3'
import {GetParameterCommand, SSMClient} from '@aws-sdk/client-ssm'
import {AssumeRoleCommand, STSClient} from '@aws-sdk/client-sts'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {describeCredentialError} from '../../src/aws/clients.js'
import {fromAwsError} from '../../src/errors.js'
import {type Refusal, operationOf, refusalAnswer} from '../support/ssm-session-standin.js'

/**
 * What the SDK makes of answers that name no exception, read as infra reads them: S3's HEAD
 * answers (a status and no body, as S3 sends them: the note in @aws-sdk/client-s3
 * HeadObjectCommand.d.ts) and STS's Query errors while a role is assumed. A local HTTP server
 * answers with the session stand-in's wire shapes; the real SDK clients parse them.
 */
let answer: Refusal
let server: http.Server
let endpoint: string

beforeAll(async () => {
  server = http.createServer((request, response) => {
    const chunks: Buffer[] = []
    request.on('data', (chunk) => chunks.push(chunk))
    request.on('end', () => {
      const {protocol} = operationOf(request.method ?? 'GET', request.url ?? '/', request.headers, Buffer.concat(chunks))
      const wire = refusalAnswer(protocol, answer)
      response.writeHead(wire.status, wire.headers).end(wire.body)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())))

const credentials = {accessKeyId: 'test', secretAccessKey: 'test'}

describe('an S3 HEAD answer, which has no body, by its status', () => {
  it.each([
    [400, 'AWS_VALIDATION', 'HTTP 400 Bad Request'],
    [403, 'AWS_ACCESS_DENIED', 'HTTP 403 Forbidden'],
    [404, 'AWS_NOT_FOUND', 'HTTP 404 Not Found'],
    [503, 'AWS_THROTTLED', 'HTTP 503 Slow Down'],
  ])('%i: %s', async (status, code, said) => {
    answer = {status, code: 'unused', message: ''}
    const s3 = new S3Client({region: 'eu-west-1', endpoint, forcePathStyle: true, credentials, maxAttempts: 1})
    const caught = await s3.send(new HeadObjectCommand({Bucket: 'acme-dev-tfstate-111111111111', Key: 'k'})).then(() => undefined, (error: unknown) => error)
    expect((caught as Error).name).toMatch(/^(Unknown|NotFound)$/)
    const error = fromAwsError(caught)!
    expect(error.code).toBe(code)
    expect(error.message).toContain(`${said}, with no error code`)
    expect(error.exitCode).toBe(1)
  })

  it('a named exception with an empty message is still read by its name (the SDK fills the message with "UnknownError")', async () => {
    answer = {status: 400, code: 'ParameterNotFound', message: ''}
    const ssm = new SSMClient({region: 'eu-west-1', endpoint, credentials, maxAttempts: 1})
    const caught = await ssm.send(new GetParameterCommand({Name: '/infra/dev/x'})).then(() => undefined, (error: unknown) => error)
    expect(fromAwsError(caught)).toMatchObject({code: 'AWS_NOT_FOUND', message: expect.stringContaining('(ParameterNotFound)')})
  })
})

describe('STS refusing the role infra assumes', () => {
  const access = {target: {name: 'dev', roleArn: 'arn:aws:iam::111111111111:role/OrganizationAccountAccessRole'} as never, estate: {endpoint: 'http://127.0.0.1:1'} as never}
  const refuse = async (refusal: Refusal) => {
    answer = refusal
    const sts = new STSClient({region: 'eu-west-1', endpoint, credentials, maxAttempts: 1})
    return describeCredentialError(await sts.send(new AssumeRoleCommand({RoleArn: 'arn:aws:iam::111111111111:role/x', RoleSessionName: 's'})).then(() => undefined, (error: unknown) => error), access)
  }

  it('says throttling and a rejected value by their kind, not as an endpoint that is not AWS', async () => {
    expect(await refuse({status: 400, code: 'Throttling', message: 'Rate exceeded'})).toMatchObject({code: 'AWS_THROTTLED', message: expect.stringMatching(/^assuming arn:aws:iam::111111111111:role\/OrganizationAccountAccessRole for dev: .*Rate exceeded \(Throttling\)$/)})
    expect(await refuse({status: 400, code: 'ValidationError', message: '1 validation error detected'})).toMatchObject({code: 'AWS_VALIDATION'})
  })

  it('names the role and AWS\'s code when it is denied', async () => {
    const error = await refuse({status: 403, code: 'AccessDenied', message: 'User: arn:aws:iam::123456789012:user/test is not authorized to perform: sts:AssumeRole'})
    expect(error).toMatchObject({code: 'ASSUME_ROLE_FAILED', message: expect.stringContaining('sts:AssumeRole (AccessDenied)')})
  })
})
