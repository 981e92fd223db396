import {mkdtempSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import {describe, expect, it} from 'vitest'

import {InfraError} from '../../src/errors.js'
import {parseEstate} from '../../src/estate/load.js'
import {readBaseline} from '../../src/onboarding/baseline.js'
import {partialFleetReport, provisionFleet, selectClients} from '../../src/onboarding/fleet.js'
import type {ProvisionOptions, ProvisionReport, StackReport} from '../../src/provision/provision.js'

const estate = parseEstate(
  {
    organization: {name: 'acme', managementAccountId: '999999999999'},
    environments: {dev: {accountId: '111111111111', vpcCidr: '10.1.0.0/16'}},
    clients: Object.fromEntries(
      ['eu-alpha', 'eu-beta', 'us-gamma', 'us-delta', 'eu-epsilon'].map((name, index) => [name, {accountId: `${200000000000 + index}`, vpcCidr: `10.${64 + index}.0.0/16`}]),
    ),
  },
  'fleet test',
)

/**
 * The fleet's orchestration alone: provision() is replaced by a stand-in that plans one stack,
 * asks through the confirm callback, and "applies" after a delay, so the test can count how many
 * clients run at once and when the one question is asked. The real provision() is used by
 * fleet.integration.test.ts.
 */
function standIn(log: string[], running: {now: number; max: number}, failing = '') {
  return async (options: ProvisionOptions): Promise<ProvisionReport> => {
    const name = options.env.name
    running.now++
    running.max = Math.max(running.max, running.now)
    await new Promise((resolve) => setTimeout(resolve, 20))
    log.push(`plan ${name}`)
    running.now--
    const stack = {name: `${name}-estate`, directory: '/nowhere', dependencies: [], resources: {total: 1, byType: {}}, applied: false, audit: {}, plan: {create: 1, update: 0, replace: 0, delete: 0, changes: []}} as unknown as StackReport
    const agreed = await options.confirm(stack)
    if (!agreed) {
      stack.skipped = 'declined'
    } else {
      running.now++
      running.max = Math.max(running.max, running.now)
      await new Promise((resolve) => setTimeout(resolve, 20))
      running.now--
      if (name === failing) throw Object.assign(new Error(`apply failed for ${name}`), {code: 'TERRAFORM_APPLY_FAILED'})
      log.push(`apply ${name}`)
      stack.applied = true
    }
    return {environment: name, accountId: options.env.accountId, region: 'eu-west-1', mode: 'apply', synthMs: 0, validated: false, stacks: [stack], acceptedRisksLog: null, outputDir: '/tmp/fleet-test', bootstrapState: null, serviceManifests: null}
  }
}

/** Two stacks per client, as provision() runs them: plan, confirm, apply, then the next. */
function twoStackClient(events: string[]) {
  return async (options: ProvisionOptions): Promise<ProvisionReport> => {
    const name = options.env.name
    const stacks: StackReport[] = []
    for (const suffix of ['state', 'estate']) {
      const stack = {name: `${name}-${suffix}`, directory: '/nowhere', dependencies: [], resources: {total: 1, byType: {}}, applied: false, audit: {}, plan: {create: 1, update: 0, replace: 0, delete: 0, import: 0, changes: []}} as unknown as StackReport
      stacks.push(stack)
      await new Promise((resolve) => setTimeout(resolve, 5))
      events.push(`plan ${stack.name}`)
      if (!(await options.confirm(stack))) {
        stack.skipped = 'declined'
        break
      }
      events.push(`apply ${stack.name}`)
      stack.applied = true
    }
    return {environment: name, accountId: options.env.accountId, region: 'eu-west-1', mode: 'apply', synthMs: 0, validated: false, stacks, acceptedRisksLog: null, outputDir: '/tmp/fleet-test', bootstrapState: null, serviceManifests: null}
  }
}

describe('the fleet', () => {
  it('selects by all, list and glob', () => {
    expect(selectClients(estate, 'all')).toHaveLength(5)
    expect(selectClients(estate, 'eu-*').map((c) => c.name)).toEqual(['eu-alpha', 'eu-beta', 'eu-epsilon'])
    expect(selectClients(estate, 'us-gamma,eu-b?ta').map((c) => c.name)).toEqual(['us-gamma', 'eu-beta'])
    expect(() => selectClients(estate, 'dev')).toThrow('--clients dev matches no client in fleet test')
  })

  it('plans every client before asking once, runs at most --parallel at a time, and goes on past a failure', async () => {
    const log: string[] = []
    const running = {now: 0, max: 0}
    let asked = 0
    const report = await provisionFleet({
      estate,
      clients: selectClients(estate, 'all'),
      mode: 'apply',
      parallel: 2,
      workDir: mkdtempSync(path.join(os.tmpdir(), 'infra-fleet-unit-')),
      renderer: 'silent',
      provision: {validate: false, terraform: {}},
      approve: async (question) => {
        asked++
        log.push('ask')
        expect(question.rows.map((row) => row.state)).toEqual(['changes', 'changes', 'changes', 'changes', 'changes'])
        return true
      },
      provisionTarget: standIn(log, running, 'us-gamma'),
    })
    expect(asked).toBe(1)
    expect(log.indexOf('ask')).toBe(5)
    expect(running.max).toBe(2)
    expect(report.clients.map((c) => [c.client, c.status])).toEqual([
      ['eu-alpha', 'applied'],
      ['eu-beta', 'applied'],
      ['us-gamma', 'failed'],
      ['us-delta', 'applied'],
      ['eu-epsilon', 'applied'],
    ])
    expect(report.failed).toBe(1)
  })

  it('a "no" applies nothing to anyone', async () => {
    const log: string[] = []
    const report = await provisionFleet({
      estate,
      clients: selectClients(estate, 'eu-*'),
      mode: 'apply',
      parallel: 1,
      workDir: mkdtempSync(path.join(os.tmpdir(), 'infra-fleet-unit-')),
      renderer: 'silent',
      provision: {validate: false, terraform: {}},
      approve: async () => false,
      provisionTarget: standIn(log, {now: 0, max: 0}),
    })
    expect(log.filter((line) => line.startsWith('apply'))).toEqual([])
    expect(report.clients.map((c) => c.status)).toEqual(['declined', 'declined', 'declined'])
  })

  it('a client\'s second stack, planned only after its first is applied, is shown and asked about before it is applied', async () => {
    const events: string[] = []
    const twoStacks = twoStackClient(events)
    const questions: string[][] = []
    const report = await provisionFleet({
      estate,
      clients: selectClients(estate, 'us-*'),
      mode: 'apply',
      parallel: 2,
      workDir: mkdtempSync(path.join(os.tmpdir(), 'infra-fleet-unit-')),
      renderer: 'silent',
      provision: {validate: false, terraform: {}},
      approve: async (question) => {
        questions.push(question.stacks.map(({stack}) => stack.name))
        events.push(`ask ${question.round}`)
        return true
      },
      provisionTarget: twoStacks,
    })
    expect(questions).toEqual([['us-gamma-state', 'us-delta-state'], ['us-gamma-estate', 'us-delta-estate']])
    // Nothing is applied before the question that showed it.
    for (const stack of ['us-gamma-state', 'us-delta-state']) expect(events.indexOf(`apply ${stack}`)).toBeGreaterThan(events.indexOf('ask 1'))
    for (const stack of ['us-gamma-estate', 'us-delta-estate']) expect(events.indexOf(`apply ${stack}`)).toBeGreaterThan(events.indexOf('ask 2'))
    expect(report.questions).toBe(2)
    expect(report.plan.map((row) => [row.round, row.stack])).toEqual([
      [1, 'us-gamma-state'],
      [1, 'us-delta-state'],
      [2, 'us-gamma-estate'],
      [2, 'us-delta-estate'],
    ])
    expect(report.clients.map((c) => c.status)).toEqual(['applied', 'applied'])
  })

  // Ctrl-C at the second prompt (interaction.ts: INTERRUPTED, 130) and a refusal there (exit 4).
  for (const [how, failure] of [
    ['interrupted', new InfraError('interrupted at the prompt: did not apply the changes shown', 'run again when ready', 'INTERRUPTED', 130)],
    ['refused', new InfraError('refusing to apply the changes shown: --confirm "x" is not the target\'s name', 'pass --confirm wayne', 'CONFIRMATION_REFUSED', 4)],
  ] as const) {
    it(`a second question ${how} after the first was applied: the error keeps its code and carries what was applied and what was not; applied clients get their baseline`, async () => {
      const events: string[] = []
      const workDir = mkdtempSync(path.join(os.tmpdir(), 'infra-fleet-unit-'))
      const run = provisionFleet({
        estate,
        clients: selectClients(estate, 'us-*'),
        mode: 'apply',
        parallel: 2,
        workDir,
        renderer: 'silent',
        provision: {validate: false, terraform: {}},
        approve: async (question) => {
          if (question.round === 2) throw failure
          return true
        },
        provisionTarget: twoStackClient(events),
      })
      const error = (await run.then(() => undefined, (caught: unknown) => caught)) as InfraError
      expect(error).toBeInstanceOf(InfraError)
      expect([error.code, error.exitCode]).toEqual([failure.code, failure.exitCode])
      expect(error.message).toBe(`${failure.message}; applied before it: us-gamma (us-gamma-state), us-delta (us-delta-state); not applied: us-gamma-estate, us-delta-estate`)
      expect(events.filter((event) => event.startsWith('apply'))).toEqual(['apply us-gamma-state', 'apply us-delta-state'])
      const report = partialFleetReport(error)!
      expect(error.toJson().error.details).toEqual({fleet: report})
      expect(report.clients.map((client) => [client.client, client.status, client.applied, client.notApplied])).toEqual([
        ['us-gamma', 'declined', ['us-gamma-state'], ['us-gamma-estate']],
        ['us-delta', 'declined', ['us-delta-state'], ['us-delta-estate']],
      ])
      expect(report.questions).toBe(2)
      for (const client of ['us-gamma', 'us-delta']) {
        const baseline = readBaseline(workDir, client)!
        expect(baseline.complete).toBe(false)
        expect(baseline.stacks).toEqual([{name: `${client}-state`, applied: true}, {name: `${client}-estate`, applied: false, skipped: 'declined'}])
      }
    })
  }
})
