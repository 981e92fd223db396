import {existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

import {CloudWatchLogsClient, FilterLogEventsCommand} from '@aws-sdk/client-cloudwatch-logs'
import {DescribeInstancesCommand, EC2Client} from '@aws-sdk/client-ec2'
import {DescribeClusterCommand, EKSClient} from '@aws-sdk/client-eks'
import {
  CloseAccountCommand,
  CreateAccountCommand,
  CreateOrganizationCommand,
  CreateOrganizationalUnitCommand,
  DescribeAccountCommand,
  ListParentsCommand,
  ListRootsCommand,
  ListTagsForResourceCommand,
  MoveAccountCommand,
  OrganizationsClient,
  paginateListAccounts,
} from '@aws-sdk/client-organizations'
import {HeadBucketCommand, S3Client} from '@aws-sdk/client-s3'
import {GetParameterCommand, SSMClient} from '@aws-sdk/client-ssm'
import {AssumeRoleCommand, STSClient} from '@aws-sdk/client-sts'
import {afterAll, afterEach, beforeAll, describe, expect, inject, it} from 'vitest'
import {stringify} from 'yaml'

import {toInfraError} from '../../src/output/cli-errors.js'
import {SdkSessionApi} from '../../src/ssm/session-api.js'
import {type CliResult, runCli} from '../support/cli.js'
import {fakeTerraform} from '../support/fake-terraform.js'
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
afterAll(async () => standIn?.stop())

describe('each kind of AWS refusal, in each protocol, as the SDK reads it', () => {
  afterEach(() => standIn.refusals.clear())
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
  afterEach(() => standIn.refusals.clear())
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

/**
 * The account-changing command families meeting each kind of refusal their calls can answer with,
 * through the built CLI: onboard-client (the caller check, CreateAccount, MoveAccount,
 * TagResource), offboard-client (DescribeAccount, CloseAccount) and provision's own calls before
 * terraform (the role assumed through STS, the state bucket read with HeadObject). Which
 * exceptions a call can answer is its SDK model's list (@aws-sdk/client-organizations
 * dist-types/commands/<Call>Command.d.ts); a kind is driven through a call that has it there
 * (MoveAccount has no quota, CreateAccount no not-found; AssumeRole answers a role that does not
 * exist with AccessDenied, and S3 answers a missing state object with 404, which means "not
 * applied yet"). Each: exit 1, one line naming AWS's code with a fix, never INTERNAL_ERROR, and
 * nothing recorded for the step that did not happen. Throttling is answered to every attempt, so
 * it is seen after the SDK's retries. The three families run side by side, each with its own
 * estate, work folder and access key (which scopes its refusals), against the one moto.
 */
describe('onboard-client, offboard-client and provision meeting each refusal', () => {
  // The organization's management account: the families' keys act in it (the stand-in's accounts),
  // never in moto's default account, which other files share (their onboarding examples expect no organization there).
  const MANAGEMENT = '555555555540'
  const ORGANIZATION_KEY = 'AKIDREFUSEORGANIZATION'
  const root = mkdtempSync(path.join(os.tmpdir(), 'infra-refusals-families-'))
  const THROTTLED = 'TooManyRequestsException'
  let organizations: OrganizationsClient
  let rootId: string

  /** One family's estate, work folder and access key, and the CLI run with them. */
  function family(name: string, extra: Record<string, unknown> = {}) {
    const work = path.join(root, name)
    const workDir = path.join(work, '.infra')
    const estatePath = path.join(work, 'estate.yaml')
    const accessKey = `AKIDREFUSE${name.toUpperCase()}`
    standIn.accounts.set(accessKey, MANAGEMENT)
    mkdirSync(work, {recursive: true})
    writeFileSync(
      estatePath,
      stringify({
        organization: {name: 'acme', managementAccountId: MANAGEMENT},
        endpoint: standIn.endpoint,
        defaults: {region: 'eu-west-1'},
        clientCidrPool: '10.160.0.0/12',
        environments: {refprov: {accountId: '555555555531', vpcCidr: '10.65.0.0/16', sizing: 'small'}},
        clients: {},
        ...extra,
      }),
    )
    const env = {
      AWS_ACCESS_KEY_ID: accessKey,
      AWS_SECRET_ACCESS_KEY: 'test',
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_PROFILE: undefined,
      INFRA_WORK_DIR: workDir,
      INFRA_ONBOARD_POLL_MS: '20',
      INFRA_ONBOARD_ROLE_WAIT_SECONDS: '5',
    }
    const cli = async (args: string[]): Promise<CliResult & {error: any}> => {
      const result = await runCli([...args, '--estate', estatePath, '--json'], {env, cwd: work})
      return {...result, error: result.stdout.trim().startsWith('{') ? JSON.parse(result.stdout).error : undefined}
    }
    /** Refuses `operation` for this family's calls only, runs `args`, and stops refusing. */
    const refused = async (operation: string, refusal: Refusal, args: string[]) => {
      const before = standIn.refused.filter((called) => called === operation).length
      standIn.refusals.set(operation, {match: accessKey, ...refusal})
      try {
        const result = await cli(args)
        return {...result, attempts: standIn.refused.filter((called) => called === operation).length - before}
      } finally {
        standIn.refusals.delete(operation)
      }
    }
    const journal = (client: string) => {
      const file = path.join(workDir, 'onboarding', `${client}.json`)
      return existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : undefined
    }
    return {work, workDir, estatePath, cli, refused, journal, estate: () => readFileSync(estatePath, 'utf8')}
  }

  /** Exit 1, one line that names AWS's code, a fix, the expected code; never INTERNAL_ERROR. */
  function expectRefused(result: CliResult & {error: any}, code: string, awsCode: string, label: string) {
    expect(result.error, `${label}: ${result.stdout}${result.stderr}`).toBeDefined()
    expect(result.error.code, label).not.toBe('INTERNAL_ERROR')
    expect({exitCode: result.exitCode, code: result.error.code}, label).toEqual({exitCode: 1, code})
    expect(result.error.message, label).toContain(awsCode)
    expect(result.error.message, label).not.toContain('\n')
    expect(result.error.fix, label).toMatch(/\w/)
  }

  const accountWithEmail = async (email: string) => {
    for await (const page of paginateListAccounts({client: organizations}, {})) {
      const found = page.Accounts?.find((account) => account.Email === email)
      if (found) return found
    }
    return undefined
  }

  beforeAll(async () => {
    standIn.accounts.set(ORGANIZATION_KEY, MANAGEMENT)
    organizations = new OrganizationsClient({region: 'us-east-1', endpoint: standIn.endpoint, credentials: {accessKeyId: ORGANIZATION_KEY, secretAccessKey: 'test'}})
    await organizations.send(new CreateOrganizationCommand({FeatureSet: 'ALL'}))
    rootId = (await organizations.send(new ListRootsCommand({}))).Roots![0].Id!
    await organizations.send(new CreateOrganizationalUnitCommand({ParentId: rootId, Name: 'RefusalClients'}))
  })

  it.concurrent('onboard-client: the caller check, CreateAccount, MoveAccount and TagResource refused; the rerun finishes', async () => {
    const {refused, journal, estate, cli} = family('onboard')
    const client = 'refused-vend'
    const email = `aws+${client}-${Date.now()}@acme.example`
    const args = ['onboard-client', '--name', client, '--email', email, '--ou', 'RefusalClients', '--no-provision', '--yes']

    // Not found: the caller's organization. Nothing is reserved before the caller is checked.
    const before = estate()
    const notInUse = await refused('DescribeOrganization', {status: 400, code: 'AWSOrganizationsNotInUseException', message: 'Your account is not a member of an organization.'}, args)
    expect(notInUse.exitCode).toBe(1)
    expect(notInUse.error).toMatchObject({code: 'NOT_IN_ORGANIZATION', fix: expect.stringContaining('management account')})
    expect(estate()).toBe(before)
    expect(journal(client)?.steps ?? {}).toEqual({})

    const createCases: [Refusal, string][] = [
      [{status: 400, code: 'AccessDeniedException', message: 'You don\'t have permissions to access this resource.'}, 'CREATE_ACCOUNT_DENIED'],
      [{status: 400, code: 'ConstraintViolationException', message: 'You have reached the maximum number of accounts in the organization.', reason: 'ACCOUNT_NUMBER_LIMIT_EXCEEDED'}, 'CREATE_ACCOUNT_ACCOUNT_NUMBER_LIMIT_EXCEEDED'],
      [{status: 400, code: 'InvalidInputException', message: 'You provided a value that does not match the required pattern.', reason: 'INVALID_PATTERN'}, 'CREATE_ACCOUNT_INVALID'],
      [{status: 400, code: THROTTLED, message: 'You have sent too many requests in too short a period of time.'}, 'CREATE_ACCOUNT_THROTTLED'],
    ]
    for (const [refusal, code] of createCases) {
      const result = await refused('CreateAccount', refusal, args)
      const label = `CreateAccount ${refusal.code}`
      expectRefused(result, code, refusal.code, label)
      expect(result.error.message, label).toContain(refusal.message)
      // Throttling is seen only after the SDK has retried (adaptive mode, 6 attempts in all).
      expect(result.attempts, label).toBe(refusal.code === THROTTLED ? 6 : 1)
      expect(journal(client), label).toMatchObject({lastFailure: {step: 'account', code}})
      expect(journal(client).createAccountRequestId, label).toBeUndefined()
      expect(journal(client).accountId, label).toBeUndefined()
      expect(await accountWithEmail(email), label).toBeUndefined()
      // Reserved (pending, without an account), never recorded as a client.
      expect(estate(), label).toMatch(new RegExp(`${client}:\\n\\s+status: pending`))
    }

    const moveCases: [Refusal, string][] = [
      [{status: 400, code: 'DestinationParentNotFoundException', message: 'We can\'t find the destination container (a root or OU) with the ParentId that you specified.'}, 'MOVE_ACCOUNT_NOT_FOUND'],
      [{status: 400, code: 'InvalidInputException', message: 'You provided a value that does not match the required pattern.', reason: 'INVALID_PATTERN_TARGET_ID'}, 'MOVE_ACCOUNT_INVALID'],
    ]
    for (const [refusal, code] of moveCases) {
      const result = await refused('MoveAccount', refusal, args)
      const label = `MoveAccount ${refusal.code}`
      expectRefused(result, code, refusal.code, label)
      const accountId = journal(client).accountId
      expect(accountId, label).toMatch(/^\d{12}$/)
      expect(journal(client).steps['organizational-unit'], label).toBeUndefined()
      expect((await organizations.send(new ListParentsCommand({ChildId: accountId}))).Parents![0].Id, label).toBe(rootId)
    }

    const tagQuota: Refusal = {status: 400, code: 'ConstraintViolationException', message: 'You have exceeded the maximum number of tags allowed on this resource.', reason: 'MAX_TAG_LIMIT_EXCEEDED'}
    const tagged = await refused('TagResource', tagQuota, args)
    expectRefused(tagged, 'TAG_RESOURCE_QUOTA', 'MAX_TAG_LIMIT_EXCEEDED', 'TagResource quota')
    const accountId = journal(client).accountId
    expect(journal(client).steps['organizational-unit']).toBeDefined()
    expect(journal(client).steps.tags).toBeUndefined()
    expect(((await organizations.send(new ListTagsForResourceCommand({ResourceId: accountId}))).Tags ?? []).map((tag) => tag.Key)).not.toContain('infra:client')

    // AWS answering again: the same command finishes from the journal.
    const rerun = await cli(args)
    expect(rerun.exitCode, rerun.stdout).toBe(0)
    expect(JSON.parse(rerun.stdout).steps.map((step: any) => [step.step, step.outcome])).toEqual([
      ['caller', 'unchanged'],
      ['reserve', 'unchanged'],
      ['account', 'unchanged'],
      ['organizational-unit', 'unchanged'],
      ['tags', 'done'],
      ['access-role', 'unchanged'],
      ['record', 'done'],
      ['provision', 'skipped'],
    ])
    expect(estate()).not.toMatch(/status: pending/)
  }, 240_000)

  it.concurrent('offboard-client --close-account: DescribeAccount and CloseAccount refused; the client stays, the account stays open', async () => {
    // A client onboarding left behind: its account in the organization, its entry and journal.
    const client = 'refused-close'
    const email = `aws+${client}-${Date.now()}@acme.example`
    await organizations.send(new CreateAccountCommand({AccountName: client, Email: email}))
    const accountId = (await accountWithEmail(email))!.Id!
    const {refused, journal, estate, workDir} = family('offboard', {clients: {[client]: {accountId, email, vpcCidr: '10.161.0.0/16', sizing: 'small'}}})
    mkdirSync(path.join(workDir, 'onboarding'), {recursive: true})
    writeFileSync(path.join(workDir, 'onboarding', `${client}.json`), JSON.stringify({client, email, accountId, steps: {record: {at: new Date().toISOString(), outcome: 'recorded'}}}))
    const args = ['offboard-client', '--name', client, '--no-destroy', '--close-account', '--yes', '--confirm', client, '--confirm-account', client]
    const cases: [string, Refusal, string][] = [
      ['DescribeAccount', {status: 400, code: 'AccessDeniedException', message: 'You don\'t have permissions to access this resource.'}, 'AWS_ACCESS_DENIED'],
      ['CloseAccount', {status: 400, code: 'AccountNotFoundException', message: 'We can\'t find an AWS account with the AccountId that you specified.'}, 'CLOSE_ACCOUNT_NOT_IN_ORGANIZATION'],
      ['CloseAccount', {status: 400, code: 'InvalidInputException', message: 'You provided a value that does not match the required pattern.', reason: 'INVALID_PATTERN'}, 'CLOSE_ACCOUNT_INVALID'],
      ['CloseAccount', {status: 400, code: 'ConstraintViolationException', message: 'You have exceeded close account quota for the past 30 days.', reason: 'CLOSE_ACCOUNT_QUOTA_EXCEEDED'}, 'CLOSE_ACCOUNT_QUOTA'],
      ['CloseAccount', {status: 400, code: THROTTLED, message: 'You have sent too many requests in too short a period of time.'}, 'CLOSE_ACCOUNT_THROTTLED'],
    ]
    for (const [operation, refusal, code] of cases) {
      const before = estate()
      const result = await refused(operation, refusal, args)
      const label = `${operation} ${refusal.code}`
      expectRefused(result, code, refusal.code, label)
      expect(result.attempts, label).toBe(refusal.code === THROTTLED ? 6 : 1)
      expect(estate(), label).toBe(before)
      expect(journal(client), label).toMatchObject({accountId})
      expect((await organizations.send(new DescribeAccountCommand({AccountId: accountId}))).Account!.State, label).toBe('ACTIVE')
    }
  }, 240_000)

  it.concurrent('provision: STS refusing the role and S3 refusing the state bucket, before terraform runs', async () => {
    const {refused, work} = family('provision')
    const plan = {resource_changes: [{address: 'aws_vpc.main', type: 'aws_vpc', change: {actions: ['create']}}]}
    const s3 = new S3Client({region: 'eu-west-1', endpoint: standIn.endpoint, forcePathStyle: true, credentials: {accessKeyId: 'test', secretAccessKey: 'test'}})
    // HeadObject is signed with the assumed role's keys: refused by the bucket's name in the path instead.
    const cases: [string, Refusal, string, number][] = [
      ['AssumeRole', {status: 403, code: 'AccessDenied', message: 'User: arn:aws:iam::123456789012:user/test is not authorized to perform: sts:AssumeRole'}, 'ASSUME_ROLE_FAILED', 1],
      // The credential provider's own STS client makes 3 attempts in all.
      ['AssumeRole', {status: 400, code: 'Throttling', message: 'Rate exceeded'}, 'AWS_THROTTLED', 3],
      ['AssumeRole', {status: 400, code: 'ValidationError', message: '1 validation error detected: Value at \'durationSeconds\' failed to satisfy constraint'}, 'AWS_VALIDATION', 1],
      ['HeadObject', {status: 403, code: 'Forbidden', message: '', match: 'refprov-tfstate'}, 'STATE_BUCKET_FORBIDDEN', 1],
      ['HeadObject', {status: 400, code: 'BadRequest', message: '', match: 'refprov-tfstate'}, 'AWS_VALIDATION', 1],
      ['HeadObject', {status: 503, code: 'SlowDown', message: '', match: 'refprov-tfstate'}, 'AWS_THROTTLED', 6],
    ]
    for (const [operation, refusal, code, attempts] of cases) {
      const label = `${operation} ${refusal.status} ${refusal.code}`
      const terraform = fakeTerraform(plan)
      const dir = path.join(work, `${operation}-${refusal.status}`)
      const result = await refused(operation, refusal, ['provision', '--env', 'refprov', '--yes', '--terraform', terraform.binary, '--work-dir', dir])
      // A HEAD answer has no body: the status is all AWS says.
      expectRefused(result, code, operation === 'HeadObject' ? String(refusal.status) : refusal.code, label)
      expect(result.attempts, label).toBe(attempts)
      const calls = existsSync(terraform.calls) ? readFileSync(terraform.calls, 'utf8').trim().split('\n') : []
      expect(calls.filter((call) => ['init', 'plan', 'apply'].includes(call)), label).toEqual([])
      const left = existsSync(dir) ? readdirSync(dir, {recursive: true}).map(String).filter((file) => /infra\.tfplan$|bootstrap_override|interrupted/.test(file)) : []
      expect(left, label).toEqual([])
      const bucket = await s3.send(new HeadBucketCommand({Bucket: 'acme-refprov-tfstate-555555555531'})).then(() => 'exists', (error: Error) => error.name)
      expect(bucket, label).toBe('NotFound')
    }
  }, 240_000)
})
