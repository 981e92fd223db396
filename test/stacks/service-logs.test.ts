import {describe, expect, it} from 'vitest'

import {runAudit} from '../../src/policy/engine.js'
import {resourcesFromJson} from '../../src/policy/resources.js'
import {defaultEstate, estateWith, synth} from '../support/synth.js'

describe('the service log group and its saved queries', () => {
  it('is /infra/<env>/service, KMS-encrypted with the environment key, kept as long as the sizing says', () => {
    for (const [envName, days] of [['dev', 90], ['prod', 365]] as const) {
      const stack = synth(envName)
      const group = stack.all('aws_cloudwatch_log_group').find((g) => g.name === `/infra/${envName}/service`)
      expect(group).toBeDefined()
      expect(group!.kms_key_id).toMatch(/^\$\{aws_kms_key\.[\w-]+\.arn\}$/)
      expect(group!.retention_in_days).toBe(days)
    }
  })

  it('ships three saved Insights queries over that group: errors by route, one job\'s history, slowest requests', () => {
    const dev = synth('dev')
    const queries = dev.all('aws_cloudwatch_query_definition')
    expect(queries.map((q) => q.name).sort()).toEqual(['infra/dev/service/errors-by-route', 'infra/dev/service/job-history', 'infra/dev/service/slowest-requests'])
    for (const query of queries) expect(query.log_group_names).toEqual([expect.stringMatching(/^\$\{aws_cloudwatch_log_group\.[\w-]+\.name\}$/)])
    const byName = Object.fromEntries(queries.map((q) => [q.name.split('/').at(-1), q.query_string as string]))
    expect(byName['errors-by-route']).toMatch(/stats count\(\*\) as errors by path/)
    expect(byName['job-history']).toMatch(/coalesce\(job_id, jobId\)/)
    expect(byName['slowest-requests']).toMatch(/sort ms desc/)
  })

  it('publishes the group name where infra logs looks for it', () => {
    const parameter = synth('dev').all('aws_ssm_parameter').find((p) => p.name === '/infra/dev/service/log-group')
    expect(parameter?.value).toMatch(/^\$\{aws_cloudwatch_log_group\.[\w-]+\.name\}$/)
  })

  it('is left out with the EKS layer', () => {
    const noEks = synth('dev', estateWith((doc) => (doc.environments.dev.omitLayers = ['eks'])))
    expect(noEks.all('aws_cloudwatch_log_group').map((g) => g.name)).not.toContain('/infra/dev/service')
    expect(noEks.all('aws_cloudwatch_query_definition')).toEqual([])
  })

  it('keeps the policy gate passing on every environment', () => {
    for (const env of defaultEstate().environments) {
      const report = runAudit(resourcesFromJson(synth(env.name).estate, `${env.name}-estate`))
      expect(report.passed, JSON.stringify(report.findings.filter((f) => f.status === 'failed').slice(0, 3))).toBe(true)
    }
  })
})
