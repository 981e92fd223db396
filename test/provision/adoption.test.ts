import {existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import {describe, expect, it} from 'vitest'

import {ADOPTION_FILE, adoptionsByStack, clearInterruptedApplies, planAdoption, readInterruptedApplies, recordInterruptedApply, settleAgainstPlan, writeAdoptionImports} from '../../src/provision/adoption.js'

const config = {
  resource: {
    aws_db_parameter_group: {pg: {name: 'acme-dev-postgres16', family: 'postgres16'}},
    aws_vpc: {main: {cidr_block: '10.1.0.0/16'}},
    aws_iam_role: {computed: {name: '${aws_eks_cluster.c.name}-nodes'}},
    aws_cloudwatch_log_group: {flow: {name: '/infra/dev/flow'}},
  },
}

describe('adopting what an interrupted apply created', () => {
  it('imports by the literal name the configuration gives, and sends the rest to be checked by hand', () => {
    const records = [{stack: 'dev-estate', interruptedAt: '2026-11-30T07:00:00.000Z', inFlight: [
      {address: 'aws_db_parameter_group.pg', action: 'create' as const},
      {address: 'aws_vpc.main', action: 'create' as const},
      {address: 'aws_iam_role.computed', action: 'create' as const},
      {address: 'aws_s3_bucket.removed_since', action: 'create' as const},
    ]}]
    expect(planAdoption(config, records)).toEqual([
      {address: 'aws_db_parameter_group.pg', outcome: 'import', id: 'acme-dev-postgres16', interruptedAt: '2026-11-30T07:00:00.000Z'},
      {address: 'aws_vpc.main', outcome: 'check-by-hand', interruptedAt: '2026-11-30T07:00:00.000Z'},
      {address: 'aws_iam_role.computed', outcome: 'check-by-hand', interruptedAt: '2026-11-30T07:00:00.000Z'},
    ])
  })

  it('keeps every interruption until an apply succeeds, writes import blocks terraform reads, and clears both', () => {
    const envDir = mkdtempSync(path.join(os.tmpdir(), 'infra-adopt-'))
    const stackDir = path.join(envDir, 'cdktf.out', 'stacks', 'dev-estate')
    mkdirSync(stackDir, {recursive: true})
    recordInterruptedApply(envDir, 'dev-estate', [{address: 'aws_db_parameter_group.pg', action: 'create'}], new Date('2026-11-30T07:00:00Z'))
    // Updates and deletions in flight leave nothing to adopt: the next plan's refresh sees them.
    recordInterruptedApply(envDir, 'dev-estate', [{address: 'aws_vpc.main', action: 'update'}])
    recordInterruptedApply(envDir, 'dev-estate', [{address: 'aws_cloudwatch_log_group.flow', action: 'create'}], new Date('2026-11-30T08:00:00Z'))
    const records = readInterruptedApplies(envDir, 'dev-estate')
    expect(records.map((record) => record.inFlight.map((call) => call.address))).toEqual([['aws_db_parameter_group.pg'], ['aws_cloudwatch_log_group.flow']])
    const abandoned = planAdoption(config, records)
    writeAdoptionImports(stackDir, abandoned)
    expect(JSON.parse(readFileSync(path.join(stackDir, ADOPTION_FILE), 'utf8'))).toEqual({
      import: [{to: 'aws_db_parameter_group.pg', id: 'acme-dev-postgres16'}, {to: 'aws_cloudwatch_log_group.flow', id: '/infra/dev/flow'}],
    })
    writeAdoptionImports(stackDir, abandoned.map((entry) => ({...entry, outcome: 'not-created' as const})))
    expect(existsSync(path.join(stackDir, ADOPTION_FILE))).toBe(false)
    writeAdoptionImports(stackDir, abandoned)
    clearInterruptedApplies(envDir, 'dev-estate', stackDir)
    expect(readInterruptedApplies(envDir, 'dev-estate')).toEqual([])
    expect(existsSync(path.join(stackDir, ADOPTION_FILE))).toBe(false)
  })

  it('drops what the plan shows terraform had recorded after all (tainted, or kept under its id)', () => {
    const at = '2026-11-30T07:00:00.000Z'
    const abandoned = [
      {address: 'aws_db_parameter_group.pg', outcome: 'import' as const, id: 'acme-dev-postgres16', interruptedAt: at},
      {address: 'aws_s3_bucket.b', outcome: 'import' as const, id: 'b', interruptedAt: at},
      {address: 'aws_vpc.main', outcome: 'check-by-hand' as const, interruptedAt: at},
      {address: 'aws_kms_key.k', outcome: 'check-by-hand' as const, interruptedAt: at},
      {address: 'aws_iam_role.r', outcome: 'not-created' as const, interruptedAt: at},
    ]
    const changes = [
      {address: 'aws_db_parameter_group.pg', type: 'aws_db_parameter_group', action: 'import' as const, importing: 'acme-dev-postgres16'},
      {address: 'aws_vpc.main', type: 'aws_vpc', action: 'replace' as const},
      {address: 'aws_kms_key.k', type: 'aws_kms_key', action: 'create' as const},
      {address: 'aws_iam_role.r', type: 'aws_iam_role', action: 'create' as const},
    ]
    expect(settleAgainstPlan(abandoned, changes).map((entry) => entry.address)).toEqual(['aws_db_parameter_group.pg', 'aws_kms_key.k', 'aws_iam_role.r'])
  })

  it('takes --adopt addresses only for resources of the stacks that are found by a written name', () => {
    const stacks = [{name: 'dev-state', config: {resource: {aws_s3_bucket: {state: {bucket: 'acme-dev-tfstate'}}}}}, {name: 'dev-estate', config}]
    expect(adoptionsByStack(['aws_db_parameter_group.pg', 'aws_s3_bucket.state', 'aws_cloudwatch_log_group.flow'], stacks)).toEqual(new Map([
      ['dev-estate', ['aws_db_parameter_group.pg', 'aws_cloudwatch_log_group.flow']],
      ['dev-state', ['aws_s3_bucket.state']],
    ]))
    expect(() => adoptionsByStack(['aws_db_parameter_group.nope'], stacks)).toThrow(expect.objectContaining({code: 'ADOPT_UNKNOWN_ADDRESS', exitCode: 2, message: '--adopt aws_db_parameter_group.nope: no such resource in dev-state or dev-estate'}))
    expect(() => adoptionsByStack(['nodot'], stacks)).toThrow(expect.objectContaining({code: 'ADOPT_UNKNOWN_ADDRESS'}))
    expect(() => adoptionsByStack(['aws_vpc.main'], stacks)).toThrow(expect.objectContaining({code: 'ADOPT_NOT_BY_NAME', fix: expect.stringContaining('terraform import aws_vpc.main ID')}))
    expect(() => adoptionsByStack(['aws_iam_role.computed'], stacks)).toThrow(expect.objectContaining({code: 'ADOPT_NOT_BY_NAME'}))
  })

  it('reads an unreadable record as none rather than failing the run', () => {
    const envDir = mkdtempSync(path.join(os.tmpdir(), 'infra-adopt-'))
    mkdirSync(path.join(envDir, 'interrupted'))
    writeFileSync(path.join(envDir, 'interrupted', 'dev-estate.json'), '{half')
    expect(readInterruptedApplies(envDir, 'dev-estate')).toEqual([])
  })
})
