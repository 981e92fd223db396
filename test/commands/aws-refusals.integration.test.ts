import {mkdtempSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

import {CloudWatchLogsClient, FilterLogEventsCommand} from '@aws-sdk/client-cloudwatch-logs'
import {DescribeInstancesCommand, EC2Client} from '@aws-sdk/client-ec2'
import {DescribeClusterCommand, EKSClient} from '@aws-sdk/client-eks'
import {CloseAccountCommand, MoveAccountCommand, OrganizationsClient} from '@aws-sdk/client-organizations'
import {GetParameterCommand, SSMClient} from '@aws-sdk/client-ssm'
import {AssumeRoleCommand, STSClient} from '@aws-sdk/client-sts'
import {afterAll, afterEach, beforeAll, describe, expect, inject, it} from 'vitest'

import {toInfraError} from '../../src/output/cli-errors.js'
import {SdkSessionApi} from '../../src/ssm/session-api.js'
import {runCli} from '../support/cli.js'
import {type Refusal, type SsmSessionStandIn, startSsmSessionStandIn} from '../support/ssm-session-standin.js'
import {seedClients, writeTestEstate} from '../support/ssm-seed.js'

/**
 * AWS's refusals, as each API answers them on the wire (the session stand-in answers the named
 * operation with AWS's documented error shape for its protocol and relays everything else to
 * moto): every kind becomes one line with its own code and a fix, never INTERNAL_ERROR.
 * The codes and messages are AWS's, from the SDK models' exception lists
 * (node_modules/@aws-sdk/client-*\/dist-types/models) and the EC2 error-code reference.
 */
const STANDIN_BIN = fileURLToPath(new URL('../support/bin', import.meta.url))
let standIn: SsmSessionStandIn
let estateFile: string

beforeAll(async () => {
  standIn = await startSsmSessionStandIn(inject('motoEndpoint'), inject('motoCaBundle'))
  estateFile = writeTestEstate(standIn.endpoint, {ops: ['555555555502', '10.62.0.0/16']})
  const ops = await seedClients(estateFile, 'ops')
  await ops.instance({Name: 'acme-ops-bastion', Role: 'bastion', Environment: 'ops'})
  await ops.parameter('/infra/ops/eks/cluster-name', 'acme-ops-eks')
})
afterEach(() => standIn.refusals.clear())
afterAll(async () => standIn?.stop())

describe('each kind of AWS refusal, in each protocol, as the SDK reads it', () => {
  const client = {region: 'eu-west-1', credentials: {accessKeyId: 'test', secretAccessKey: 'test'}, maxAttempts: 1}
  const calls = {
    'SSM GetParameter (JSON)': ['GetParameter', () => new SSMClient({...client, endpoint: standIn.endpoint}).send(new GetParameterCommand({Name: '/infra/ops/x'}))],
    'EC2 DescribeInstances (EC2 query)': ['DescribeInstances', () => new EC2Client({...client, endpoint: standIn.endpoint}).send(new DescribeInstancesCommand({}))],
    'EKS DescribeCluster (REST-JSON)': ['DescribeCluster', () => new EKSClient({...client, endpoint: standIn.endpoint}).send(new DescribeClusterCommand({name: 'acme-ops-eks'}))],
    'STS AssumeRole (query)': ['AssumeRole', () => new STSClient({...client, endpoint: standIn.endpoint}).send(new AssumeRoleCommand({RoleArn: 'arn:aws:iam::555555555502:role/x', RoleSessionName: 's'}))],
    'CloudWatch Logs FilterLogEvents (JSON)': ['FilterLogEvents', () => new CloudWatchLogsClient({...client, endpoint: standIn.endpoint}).send(new FilterLogEventsCommand({logGroupName: '/infra/ops/service'}))],
    'Organizations MoveAccount (JSON)': ['MoveAccount', () => new OrganizationsClient({...client, endpoint: standIn.endpoint}).send(new MoveAccountCommand({AccountId: '555555555502', SourceParentId: 'r-ab12', DestinationParentId: 'ou-ab12-cdefgh12'}))],
    'Organizations CloseAccount (JSON)': ['CloseAccount', () => new OrganizationsClient({...client, endpoint: standIn.endpoint}).send(new CloseAccountCommand({AccountId: '555555555502'}))],
  } as const
  type Call = keyof typeof calls
  const cases: [Call, Refusal, string][] = [
    ['EKS DescribeCluster (REST-JSON)', {status: 404, code: 'ResourceNotFoundException', message: 'No cluster found for name: acme-ops-eks.'}, 'AWS_NOT_FOUND'],
    ['SSM GetParameter (JSON)', {status: 400, code: 'ParameterNotFound', message: ''}, 'AWS_NOT_FOUND'],
    ['EC2 DescribeInstances (EC2 query)', {status: 400, code: 'InvalidInstanceID.NotFound', message: "The instance ID 'i-0123456789abcdef0' does not exist"}, 'AWS_NOT_FOUND'],
    ['CloudWatch Logs FilterLogEvents (JSON)', {status: 400, code: 'ResourceNotFoundException', message: 'The specified log group does not exist.'}, 'AWS_NOT_FOUND'],
    ['Organizations MoveAccount (JSON)', {status: 400, code: 'DestinationParentNotFoundException', message: 'We can\'t find the destination container (a root or OU) with the ParentId that you specified.'}, 'AWS_NOT_FOUND'],
    ['SSM GetParameter (JSON)', {status: 400, code: 'AccessDeniedException', message: 'User: arn:aws:sts::555555555502:assumed-role/r/s is not authorized to perform: ssm:GetParameter'}, 'AWS_ACCESS_DENIED'],
    ['EC2 DescribeInstances (EC2 query)', {status: 403, code: 'UnauthorizedOperation', message: 'You are not authorized to perform this operation.'}, 'AWS_ACCESS_DENIED'],
    ['EKS DescribeCluster (REST-JSON)', {status: 403, code: 'AccessDeniedException', message: 'User is not authorized to perform: eks:DescribeCluster'}, 'AWS_ACCESS_DENIED'],
    ['Organizations CloseAccount (JSON)', {status: 400, code: 'AccessDeniedException', message: 'You don\'t have permissions to access this resource.'}, 'AWS_ACCESS_DENIED'],
    ['SSM GetParameter (JSON)', {status: 400, code: 'ThrottlingException', message: 'Rate exceeded'}, 'AWS_THROTTLED'],
    ['EC2 DescribeInstances (EC2 query)', {status: 503, code: 'RequestLimitExceeded', message: 'Request limit exceeded.'}, 'AWS_THROTTLED'],
    ['STS AssumeRole (query)', {status: 400, code: 'Throttling', message: 'Rate exceeded'}, 'AWS_THROTTLED'],
    ['Organizations MoveAccount (JSON)', {status: 400, code: 'TooManyRequestsException', message: 'You have sent too many requests in too short a period of time.'}, 'AWS_THROTTLED'],
    ['SSM GetParameter (JSON)', {status: 400, code: 'ValidationException', message: '1 validation error detected'}, 'AWS_VALIDATION'],
    ['EC2 DescribeInstances (EC2 query)', {status: 400, code: 'InvalidParameterValue', message: 'Value for filter is invalid'}, 'AWS_VALIDATION'],
    ['EKS DescribeCluster (REST-JSON)', {status: 400, code: 'InvalidParameterException', message: 'The name parameter is invalid.'}, 'AWS_VALIDATION'],
    ['EC2 DescribeInstances (EC2 query)', {status: 400, code: 'VpcLimitExceeded', message: 'The maximum number of VPCs has been reached.'}, 'AWS_LIMIT_EXCEEDED'],
    ['CloudWatch Logs FilterLogEvents (JSON)', {status: 400, code: 'LimitExceededException', message: 'Resource limit exceeded.'}, 'AWS_LIMIT_EXCEEDED'],
    ['Organizations CloseAccount (JSON)', {status: 400, code: 'ConstraintViolationException', message: 'You have exceeded close account quota for the past 30 days.', reason: 'CLOSE_ACCOUNT_QUOTA_EXCEEDED'}, 'AWS_LIMIT_EXCEEDED'],
    ['Organizations CloseAccount (JSON)', {status: 400, code: 'AccountAlreadyClosedException', message: 'You attempted to close an account that is already closed.'}, 'AWS_NOT_FOUND'],
    ['Organizations MoveAccount (JSON)', {status: 400, code: 'ConcurrentModificationException', message: 'The target of the operation is currently being modified by a different request.'}, 'AWS_CONFLICT'],
    ['Organizations MoveAccount (JSON)', {status: 400, code: 'DuplicateAccountException', message: 'That account is already present in the specified destination.'}, 'AWS_CONFLICT'],
    ['STS AssumeRole (query)', {status: 403, code: 'ExpiredToken', message: 'The security token included in the request is expired'}, 'AWS_CREDENTIALS_EXPIRED'],
    ['SSM GetParameter (JSON)', {status: 500, code: 'InternalServerError', message: 'An error occurred'}, 'AWS_SERVER_ERROR'],
  ]
  it.each(cases)('%s answering %j: %s', async (call, refusal, code) => {
    const [operation, send] = calls[call]
    standIn.refusals.set(operation, refusal)
    const caught = await (send as () => Promise<unknown>)().then(() => undefined, (error) => error)
    const error = toInfraError(caught)
    expect(error.code).toBe(code)
    expect(error.exitCode).toBe(1)
    expect(error.message).toContain(`(${refusal.code}`)
    if (refusal.message) expect(error.message).toContain(refusal.message)
    expect(error.message).not.toContain('\n')
    expect(error.fix).toBeTruthy()
  })

  it('StartSession refused with TargetNotConnected names the agent and its endpoints', async () => {
    standIn.refusals.set('StartSession', {status: 400, code: 'TargetNotConnected', message: 'i-0123456789abcdef0 is not connected.'})
    const api = new SdkSessionApi(new SSMClient({...client, endpoint: standIn.endpoint}), standIn.endpoint)
    await expect(api.startSession({Target: 'i-0123456789abcdef0'})).rejects.toMatchObject({code: 'SESSION_TARGET_NOT_CONNECTED', message: expect.stringContaining('is not connected'), fix: expect.stringContaining('ssmmessages')})
  })
})

describe('the commands meeting a refusal', () => {
  const work = mkdtempSync(path.join(os.tmpdir(), 'infra-refusals-'))
  const env = () => ({AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_EC2_METADATA_DISABLED: 'true', AWS_PROFILE: undefined, PATH: `${STANDIN_BIN}${path.delimiter}${process.env.PATH}`})
  const run = async (args: string[]) => {
    const result = await runCli([...args, '--env', 'ops', '--estate', estateFile, '--json'], {env: env(), cwd: work})
    return {exitCode: result.exitCode, error: JSON.parse(result.stdout).error}
  }

  it('session: StartSession TargetNotConnected, and EC2 denying the lookup', async () => {
    standIn.refusals.set('StartSession', {status: 400, code: 'TargetNotConnected', message: 'i-0abc is not connected.'})
    expect(await run(['session', 'bastion', '--reason', 'r', '--command', 'true'])).toMatchObject({exitCode: 1, error: {code: 'SESSION_TARGET_NOT_CONNECTED'}})
    standIn.refusals.clear()
    standIn.refusals.set('DescribeInstances', {status: 403, code: 'UnauthorizedOperation', message: 'You are not authorized to perform this operation.'})
    expect(await run(['session', 'bastion', '--reason', 'r', '--command', 'true'])).toMatchObject({exitCode: 1, error: {code: 'AWS_ACCESS_DENIED', message: expect.stringContaining('You are not authorized')}})
  })

  it('tunnel eks: a stale cluster name is EKS_CLUSTER_NOT_FOUND, naming the parameter', async () => {
    standIn.refusals.set('DescribeCluster', {status: 404, code: 'ResourceNotFoundException', message: 'No cluster found for name: acme-ops-eks.'})
    const {exitCode, error} = await run(['tunnel', 'eks', '--reason', 'r', '--kubeconfig', path.join(work, 'kubeconfig')])
    expect(exitCode).toBe(1)
    expect(error).toMatchObject({code: 'EKS_CLUSTER_NOT_FOUND', message: expect.stringContaining('/infra/ops/eks/cluster-name'), fix: expect.stringContaining('infra provision --env ops')})
  })

  it('eks token and logs: STS refusing the role, CloudWatch Logs denying the read', async () => {
    standIn.refusals.set('AssumeRole', {status: 403, code: 'AccessDenied', message: 'User: arn:aws:iam::123456789012:user/test is not authorized to perform: sts:AssumeRole'})
    expect(await run(['eks', 'token', '--cluster', 'acme-ops-eks'])).toMatchObject({exitCode: 1, error: {code: 'ASSUME_ROLE_FAILED', message: expect.stringContaining('not authorized to perform: sts:AssumeRole')}})
    standIn.refusals.clear()
    standIn.refusals.set('FilterLogEvents', {status: 400, code: 'AccessDeniedException', message: 'User is not authorized to perform: logs:FilterLogEvents'})
    const logs = await run(['logs', '--log-group', '/infra/ops/service', '--job', 'j-1'])
    expect(logs, JSON.stringify(logs)).toMatchObject({exitCode: 1, error: {code: 'AWS_ACCESS_DENIED', message: expect.stringContaining('logs:FilterLogEvents')}})
  })
})
