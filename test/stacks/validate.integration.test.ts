import {mkdtempSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import {describe, expect, it} from 'vitest'

import {parseEstate} from '../../src/estate/load.js'
import {allTargets} from '../../src/estate/model.js'
import {synthesizeEnvironment} from '../../src/stacks/app.js'
import {terraformFactory} from '../../src/terraform/workspace.js'
import {defaultEstate} from '../support/synth.js'

/** terraform validate catches what the types miss (pass-through blocks, bad references). */
describe('terraform validate on every environment', () => {
  const estate = defaultEstate()
  const withClient = parseEstate(
    {
      organization: estate.organization,
      // OpenSearch on here (two nodes over two zones), so the domain is validated too.
      environments: {dev: {accountId: '111111111111', vpcCidr: '10.1.0.0/16', egress: 'none', logs: {opensearch: {enabled: true, instanceCount: 2}}}},
      clients: {globex: {accountId: '444444444444', vpcCidr: '10.20.0.0/16', sizing: 'ha', omitLayers: ['eks']}},
    },
    'client estate',
  )
  const cases = [...allTargets(estate).map((env) => ({estate, env})), ...allTargets(withClient).map((env) => ({estate: withClient, env}))]

  it.each(cases.map((c) => [`${c.env.kind} ${c.env.name}${c.env.egress === 'none' ? ' (no egress)' : ''}`, c]))('%s', async (_, {estate: e, env}) => {
    const dir = mkdtempSync(path.join(os.tmpdir(), `infra-validate-${env.name}-`))
    const {stacks} = synthesizeEnvironment(e, env, path.join(dir, 'out'), path.join(dir, 'state'))
    const terraformFor = terraformFactory(dir, {timeoutMs: 180_000})
    for (const stack of stacks) {
      const terraform = terraformFor(stack.workingDirectory)
      await terraform.init({backend: false})
      await expect(terraform.validate()).resolves.toBeUndefined()
    }
  })
})
