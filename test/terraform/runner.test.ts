import {EventEmitter} from 'node:events'
import {existsSync, mkdtempSync, readFileSync, writeFileSync, chmodSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import {describe, expect, it} from 'vitest'

import {findTerraformBinary, writeCliConfig} from '../../src/terraform/binary.js'
import {groupMembers, runInOwnGroup} from '../../src/terraform/process.js'
import {Terraform, callsInFlight, createdOutsideState, firstError, importsOfNothing, likelyFix, summarizePlan} from '../../src/terraform/runner.js'
import {orderByManifest} from '../../src/stacks/app.js'

describe('summarizePlan', () => {
  it('counts creates, updates, replacements and deletions apart, and ignores reads and no-ops', () => {
    const plan = {
      resource_changes: [
        {address: 'aws_vpc.a', type: 'aws_vpc', change: {actions: ['create']}},
        {address: 'aws_kms_key.k', type: 'aws_kms_key', change: {actions: ['update']}},
        {address: 'aws_db_instance.d', type: 'aws_db_instance', change: {actions: ['delete', 'create']}},
        {address: 'aws_eks_cluster.e', type: 'aws_eks_cluster', change: {actions: ['create', 'delete']}},
        {address: 'aws_s3_bucket.b', type: 'aws_s3_bucket', change: {actions: ['delete']}},
        {address: 'data.aws_ssm_parameter.p', type: 'aws_ssm_parameter', change: {actions: ['read']}},
        {address: 'aws_subnet.s', type: 'aws_subnet', change: {actions: ['no-op']}},
      ],
    }
    const summary = summarizePlan(plan)
    expect([summary.create, summary.update, summary.replace, summary.delete]).toEqual([1, 1, 2, 1])
    expect(summary.changes.map((c) => c.action)).toEqual(['create', 'update', 'replace', 'replace', 'delete'])
    expect(summarizePlan({})).toMatchObject({create: 0, changes: []})
  })

  // terraform 1.11's `show -json` of a plan importing an existing parameter group (moto), unchanged.
  it('counts imports, and an import with nothing to change as an import rather than a no-op', () => {
    const summary = summarizePlan(JSON.parse(readFileSync(path.join(FIXTURES, 'import.plan.json'), 'utf8')))
    expect(summary).toMatchObject({create: 0, update: 0, replace: 0, delete: 0, import: 1})
    expect(summary.changes).toEqual([{address: 'aws_db_parameter_group.pg', type: 'aws_db_parameter_group', action: 'import', importing: 'acme-x-postgres16'}])
    const importAndReplace = {resource_changes: [{address: 'aws_s3_bucket.b', type: 'aws_s3_bucket', change: {actions: ['delete', 'create'], importing: {id: 'b'}}}]}
    expect(summarizePlan(importAndReplace)).toMatchObject({replace: 1, import: 1, changes: [{action: 'replace', importing: 'b'}]})
  })
})

const FIXTURES = path.join(import.meta.dirname, 'fixtures')

describe('what an interrupted apply left in flight', () => {
  // Captured: terraform 1.11 applying three resources against moto, SIGINT while the parameter
  // group's CreateDBParameterGroup was held by a proxy (then carried out by moto all the same).
  const stdout = readFileSync(path.join(FIXTURES, 'interrupted-apply.stdout.txt'), 'utf8')
  const stderr = readFileSync(path.join(FIXTURES, 'interrupted-apply.stderr.txt'), 'utf8')

  it('is the operation started and never finished, read from terraform\'s progress lines', () => {
    expect(stderr).toContain('context canceled')
    expect(callsInFlight(stdout)).toEqual([{address: 'aws_db_parameter_group.pg', action: 'create'}])
  })

  it('follows replacements and deletions, and addresses with keys', () => {
    const output = [
      'aws_instance.a: Destroying... [id=i-1]',
      'aws_instance.a: Destruction complete after 2s',
      'aws_instance.a: Creating...',
      'aws_subnet.s["a"]: Modifying... [id=subnet-1]',
      'aws_subnet.s["a"]: Still modifying... [id=subnet-1, 10s elapsed]',
      'aws_kms_key.k: Destroying... [id=k]',
    ].join('\n')
    expect(callsInFlight(output)).toEqual([
      {address: 'aws_instance.a', action: 'create'},
      {address: 'aws_subnet.s["a"]', action: 'update'},
      {address: 'aws_kms_key.k', action: 'delete'},
    ])
    expect(callsInFlight('Apply complete! Resources: 0 added, 0 changed, 0 destroyed.')).toEqual([])
  })

  it('finds the creates that failed because AWS already has an object of that name', () => {
    // Captured: terraform 1.11 creating a parameter group moto already had.
    const output = readFileSync(path.join(FIXTURES, 'already-exists.apply.txt'), 'utf8')
    expect(createdOutsideState(output)).toEqual(['aws_db_parameter_group.pg'])
    // The same in the boxed form terraform draws on a terminal, with an IAM role's wording.
    const boxed = '╷\n│ Error: creating IAM Role (acme-dev-nodes): operation error IAM: CreateRole, https response error StatusCode: 409, EntityAlreadyExists: Role with name acme-dev-nodes already exists.\n│\n│   with aws_iam_role.nodes,\n│   on cdk.tf.json line 9\n╵'
    expect(createdOutsideState(boxed)).toEqual(['aws_iam_role.nodes'])
    expect(createdOutsideState('Error: updating VPC: InvalidParameterValue: already exists\n\n  with aws_vpc.a,')).toEqual([])
  })

  it('finds the addresses whose import names nothing in terraform\'s plan error', () => {
    // Captured: terraform 1.11 planning an import block for a parameter group moto does not have.
    const output = readFileSync(path.join(FIXTURES, 'import-missing.plan.txt'), 'utf8')
    expect(importsOfNothing(output)).toEqual(['aws_db_parameter_group.pg'])
    expect(importsOfNothing('Error: creating VPC: to "aws_vpc.a"')).toEqual([])
  })
})

describe('firstError', () => {
  it('keeps the first error paragraph of terraform output on one line', () => {
    const output = `\n╷\n│ Error: creating EC2 VPC: operation error EC2: CreateVpc,\n│ https response error StatusCode: 400\n│\n│   with aws_vpc.a,\n│   on cdk.tf.json line 5\n╵\n╷\n│ Error: second\n╵`
    expect(firstError(output)).toBe('creating EC2 VPC: operation error EC2: CreateVpc, https response error StatusCode: 400')
    expect(firstError('just text')).toBe('just text')
  })

  it('adds the detail when the summary stands alone, skipping location lines', () => {
    const output = `\n╷\n│ Error: Unsupported argument\n│\n│   on cdk.tf.json line 3, in resource "aws_vpc" "a":\n│    3:   "foo": 1\n│\n│ An argument named "foo" is not expected here.\n╵\n`
    expect(firstError(output)).toBe('Unsupported argument: An argument named "foo" is not expected here.')
  })
})

describe('terraform failures keep terraform\'s reason and name the likely cause', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'infra-tf-fail-'))
  writeFileSync(path.join(dir, 'main.tf.json'), JSON.stringify({terraform: {required_providers: {aws: {source: 'hashicorp/aws', version: '5.100.0'}}}}))

  it('init with no reachable registry or mirror (real terraform): the reason and --plugin-mirror', async () => {
    // A provider mirror on a closed port: what an offline machine without --plugin-mirror meets, on any machine.
    const rc = path.join(dir, 'unreachable.rc')
    writeFileSync(rc, 'provider_installation {\n  network_mirror {\n    url = "https://127.0.0.1:9/"\n  }\n}\n')
    const terraform = new Terraform({binary: findTerraformBinary(), cwd: dir, env: {TF_CLI_CONFIG_FILE: rc}, timeoutMs: 60_000})
    const error = await terraform.init({backend: false}).then(() => undefined, (caught) => caught)
    expect(error).toMatchObject({code: 'TERRAFORM_INIT_FAILED'})
    expect(error.message).toMatch(/Failed to query available provider packages: .*127\.0\.0\.1:9.*connection refused/)
    expect(error.fix).toMatch(/--plugin-mirror/)
  })

  it('names credentials, the state lock and the network from terraform\'s own words', () => {
    // Wording of terraform 1.11 and the AWS provider 5.x.
    expect(likelyFix('No valid credential sources found: Please see https://registry.terraform.io/providers/hashicorp/aws for more information')).toMatch(/--profile/)
    expect(likelyFix('retrieving caller identity from STS: operation error STS: GetCallerIdentity, https response error StatusCode: 403, api error InvalidClientTokenId: The security token included in the request is invalid.')).toMatch(/credentials/)
    expect(likelyFix('Error acquiring the state lock: operation error S3: PutObject, https response error StatusCode: 412, api error PreconditionFailed')).toMatch(/force-unlock/)
    expect(likelyFix('creating EC2 VPC: operation error EC2: CreateVpc, exceeded maximum number of attempts, 25, https response error: dial tcp 10.0.0.1:443: i/o timeout')).toMatch(/network/)
  })
})

