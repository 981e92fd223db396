import {mkdtempSync, readFileSync, writeFileSync, chmodSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import {describe, expect, it} from 'vitest'

import {findTerraformBinary, writeCliConfig} from '../../src/terraform/binary.js'
import {Terraform, firstError, summarizePlan} from '../../src/terraform/runner.js'
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
})

describe('firstError', () => {
  it('keeps the first error paragraph of terraform output on one line', () => {
    const output = `\n╷\n│ Error: creating EC2 VPC: operation error EC2: CreateVpc,\n│ https response error StatusCode: 400\n│\n│   with aws_vpc.a,\n│   on cdk.tf.json line 5\n╵\n╷\n│ Error: second\n╵`
    expect(firstError(output)).toBe('creating EC2 VPC: operation error EC2: CreateVpc, https response error StatusCode: 400')
    expect(firstError('just text')).toBe('just text')
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
