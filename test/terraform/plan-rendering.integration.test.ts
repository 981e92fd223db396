import {mkdirSync, mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import {beforeAll, describe, expect, inject, it} from 'vitest'

import {renderStackPlan} from '../../src/commands/_lib/render-provision.js'
import type {StackReport} from '../../src/provision/provision.js'
import {summarizePlan} from '../../src/terraform/runner.js'
import {terraformFactory} from '../../src/terraform/workspace.js'
import {runCli} from '../support/cli.js'
import {fakeTerraform} from '../support/fake-terraform.js'
import {motoEnv, writeMotoEstate} from '../support/moto-estate.js'
import {type TerminalRun, inTerminal as inTerminalPty, stripAnsi} from '../support/pty.js'

/**
 * The plan a person confirms, checked against terraform's own reading of the same saved plan:
 * real terraform and the AWS provider against moto apply a small configuration, then plan a
 * second one that creates, updates (a SecureString's value among them), replaces (a parameter's
 * name cannot change in place) and destroys; `terraform show -json` of that saved plan is
 * the reference. Then the built CLI, in a pseudo-terminal, shows that plan before its question
 * (terraform there is the recording stand-in answering with the same JSON, so no stack of the
 * estate is applied for this).
 */
const work = mkdtempSync(path.join(os.tmpdir(), 'infra-plan-render-'))
const SECRETS = ['hunter2-first', 'hunter2-second']

function configuration(version: 1 | 2): object {
  const endpoint = inject('motoEndpoint')
  const resource: Record<string, Record<string, object>> = {
    aws_ssm_parameter: {
      secret: {name: '/plan-render/secret', type: 'SecureString', value: SECRETS[version - 1], description: `version ${version}`},
      plain: {name: '/plan-render/plain', type: 'String', value: version === 1 ? 'one' : 'two', tags: {Team: version === 1 ? 'a' : 'b'}},
      // A parameter's name cannot change in place: terraform replaces it.
      renamed: {name: `/plan-render/${version === 1 ? 'a' : 'b'}`, type: 'String', value: 'same'},
      ...(version === 1 ? {gone: {name: '/plan-render/gone', type: 'String', value: 'bye'}} : {fresh: {name: '/plan-render/fresh', type: 'String', value: 'hello'}}),
    },
  }
  return {
    terraform: {required_providers: {aws: {source: 'hashicorp/aws', version: '5.100.0'}}},
    provider: {aws: {region: 'eu-west-1', endpoints: [{ssm: endpoint, sts: endpoint}], skip_credentials_validation: true, skip_metadata_api_check: 'true', skip_requesting_account_id: true}},
    resource,
  }
}

let planJson: any
let rendered: string

beforeAll(async () => {
  Object.assign(process.env, motoEnv(inject('motoCaBundle')))
  const dir = path.join(work, 'stack')
  mkdirSync(dir)
  const terraform = terraformFactory(work, {timeoutMs: 300_000})(dir)
  const planFile = path.join(dir, 'test.tfplan')
  writeFileSync(path.join(dir, 'main.tf.json'), JSON.stringify(configuration(1)))
  await terraform.init({backend: true})
  await terraform.plan(planFile)
  await terraform.apply(planFile)
  writeFileSync(path.join(dir, 'main.tf.json'), JSON.stringify(configuration(2)))
  expect(await terraform.plan(planFile)).toBe(true)
  planJson = await terraform.showPlan(planFile)
  writeFileSync(path.join(work, 'plan.json'), JSON.stringify(planJson))
  const stack = {name: 'render-estate', directory: dir, dependencies: [], resources: {total: 5, byType: {}}, applied: false, audit: {}, plan: summarizePlan(planJson)} as StackReport
  rendered = renderStackPlan(stack)
}, 600_000)

/** The lines under a resource's own line, up to the next resource. */
function block(address: string): string[] {
  const lines = rendered.split('\n')
  const start = lines.findIndex((line) => new RegExp(`^\\s+(\\+|~|-/\\+|-|<=) ${address.replaceAll('.', '\\.')}(\\s|$)`).test(line))
  expect(start, `${address} in:\n${rendered}`).toBeGreaterThan(-1)
  const rest = lines.slice(start + 1)
  const end = rest.findIndex((line) => /^\s{2}\S/.test(line) && !/^\s{8}/.test(line))
  return [lines[start], ...(end === -1 ? rest : rest.slice(0, end))]
}

/** Top-level attributes terraform's JSON says change: values differ, or the new one is unknown. */
function changedAttributes(change: any): string[] {
  const keys = new Set([...Object.keys(change.before ?? {}), ...Object.keys(change.after ?? {}), ...Object.keys(change.after_unknown ?? {})])
  const unknown = (value: unknown): boolean => value === true || (typeof value === 'object' && value !== null && Object.values(value).some(unknown))
  return [...keys].filter((key) => unknown(change.after_unknown?.[key]) || JSON.stringify(change.before?.[key] ?? null) !== JSON.stringify(change.after?.[key] ?? null))
}

describe('the plan shown before a confirmation, against terraform show -json of the same saved plan', () => {
  it('lists every resource change terraform planned, with its action', () => {
    const planned = planJson.resource_changes.filter((change: any) => !change.change.actions.includes('no-op') && !change.change.actions.includes('read'))
    expect(planned.length).toBe(5)
    const sign = (actions: string[]) => (actions.length === 2 ? '-/+' : {create: '+', update: '~', delete: '-'}[actions[0] as 'create'])
    for (const change of planned) expect(block(change.address)[0]).toMatch(new RegExp(`^\\s+${sign(change.change.actions).replace('+', '\\+')} ${change.address.replaceAll('.', '\\.')}`))
    expect(rendered.split('\n')[0]).toBe('render-estate: 1 to create, 2 to update, 1 to replace, 1 to destroy')
  })

  it('names every attribute an update or a replacement changes, and why the replacement happens', () => {
    const changing = planJson.resource_changes.filter((change: any) => change.change.actions.includes('update') || change.change.actions.length === 2)
    expect(changing.map((change: any) => change.address).sort()).toEqual(['aws_ssm_parameter.plain', 'aws_ssm_parameter.renamed', 'aws_ssm_parameter.secret'])
    for (const change of changing) {
      const lines = block(change.address)
      const attributes = changedAttributes(change.change)
      expect(attributes.length).toBeGreaterThan(0)
      for (const attribute of attributes) expect(lines.some((line) => new RegExp(`^\\s{8}[~+-] ${attribute}([.[:]|$)`).test(line)), `${change.address}.${attribute} in:\n${lines.join('\n')}`).toBe(true)
    }
    const group = block('aws_ssm_parameter.renamed')
    expect(group[0]).toContain('replaced: an attribute that cannot be changed in place changes')
    // terraform's replace_paths names the attribute: it carries the mark.
    expect(planJson.resource_changes.find((change: any) => change.address === 'aws_ssm_parameter.renamed').change.replace_paths).toEqual([['name']])
    expect(group).toContain('        ~ name: "/plan-render/a" -> "/plan-render/b" # forces replacement')
    expect(group).toContain('        ~ version: 1 -> (known after apply)')
    expect(block('aws_ssm_parameter.plain')).toContain('        ~ tags.Team: "a" -> "b"')
    expect(block('aws_ssm_parameter.gone')[0]).toContain('destroyed: no longer in the configuration')
  })

  it('never shows a sensitive value: the SecureString changes, masked on both sides', () => {
    expect(planJson.resource_changes.find((change: any) => change.address === 'aws_ssm_parameter.secret').change.after_sensitive).toMatchObject({value: true})
    for (const secret of SECRETS) expect(rendered).not.toContain(secret)
    expect(block('aws_ssm_parameter.secret')).toContain('        ~ value: (sensitive value) -> (sensitive value)')
    // Nor in the --json report, which carries the same attribute list.
    expect(JSON.stringify(summarizePlan(planJson))).not.toMatch(/hunter2/)
  })
})

describe('at a terminal, the plan is shown before the question', () => {
  const estateFile = path.join(work, 'estate.yaml')
  beforeAll(() => {
    writeMotoEstate(estateFile, inject('motoEndpoint'), {environments: {render: {accountId: '474747474747', vpcCidr: '10.47.0.0/16', sizing: 'small'}}})
  })

  /** The CLI in a pseudo-terminal, answering "n" to the apply question; `beforeQuestion` is what it showed before asking. */
  async function inTerminal(args: string[], options: {cols: number; rows: number; env?: Record<string, string>}): Promise<TerminalRun & {beforeQuestion: string}> {
    const run = await inTerminalPty(args, {...options, cwd: work, env: {...motoEnv(inject('motoCaBundle')), ...options.env}, answers: [{after: /Apply \d+ changes to render-state/, send: 'n\r'}]})
    return {...run, beforeQuestion: run.asked[0] ?? ''}
  }
  // Colours and cursor movements out: the text a person reads.
  const plain = (text: string) => stripAnsi(text).replaceAll('\r', '')

  it('shows every change, with colour, before asking; a "no" applies nothing (exit 4)', async () => {
    const terraform = fakeTerraform(planJson)
    const result = await inTerminal(['provision', '--env', 'render', '--estate', estateFile, '--terraform', terraform.binary, '--work-dir', path.join(work, 'tty')], {cols: 100, rows: 60})
    expect(result.exitCode).toBe(4)
    const shown = plain(result.beforeQuestion)
    for (const address of ['aws_ssm_parameter.fresh', 'aws_ssm_parameter.plain', 'aws_ssm_parameter.secret', 'aws_ssm_parameter.renamed', 'aws_ssm_parameter.gone']) expect(shown).toContain(address)
    expect(shown).toContain('~ name: "/plan-render/a" -> "/plan-render/b" # forces replacement')
    expect(result.beforeQuestion).toContain('\u001B[') // coloured at a terminal
    expect(readFileSync(terraform.calls, 'utf8')).not.toContain('apply')
    if (process.env.INFRA_PLAN_CAPTURE) writeFileSync(process.env.INFRA_PLAN_CAPTURE, plain(result.output))
  })

  it('pages a plan taller than the terminal through $PAGER, and never when piped', async () => {
    const terraform = fakeTerraform(planJson)
    const pager = {PAGER: 'echo PAGER-RAN; cat'}
    const paged = await inTerminal(['provision', '--env', 'render', '--estate', estateFile, '--terraform', terraform.binary, '--work-dir', path.join(work, 'paged')], {cols: 100, rows: 10, env: pager})
    expect(plain(paged.beforeQuestion)).toMatch(/PAGER-RAN\n[^]*aws_ssm_parameter\.renamed/)
    const piped = await runCli(['provision', '--env', 'render', '--estate', estateFile, '--terraform', terraform.binary, '--work-dir', path.join(work, 'piped'), '--yes'], {env: {...motoEnv(inject('motoCaBundle')), ...pager}})
    expect(piped.exitCode, piped.stderr).toBe(0)
    expect(piped.stdout).not.toContain('PAGER-RAN')
    expect(piped.stdout).not.toContain('\u001B[')
    expect(piped.stdout).toContain('~ name: "/plan-render/a" -> "/plan-render/b" # forces replacement')
  })
})