describe('a terraform run in its own process group', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'infra-group-'))
  // Stands in for terraform and a provider plugin: a parent that traps SIGINT (records each one,
  // then stops after a moment, as terraform does) and a child in the same group that does not.
  const script = path.join(dir, 'terraform-like')
  writeFileSync(
    script,
    `#!/bin/sh
trap 'echo int >> "$1"; sleep 0.5; exit 1' INT
echo started > "$1.pid"
sleep 60 &
echo $! >> "$1.pid"
wait
wait
`,
  )
  chmodSync(script, 0o755)
  const started = async (record: string) => {
    while (!existsSync(`${record}.pid`) || readFileSync(`${record}.pid`, 'utf8').split('\n').length < 3) await new Promise((resolve) => setTimeout(resolve, 20))
  }

  // SIGHUP: the terminal closed or the SSH connection to the jump box dropped. terraform runs in a
  // session of its own, so the kernel's SIGHUP never reaches it: infra must stop it.
  it.each(['SIGINT', 'SIGTERM', 'SIGHUP'] as const)('forwards one SIGINT to the group on %s, waits for it to stop, and leaves no process behind', async (signal) => {
    const signals = new EventEmitter()
    const record = path.join(dir, `once-${signal}.log`)
    const run = runInOwnGroup(script, [record], {cwd: dir, env: process.env, signals, graceMs: 1000})
    await started(record)
    signals.emit(signal)
    const result = await run
    expect(result.interrupted).toEqual({signal, forced: false})
    expect(readFileSync(record, 'utf8')).toBe('int\n')
    expect(result.pgid && groupMembers(result.pgid)).toEqual([])
    expect(signals.listenerCount('SIGINT') + signals.listenerCount('SIGTERM') + signals.listenerCount('SIGHUP')).toBe(0)
  })

  it('kills the group on a second signal', async () => {
    const signals = new EventEmitter()
    const record = path.join(dir, 'twice.log')
    writeFileSync(path.join(dir, 'slow-stop'), `#!/bin/sh\ntrap 'echo int >> "$1"' INT TERM\necho s > "$1.pid"\nsleep 60 &\necho $! >> "$1.pid"\nwhile true; do wait; done\n`)
    chmodSync(path.join(dir, 'slow-stop'), 0o755)
    const run = runInOwnGroup(path.join(dir, 'slow-stop'), [record], {cwd: dir, env: process.env, signals, graceMs: 60_000})
    await started(record)
    signals.emit('SIGTERM')
    await new Promise((resolve) => setTimeout(resolve, 300))
    signals.emit('SIGINT')
    const result = await run
    expect(result.interrupted).toEqual({signal: 'SIGTERM', forced: true})
    expect(result.pgid && groupMembers(result.pgid)).toEqual([])
  })

  it('turns an interrupted terraform step into exit 130 saying what is left', async () => {
    const signals = new EventEmitter()
    const record = path.join(dir, 'apply.log')
    // The script takes its record file as first argument; apply passes its own, so wrap it.
    const wrapper = path.join(dir, 'wrapper')
    writeFileSync(wrapper, `#!/bin/sh\nexec ${JSON.stringify(script)} ${JSON.stringify(record)}\n`)
    chmodSync(wrapper, 0o755)
    const applying = new Terraform({binary: wrapper, cwd: dir, signals, graceMs: 1000}).apply('plan.tfplan')
    await started(record)
    signals.emit('SIGINT')
    await expect(applying).rejects.toMatchObject({code: 'TERRAFORM_INTERRUPTED', exitCode: 130, message: expect.stringMatching(/terraform apply .* was interrupted \(SIGINT\): terraform stopped, recorded what it had finished in the state and released its lock$/)})
  })
})

