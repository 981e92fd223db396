import {existsSync, mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

import {
  CreateAccountCommand,
  CreateOrganizationCommand,
  CreateOrganizationalUnitCommand,
  DescribeCreateAccountStatusCommand,
  ListParentsCommand,
  ListRootsCommand,
  ListTagsForResourceCommand,
  MoveAccountCommand,
  OrganizationsClient,
  RegisterDelegatedAdministratorCommand,
  paginateListAccounts,
} from '@aws-sdk/client-organizations'
import {AssumeRoleCommand, STSClient} from '@aws-sdk/client-sts'
import {execa} from 'execa'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {caBundleHandler} from '../../src/aws/clients.js'
import {BIN, runCli} from '../support/cli.js'
import {type MotoServer, startMoto} from '../support/moto.js'
import {inTerminal, stripAnsi} from '../support/pty.js'

/**
 * `infra onboard-client` against moto's Organizations and STS, as the built CLI in a child process.
 * moto runs through moto_organizations.py, which makes its Organizations answer as AWS does today
 * (documented there): a new account's request reads IN_PROGRESS for its first 3 status reads, an
 * e-mail any account already uses ends FAILED with EMAIL_ALREADY_EXISTS, Account objects carry
 * State and not the retired Status, and CloseAccount has a quota (1 here, so a test can reach it).
 * Provisioning is left out here (--no-provision); the baseline itself is covered by the provision tests.
 */
const MANAGEMENT = '123456789012' // moto's caller account for credentials it did not issue
const estateText = (prodId: string) => `# The estate of the onboarding tests.
organization:
  name: acme
  # the account that runs infra
  managementAccountId: "${MANAGEMENT}"

defaults:
  region: eu-west-1

# Client ranges come from here.
clientCidrPool: 10.64.0.0/12

environments:
  dev:
    accountId: "111111111111" # the dev account
    vpcCidr: 10.1.0.0/16
  prod:
    accountId: "${prodId}"
    vpcCidr: 10.3.0.0/16

clients: {}
`

let moto: MotoServer
let work: string
let estateFile: string
let env: Record<string, string>
let organizations: OrganizationsClient
let clientsOu: string
let prod: {id: string; ou: string}
let ESTATE: string

const sdkConfig = (accountHeader?: string) => ({
  region: 'us-east-1',
  endpoint: moto.endpoint,
  credentials: {accessKeyId: 'test', secretAccessKey: 'test'},
  requestHandler: caBundleHandler({AWS_CA_BUNDLE: moto.caBundle}),
})

async function accountsWithEmail(email: string) {
  const found = []
  for await (const page of paginateListAccounts({client: organizations, pageSize: 20}, {})) {
    found.push(...(page.Accounts ?? []).filter((account) => account.Email === email))
  }
  return found
}

const onboard = (...args: string[]) => runCli(['onboard-client', '--estate', estateFile, '--no-provision', ...args], {env, timeoutMs: 120_000})

beforeAll(async () => {
  moto = await startMoto({
    launcher: fileURLToPath(new URL('../support/moto_organizations.py', import.meta.url)),
    env: {INFRA_MOTO_CREATE_ACCOUNT_POLLS: '3', INFRA_MOTO_CLOSE_ACCOUNT_QUOTA: '1'},
  })
  work = mkdtempSync(path.join(os.tmpdir(), 'infra-onboard-'))
  estateFile = path.join(work, 'estate.yaml')
  env = {
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_CA_BUNDLE: moto.caBundle,
    AWS_ENDPOINT_URL: moto.endpoint,
    INFRA_WORK_DIR: path.join(work, '.infra'),
    INFRA_ONBOARD_POLL_MS: '20',
    INFRA_ONBOARD_ROLE_WAIT_SECONDS: '5',
  }
  organizations = new OrganizationsClient(sdkConfig())
  await organizations.send(new CreateOrganizationCommand({FeatureSet: 'ALL'}))
  const root = (await organizations.send(new ListRootsCommand({}))).Roots![0]
  clientsOu = (await organizations.send(new CreateOrganizationalUnitCommand({ParentId: root.Id, Name: 'Clients'}))).OrganizationalUnit!.Id!
  // More accounts than one ListAccounts page holds (20), so finding by e-mail must read every page.
  for (let index = 0; index < 21; index++) {
    await organizations.send(new CreateAccountCommand({AccountName: `filler-${index}`, Email: `filler-${index}@acme.example`}))
  }
  // The estate's prod account, in its own OU and tagged: what a wrong e-mail must never touch.
  const prodOu = (await organizations.send(new CreateOrganizationalUnitCommand({ParentId: root.Id, Name: 'Production'}))).OrganizationalUnit!.Id!
  const created = await organizations.send(new CreateAccountCommand({AccountName: 'prod', Email: 'aws+prod@acme.example', Tags: [{Key: 'env', Value: 'prod'}]}))
  const prodId = created.CreateAccountStatus!.AccountId ?? (await accountsWithEmail('aws+prod@acme.example'))[0].Id!
  await organizations.send(new MoveAccountCommand({AccountId: prodId, SourceParentId: root.Id, DestinationParentId: prodOu}))
  prod = {id: prodId, ou: prodOu}
  ESTATE = estateText(prodId)
  writeFileSync(estateFile, ESTATE)
}, 300_000)

afterAll(async () => {
  await moto?.stop()
})

describe('infra onboard-client against moto', () => {
  it('--dry-run shows the plan with the next free block and touches nothing', async () => {
    const before = readFileSync(estateFile, 'utf8')
    const result = await onboard('--name', 'globex', '--email', 'aws+globex@acme.example', '--ou', 'Clients', '--dry-run')
    expect(result.stderr).toBe('')
    expect(result.exitCode).toBe(0)
    expect(result.stdout).toMatch(/VPC CIDR\s+10\.64\.0\.0\/16 \(pool 10\.64\.0\.0\/12: 15 block\(s\) left after this one\)/)
    expect(result.stdout).toContain('Dry run: nothing was changed.')
    expect(readFileSync(estateFile, 'utf8')).toBe(before)
    expect(await accountsWithEmail('aws+globex@acme.example')).toEqual([])
  })

  it('onboards a client end to end: account, OU, tags, role, estate entry with comments kept', async () => {
    const result = await onboard('--name', 'globex', '--email', 'aws+globex@acme.example', '--ou', 'Clients', '--tag', 'team=payments', '--yes', '--json')
    const report = JSON.parse(result.stdout)
    expect(report.error).toBeUndefined()
    expect(result.exitCode).toBe(0)
    expect(report.steps.map((step: any) => [step.step, step.outcome])).toEqual([
      ['caller', 'unchanged'],
      ['reserve', 'done'],
      ['account', 'done'],
      ['organizational-unit', 'done'],
      ['tags', 'done'],
      ['access-role', 'unchanged'],
      ['record', 'done'],
      ['provision', 'skipped'],
    ])
    expect(report.steps[2].detail).toMatch(/^created account \d{12} \(request car-/)

    const [account] = await accountsWithEmail('aws+globex@acme.example')
    expect(account.Id).toBe(report.accountId)
    expect(account.Name).toBe('globex')
    const parents = await organizations.send(new ListParentsCommand({ChildId: account.Id}))
    expect(parents.Parents![0].Id).toBe(clientsOu)
    const tags = (await organizations.send(new ListTagsForResourceCommand({ResourceId: account.Id}))).Tags
    expect(tags).toEqual(expect.arrayContaining([{Key: 'team', Value: 'payments'}, {Key: 'infra:client', Value: 'globex'}]))

    const text = readFileSync(estateFile, 'utf8')
    expect(text).toContain('# The estate of the onboarding tests.')
    expect(text).toContain('accountId: "111111111111" # the dev account')
    expect(text).toContain('# Client ranges come from here.')
    expect(text).toContain(`accountId: "${account.Id}"`)
    expect(text).not.toContain('status: pending')

    const list = await runCli(['env', 'list', '--estate', estateFile, '--json'], {env})
    const listed = JSON.parse(list.stdout)
    expect(listed.environments.find((target: any) => target.name === 'globex')).toMatchObject({kind: 'client', accountId: account.Id, vpcCidr: '10.64.0.0/16'})
    expect(listed.pool).toMatchObject({pool: '10.64.0.0/12', capacity: 16, remaining: 15, next: '10.65.0.0/16'})
  })

  it('a rerun changes nothing', async () => {
    const before = readFileSync(estateFile, 'utf8')
    const accountsBefore = (await accountsWithEmail('aws+globex@acme.example')).length
    const result = await onboard('--name', 'globex', '--ou', 'Clients', '--tag', 'team=payments', '--yes', '--json')
    const report = JSON.parse(result.stdout)
    expect(report.error).toBeUndefined()
    expect(report.changed).toBe(false)
    expect(report.steps.filter((step: any) => step.outcome === 'done')).toEqual([])
    expect(readFileSync(estateFile, 'utf8')).toBe(before)
    expect((await accountsWithEmail('aws+globex@acme.example')).length).toBe(accountsBefore)
  })

  it('a kill right after CreateAccount leaves a pending entry and a journaled IN_PROGRESS request; the rerun finishes it without a second account', async () => {
    const args = ['--name', 'initech', '--email', 'aws+initech@acme.example', '--ou', clientsOu, '--yes', '--json']
    const crashed = await runCli(['onboard-client', '--estate', estateFile, '--no-provision', ...args], {env: {...env, INFRA_TEST_CRASH_AT: 'after-create-account'}})
    expect(crashed.exitCode).not.toBe(0)

    const journal = JSON.parse(readFileSync(path.join(work, '.infra/onboarding/initech.json'), 'utf8'))
    expect(journal.createAccountRequestId).toMatch(/^car-/)
    expect(journal.accountId).toBeUndefined()
    // Still being created, as AWS reports for a while after CreateAccount.
    const status = await organizations.send(new DescribeCreateAccountStatusCommand({CreateAccountRequestId: journal.createAccountRequestId}))
    expect(status.CreateAccountStatus!.State).toBe('IN_PROGRESS')

    // The estate holds a recognisable pending entry and stays valid for every command.
    expect(readFileSync(estateFile, 'utf8')).toMatch(/initech:\n\s+status: pending\n/)
    const list = await runCli(['env', 'list', '--estate', estateFile], {env})
    expect(list.exitCode).toBe(0)
    expect(list.stdout).toMatch(/initech\s+pending client\s+-\s+eu-west-1\s+10\.65\.0\.0\/16/)

    // Only the name is needed to resume: e-mail, OU and CIDR come from the estate and the journal.
    const resumed = await onboard('--name', 'initech', '--yes', '--json')
    const report = JSON.parse(resumed.stdout)
    expect(report.error).toBeUndefined()
    expect(report.steps.find((step: any) => step.step === 'account').detail).toBe(`account ${report.accountId} from the journaled request ${journal.createAccountRequestId}`)
    expect(await accountsWithEmail('aws+initech@acme.example')).toHaveLength(1)
    expect(readFileSync(estateFile, 'utf8')).not.toContain('status: pending')
  })

  it('an unrelated account with the e-mail (on a later ListAccounts page) is refused untouched, on the first run and the rerun; --adopt-account with its name adopts it', async () => {
    await organizations.send(new CreateAccountCommand({AccountName: 'hooli-old', Email: 'aws+hooli@acme.example'}))
    const [existing] = await accountsWithEmail('aws+hooli@acme.example')
    const root = (await organizations.send(new ListRootsCommand({}))).Roots![0]
    for (const attempt of ['first run', 'rerun']) {
      const refused = await onboard('--name', 'hooli', '--email', 'aws+hooli@acme.example', '--ou', 'Clients', '--yes', '--json')
      expect(refused.exitCode, attempt).toBe(1)
      const {error} = JSON.parse(refused.stdout)
      expect(error.code).toBe('ACCOUNT_NOT_THE_CLIENTS')
      expect(error.message).toBe(
        `account ${existing.Id} ("hooli-old", in Root) was not created by this onboarding, is not named "hooli" and is not tagged infra:client=hooli: nothing was changed`,
      )
      expect(error.fix).toContain(`--adopt-account ${existing.Id}`)
      expect((await organizations.send(new ListParentsCommand({ChildId: existing.Id}))).Parents![0].Id).toBe(root.Id)
      expect((await organizations.send(new ListTagsForResourceCommand({ResourceId: existing.Id}))).Tags).toEqual([])
      expect(JSON.parse(readFileSync(path.join(work, '.infra/onboarding/hooli.json'), 'utf8')).accountId).toBeUndefined()
    }

    const wrongName = await onboard('--name', 'hooli', '--email', 'aws+hooli@acme.example', '--ou', 'Clients', '--adopt-account', existing.Id!, '--confirm-account', 'hooli', '--yes')
    expect(wrongName.exitCode).toBe(4)
    expect(wrongName.stderr).toContain(`refusing to adopt AWS account ${existing.Id} as client hooli's: --confirm-account "hooli" is not the target's name: pass --confirm-account hooli-old`)

    const result = await onboard('--name', 'hooli', '--email', 'aws+hooli@acme.example', '--ou', 'Clients', '--adopt-account', existing.Id!, '--confirm-account', 'hooli-old', '--yes', '--json')
    const report = JSON.parse(result.stdout)
    expect(report.error).toBeUndefined()
    expect(report.accountId).toBe(existing.Id)
    expect(report.steps.find((step: any) => step.step === 'account').detail).toBe(`adopted account ${existing.Id} ("hooli-old")`)
    expect((await organizations.send(new ListParentsCommand({ChildId: existing.Id}))).Parents![0].Id).toBe(clientsOu)
    expect(await accountsWithEmail('aws+hooli@acme.example')).toHaveLength(1)
    // Tagged now, so a plain rerun proves it by its tag.
    const rerun = JSON.parse((await onboard('--name', 'hooli', '--yes', '--json')).stdout)
    expect(rerun.error).toBeUndefined()
    expect(rerun.steps.find((step: any) => step.step === 'account').detail).toBe(`account ${existing.Id} exists (tagged infra:client)`)
  })

  it('EMAIL_ALREADY_EXISTS (the e-mail is taken by an account of another organization) is a plain error with the next step', async () => {
    // Another organization, under another management account, holds the e-mail.
    const other = new OrganizationsClient(sdkConfig())
    other.middlewareStack.add((next) => (args: any) => {
      args.request.headers['x-moto-account-id'] = '444455556666'
      return next(args)
    }, {step: 'build'})
    await other.send(new CreateOrganizationCommand({FeatureSet: 'ALL'}))
    await other.send(new CreateAccountCommand({AccountName: 'elsewhere', Email: 'taken@elsewhere.example'}))

    const result = await onboard('--name', 'umbrella', '--email', 'taken@elsewhere.example', '--ou', 'Clients', '--yes')
    expect(result.exitCode).toBe(1)
    expect(result.stderr).toMatch(/^Error: AWS could not create the account for umbrella \(EMAIL_ALREADY_EXISTS, request car-\w+\): another AWS account .* already uses this e-mail: give the client a root e-mail no AWS account has used/m)
    expect(await accountsWithEmail('taken@elsewhere.example')).toHaveLength(0)
    const journal = JSON.parse(readFileSync(path.join(work, '.infra/onboarding/umbrella.json'), 'utf8'))
    expect(journal.createAccountRequestId).toBeUndefined()
    expect(journal.lastFailure).toMatchObject({step: 'account', code: 'CREATE_ACCOUNT_EMAIL_ALREADY_EXISTS'})

    // Following the advice: the same client with another e-mail finishes, keeping its reserved range.
    const retried = await onboard('--name', 'umbrella', '--email', 'aws+umbrella@acme.example', '--yes', '--json')
    const report = JSON.parse(retried.stdout)
    expect(report.error).toBeUndefined()
    expect(report.steps.find((step: any) => step.step === 'reserve').detail).toMatch(/e-mail now aws\+umbrella@acme\.example/)
    expect(await accountsWithEmail('aws+umbrella@acme.example')).toHaveLength(1)
  })

  it('a full CIDR pool is a clear error before anything is touched', async () => {
    const full = path.join(work, 'full.yaml')
    writeFileSync(full, ESTATE.replace('clientCidrPool: 10.64.0.0/12', 'clientCidrPool: 10.1.0.0/16'))
    const result = await runCli(['onboard-client', '--estate', full, '--name', 'acme2', '--email', 'aws+acme2@acme.example', '--ou', 'Clients', '--yes', '--json'], {env})
    expect(result.exitCode).toBe(1)
    const {error} = JSON.parse(result.stdout)
    expect(error.code).toBe('CIDR_POOL_FULL')
    expect(error.message).toBe('the client CIDR pool 10.1.0.0/16 is full: all 1 /16 blocks are taken')
    expect(error.details.allocated).toEqual([{cidr: '10.1.0.0/16', owner: 'dev', kind: 'environment'}])
  })

  it('refuses a caller in a member account at the first step, a delegated administrator included, naming the management account', async () => {
    const listed = JSON.parse((await runCli(['env', 'list', '--estate', estateFile, '--json'], {env})).stdout)
    const globexId = listed.environments.find((target: any) => target.name === 'globex').accountId
    // A delegated administrator may read the organization, but not create, move or close accounts.
    await organizations.send(new RegisterDelegatedAdministratorCommand({AccountId: globexId, ServicePrincipal: 'ssm.amazonaws.com'}))
    const sts = new STSClient(sdkConfig())
    const assumed = await sts.send(new AssumeRoleCommand({RoleArn: `arn:aws:iam::${globexId}:role/OrganizationAccountAccessRole`, RoleSessionName: 'test'}))
    const memberEnv = {
      ...env,
      AWS_ACCESS_KEY_ID: assumed.Credentials!.AccessKeyId!,
      AWS_SECRET_ACCESS_KEY: assumed.Credentials!.SecretAccessKey!,
      AWS_SESSION_TOKEN: assumed.Credentials!.SessionToken!,
    }
    const result = await runCli(['onboard-client', '--estate', estateFile, '--no-provision', '--name', 'wayne', '--email', 'aws+wayne@acme.example', '--ou', 'Clients', '--yes'], {env: memberEnv})
    expect(result.exitCode).toBe(1)
    expect(result.stderr).toMatch(new RegExp(`^Error: the credentials are in member account ${globexId} .*not the management account ${MANAGEMENT}.*a delegated administrator cannot make either: run with credentials of the management account ${MANAGEMENT}`, 'm'))
    expect(existsSync(path.join(work, '.infra/onboarding/wayne.json'))).toBe(true)
    expect(JSON.parse(readFileSync(path.join(work, '.infra/onboarding/wayne.json'), 'utf8')).lastFailure).toMatchObject({step: 'caller', code: 'NOT_MANAGEMENT_ACCOUNT'})
    expect(readFileSync(estateFile, 'utf8')).not.toContain('wayne')
  })

  it('without a terminal, a missing flag is an error naming it', async () => {
    const result = await onboard('--name', 'soylent', '--ou', 'Clients', '--yes')
    expect(result.exitCode).toBe(2)
    expect(result.stderr.trim()).toBe('Error: missing --email: pass --email (no terminal to ask on, or --yes was given)')
  })

  it('asks in a terminal, offering the OUs and the next free block, and shows the plan before anything changes', async () => {
    const before = readFileSync(estateFile, 'utf8')
    const {exitCode: code, output} = await inTerminal(['onboard-client', '--estate', estateFile, '--no-provision'], {
      cols: 160,
      rows: 50,
      env,
      answers: [
        {after: /Client name:/, send: 'stark\r'},
        {after: /Root e-mail/, send: 'aws+stark@acme.example\r'},
        {after: /Root\/Clients \(ou-/, send: '\u001b[B\r'}, // down to Root/Clients
        {after: /Region:/, send: '\r'},
        {after: /VPC CIDR \(the next free block of the pool\):.*10\.68\.0\.0\/16/, send: '\r'},
        {after: /Sizing:/, send: '\r'},
        {after: /Tags/, send: 'team=research\r'},
        {after: /Onboard client stark/, send: 'n\r'},
      ],
    })
    const plain = stripAnsi(output)
    expect(plain).toMatch(/organizational unit\s+ou-/)
    expect(plain).toMatch(/VPC CIDR\s+10\.68\.0\.0\/16/)
    expect(plain).toMatch(/tags\s+infra:client=stark, infra:managed-by=infra, team=research/)
    expect(plain).toContain('onboarding not confirmed: nothing was changed')
    expect(code).toBe(4)
    expect(readFileSync(estateFile, 'utf8')).toBe(before)
    expect(await accountsWithEmail('aws+stark@acme.example')).toEqual([])
  })

  it('offboard-client without a terminal needs --yes and --confirm <client-name>; a wrong name refuses; the account stays open unless asked', async () => {
    const before = readFileSync(estateFile, 'utf8')
    const offboard = (...args: string[]) => runCli(['offboard-client', '--estate', estateFile, ...args], {env})
    const unconfirmed = await offboard('--name', 'hooli', '--yes')
    // The guard every account-changing command shares (confirmChange): refused confirmations exit 4.
    expect(unconfirmed.exitCode).toBe(4)
    expect(unconfirmed.stderr.trim()).toBe('Error: refusing to offboard client hooli without the target named: no terminal to type "hooli" on (or CI is set): review the plan, then run again with --yes --confirm hooli')
    const wrong = await offboard('--name', 'hooli', '--yes', '--confirm', 'globex')
    expect(wrong.exitCode).toBe(4)
    expect(wrong.stderr.trim()).toBe('Error: refusing to offboard client hooli: --confirm "globex" is not the target\'s name: pass --confirm hooli (exactly) to change hooli')
    expect(readFileSync(estateFile, 'utf8')).toBe(before)

    const [hooli] = await accountsWithEmail('aws+hooli@acme.example')
    const done = await offboard('--name', 'hooli', '--yes', '--confirm', 'hooli', '--json')
    const report = JSON.parse(done.stdout)
    expect(report).toMatchObject({client: 'hooli', accountId: hooli.Id, removedFromEstate: true, accountClosed: false, destroyed: null})
    expect(report.destroySkipped).toMatch(/^no state bucket acme-hooli-tfstate-\d{12} in \d{12}: nothing was provisioned$/)
    expect(report.closeAccountHint).toContain(`aws organizations close-account --account-id ${hooli.Id}`)
    expect(readFileSync(estateFile, 'utf8')).not.toContain('hooli')
    expect(readFileSync(estateFile, 'utf8')).toContain('# Client ranges come from here.')
    expect((await accountsWithEmail('aws+hooli@acme.example'))[0]).toMatchObject({State: 'ACTIVE'})
    // Organizations as it answers today: Account.Status is retired.
    expect((await accountsWithEmail('aws+hooli@acme.example'))[0].Status).toBeUndefined()
  })

  it('--close-account needs the account name too; a closed (suspended) account keeps its e-mail, and onboarding says so', async () => {
    const offboard = (...args: string[]) => runCli(['offboard-client', '--estate', estateFile, '--name', 'initech', '--yes', '--confirm', 'initech', '--close-account', ...args], {env})
    const missing = await offboard()
    expect(missing.exitCode).toBe(4)
    expect(missing.stderr.trim()).toMatch(/^Error: refusing to close AWS account \d{12} without the target named: .*run again with --yes --confirm-account initech$/)
    expect(readFileSync(estateFile, 'utf8')).toContain('initech')
    const closed = JSON.parse((await offboard('--confirm-account', 'initech', '--json')).stdout)
    expect(closed).toMatchObject({client: 'initech', removedFromEstate: true, accountClosed: true})
    expect((await accountsWithEmail('aws+initech@acme.example'))[0].State).toBe('SUSPENDED')

    const again = await onboard('--name', 'initech2', '--email', 'aws+initech@acme.example', '--ou', 'Clients', '--yes')
    expect(again.exitCode).toBe(1)
    expect(again.stderr).toMatch(new RegExp(`^Error: aws\\+initech@acme\\.example belongs to account ${closed.accountId} \\(initech\\), which is SUSPENDED: its e-mail stays taken: reopen that account`, 'm'))
  })

  it('offboard-client at a terminal wants the client\'s name typed: a wrong one changes nothing', async () => {
    const before = readFileSync(estateFile, 'utf8')
    const {exitCode, output} = await inTerminal(['offboard-client', '--estate', estateFile, '--name', 'globex'], {cols: 160, rows: 50, env, answers: [{after: /Type "globex" to continue/, send: 'globx\r'}]})
    expect(exitCode).toBe(4)
    expect(stripAnsi(output)).toContain('the name typed is not "globex": nothing was changed')
    expect(readFileSync(estateFile, 'utf8')).toBe(before)
  })
  it("prod's e-mail is refused before any change, on the first run and on a rerun whose journal holds prod's id", async () => {
    const before = {parent: prod.ou, tags: [{Key: 'env', Value: 'prod'}]}
    const readBack = async () => ({
      parent: (await organizations.send(new ListParentsCommand({ChildId: prod.id}))).Parents![0].Id,
      tags: (await organizations.send(new ListTagsForResourceCommand({ResourceId: prod.id}))).Tags,
    })
    const first = await onboard('--name', 'globex2', '--email', 'aws+prod@acme.example', '--ou', 'Clients', '--yes', '--json')
    expect(first.exitCode).toBe(1)
    const {error} = JSON.parse(first.stdout)
    expect(error.code).toBe('ACCOUNT_IN_ESTATE')
    expect(error.message).toBe(`account ${prod.id} ("prod", in Root/Production) is environment prod of the estate, not client globex2's: nothing was changed`)
    expect(await readBack()).toEqual(before)

    // A journal an older infra left with prod's id (the rerun used to move and tag it).
    const journalFile = path.join(work, '.infra/onboarding/globex2.json')
    writeFileSync(journalFile, JSON.stringify({...JSON.parse(readFileSync(journalFile, 'utf8')), accountId: prod.id}))
    const rerun = await onboard('--name', 'globex2', '--yes')
    expect(rerun.exitCode).toBe(1)
    expect(rerun.stderr).toMatch(new RegExp(`^Error: account ${prod.id} \\("prod", in Root/Production\\) is environment prod of the estate`, 'm'))
    expect(await readBack()).toEqual(before)
    const adopt = await onboard('--name', 'globex2', '--email', 'aws+prod@acme.example', '--ou', 'Clients', '--adopt-account', prod.id, '--confirm-account', 'prod', '--yes')
    expect(adopt.exitCode).toBe(1)
    expect(adopt.stderr).toContain('an estate account is never adopted')
    expect(await readBack()).toEqual(before)
    expect(readFileSync(estateFile, 'utf8')).not.toMatch(new RegExp(`globex2:[^]*accountId: "${prod.id}"`))
  })

  it('a journal written against another organization is reported as such', async () => {
    const journalFile = path.join(work, '.infra/onboarding/wonka.json')
    writeFileSync(journalFile, JSON.stringify({client: 'wonka', email: 'aws+wonka@acme.example', startedAt: '2026-01-01T00:00:00Z', updatedAt: '2026-01-01T00:00:00Z', accountId: '999988887777', steps: {}}))
    const result = await onboard('--name', 'wonka', '--email', 'aws+wonka@acme.example', '--ou', 'Clients', '--yes', '--json')
    expect(result.exitCode).toBe(1)
    const {error} = JSON.parse(result.stdout)
    expect(error.code).toBe('ACCOUNT_NOT_IN_ORGANIZATION')
    expect(error.message).toMatch(/^account 999988887777 of client wonka \(from the journal\) is not in organization o-\w+: the journal was written against another organization/)
  })

  it('a run killed after CreateAccount, whose estate change and journal are then lost, resumes by e-mail on a fresh work folder: one account, recorded', async () => {
    const before = readFileSync(estateFile, 'utf8')
    const args = ['--name', 'oscorp', '--email', 'aws+oscorp@acme.example', '--ou', 'Clients', '--yes', '--json']
    const crashed = await runCli(['onboard-client', '--estate', estateFile, '--no-provision', ...args], {env: {...env, INFRA_TEST_CRASH_AT: 'after-create-account'}})
    expect(crashed.exitCode).not.toBe(0)
    writeFileSync(estateFile, before)
    const fresh = path.join(work, 'another-machine')
    const resumed = await runCli(['onboard-client', '--estate', estateFile, '--no-provision', ...args], {env: {...env, INFRA_WORK_DIR: fresh}})
    const report = JSON.parse(resumed.stdout)
    expect(report.error).toBeUndefined()
    const accounts = await accountsWithEmail('aws+oscorp@acme.example')
    expect(accounts).toHaveLength(1)
    expect(report.accountId).toBe(accounts[0].Id)
    expect(report.steps.find((step: any) => step.step === 'account').detail).toBe(`found existing account ${accounts[0].Id} with aws+oscorp@acme.example (named "oscorp")`)
    expect(readFileSync(estateFile, 'utf8')).toMatch(new RegExp(`oscorp:\\n(\\s+\\w+: .*\\n)*\\s+accountId: "${accounts[0].Id}"`))
    expect(readFileSync(estateFile, 'utf8')).not.toContain('status: pending\n    email: aws+oscorp')
  })

  it('two onboardings started together get two blocks and both land', async () => {
    const [tyrell, cyberdyne] = await Promise.all([
      onboard('--name', 'tyrell', '--email', 'aws+tyrell@acme.example', '--ou', 'Clients', '--yes', '--json'),
      onboard('--name', 'cyberdyne', '--email', 'aws+cyberdyne@acme.example', '--ou', 'Clients', '--yes', '--json'),
    ])
    const reports = [JSON.parse(tyrell.stdout), JSON.parse(cyberdyne.stdout)]
    expect(reports.map((report) => report.error)).toEqual([undefined, undefined])
    expect(reports[0].vpcCidr).not.toBe(reports[1].vpcCidr)
    const listed = JSON.parse((await runCli(['env', 'list', '--estate', estateFile, '--json'], {env})).stdout)
    for (const report of reports) {
      expect(listed.environments.find((target: any) => target.name === report.client)).toMatchObject({kind: 'client', accountId: report.accountId, vpcCidr: report.vpcCidr})
    }
  })

  it('SIGINT and SIGTERM while the account is being created exit 130; the rerun continues from the journal', async () => {
    for (const [client, signal] of [['massive', 'SIGINT'], ['gringotts', 'SIGTERM']] as const) {
      const journalFile = path.join(work, `.infra/onboarding/${client}.json`)
      const child = execa('node', [BIN, 'onboard-client', '--estate', estateFile, '--no-provision', '--name', client, '--email', `aws+${client}@acme.example`, '--ou', 'Clients', '--yes'], {
        reject: false,
        env: {...env, CI: '', INFRA_ONBOARD_POLL_MS: '3000'},
        stdin: 'ignore',
        // execa follows a SIGTERM with SIGKILL after 5 s by default; a loaded machine may need longer to exit.
        forceKillAfterDelay: false,
      })
      const deadline = Date.now() + 60_000
      let exited = false
      void child.then(() => (exited = true))
      while (!(existsSync(journalFile) && JSON.parse(readFileSync(journalFile, 'utf8')).createAccountRequestId)) {
        if (Date.now() > deadline || exited) throw new Error(`no request journaled for ${client}: ${(await child).stderr}`)
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
      child.kill(signal)
      const result = await child
      expect(result.exitCode, `${signal} (ended by ${result.signal ?? 'exit'}): ${result.stderr}`).toBe(130)
      const journal = JSON.parse(readFileSync(journalFile, 'utf8'))
      expect(journal.lastFailure).toMatchObject({step: 'account', code: 'INTERRUPTED'})
      const resumed = JSON.parse((await onboard('--name', client, '--yes', '--json')).stdout)
      expect(resumed.error).toBeUndefined()
      expect(resumed.steps.find((step: any) => step.step === 'account').detail).toBe(`account ${resumed.accountId} from the journaled request ${journal.createAccountRequestId}`)
      expect(await accountsWithEmail(`aws+${client}@acme.example`)).toHaveLength(1)
    }
  })

  it('a CloseAccount refused by its quota keeps the estate entry and the journal, and says what to rerun', async () => {
    const [account] = await accountsWithEmail('aws+tyrell@acme.example')
    const result = await runCli(
      ['offboard-client', '--estate', estateFile, '--name', 'tyrell', '--yes', '--confirm', 'tyrell', '--close-account', '--confirm-account', 'tyrell', '--work-dir', path.join(work, '.infra'), '--json'],
      {env},
    )
    expect(result.exitCode).toBe(1)
    const {error} = JSON.parse(result.stdout)
    expect(error.code).toBe('CLOSE_ACCOUNT_QUOTA')
    expect(error.message).toBe(
      `AWS refused CloseAccount on account ${account.Id} (ConstraintViolationException CLOSE_ACCOUNT_QUOTA_EXCEEDED): You have exceeded close account quota for the past 30 days. (tyrell is still in the estate, with its journal and baseline record)`,
    )
    expect(error.fix).toMatch(/then run the same offboard-client command again$/)
    expect(readFileSync(estateFile, 'utf8')).toContain(`accountId: "${account.Id}"`)
    expect(existsSync(path.join(work, '.infra/onboarding/tyrell.json'))).toBe(true)
    expect((await accountsWithEmail('aws+tyrell@acme.example'))[0].State).toBe('ACTIVE')
  })
})