describe('finding terraform', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'infra-bin-'))
  const fake = (name: string) => {
    const file = path.join(dir, name)
    writeFileSync(file, '#!/bin/sh\n')
    chmodSync(file, 0o755)
    return file
  }

  it('prefers terraform, falls back to tofu, and honours INFRA_TERRAFORM', () => {
    const tofu = fake('tofu')
    expect(findTerraformBinary(undefined, {PATH: dir})).toBe(tofu)
    const terraform = fake('terraform')
    expect(findTerraformBinary(undefined, {PATH: dir})).toBe(terraform)
    expect(findTerraformBinary(undefined, {PATH: dir, INFRA_TERRAFORM: 'tofu'})).toBe(tofu)
    expect(() => findTerraformBinary(undefined, {PATH: '/nonexistent'})).toThrow('neither terraform nor tofu is on PATH')
  })

  it('writes a CLI config that installs providers only from the mirror', () => {
    const file = writeCliConfig(dir, dir)!
    const text = readFileSync(file, 'utf8')
    expect(text).toContain(`path    = ${JSON.stringify(dir)}`)
    expect(text).toMatch(/direct \{\s*exclude = \["registry.terraform.io\/\*\/\*"\]/)
    expect(writeCliConfig(dir, undefined)).toBeUndefined()
    expect(() => writeCliConfig(dir, path.join(dir, 'missing'))).toThrow(/mirror .* does not exist/)
  })

  it('stops an apply that runs past --timeout with one SIGINT, and names the creates it left in flight for adoption', async () => {
    const record = path.join(dir, 'timeout.log')
    const hung = path.join(dir, 'hung-apply')
    // terraform's progress lines, then a create that never returns; SIGINT stops it as terraform does.
    writeFileSync(hung, `#!/bin/sh\ntrap 'echo int >> ${JSON.stringify(record)}; exit 1' INT\necho 'aws_vpc.main: Creating...'\necho 'aws_vpc.main: Creation complete after 1s [id=vpc-1]'\necho 'aws_db_parameter_group.pg: Creating...'\nsleep 60 &\nwait\n`)
    chmodSync(hung, 0o755)
    const error = await new Terraform({binary: hung, cwd: dir, timeoutMs: 800, graceMs: 800}).apply('plan.tfplan').then(() => undefined, (caught) => caught)
    expect(error).toMatchObject({code: 'TERRAFORM_TIMEOUT', details: {step: 'apply', inFlight: [{address: 'aws_db_parameter_group.pg', action: 'create'}]}})
    expect(error.message).toMatch(/calls in flight when it was stopped: aws_db_parameter_group\.pg create$/)
    expect(readFileSync(record, 'utf8')).toBe('int\n')
  })

  it('turns a hung terraform into a timeout error', async () => {
    const slow = path.join(dir, 'slow-terraform')
    writeFileSync(slow, '#!/bin/sh\nsleep 30\n')
    chmodSync(slow, 0o755)
    const runner = new Terraform({binary: slow, cwd: dir, timeoutMs: 300})
    await expect(runner.init({backend: false})).rejects.toThrow(/did not finish within 0 s/)
  })
})

describe('orderByManifest', () => {
  it('puts every stack after the stacks it depends on', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'infra-manifest-'))
    writeFileSync(
      path.join(dir, 'manifest.json'),
      JSON.stringify({
        stacks: {
          app: {name: 'app', workingDirectory: 'stacks/app', dependencies: ['net', 'state']},
          net: {name: 'net', workingDirectory: 'stacks/net', dependencies: ['state']},
          state: {name: 'state', workingDirectory: 'stacks/state', dependencies: []},
        },
      }),
    )
    expect(orderByManifest(dir).map((stack) => stack.name)).toEqual(['state', 'net', 'app'])
  })
})
