import {describe, expect, it} from 'vitest'

import {runAudit} from '../../src/policy/engine.js'
import {resourcesFromJson} from '../../src/policy/resources.js'
import {synthesizedObjects} from '../k8s/fixtures.js'
import {estateWith, synth} from '../support/synth.js'

describe('the collection service IRSA role', () => {
  const dev = synth('dev')
  const role = dev.all('aws_iam_role').find((r) => r.name === 'acme-dev-service')

  it('is assumable only by the infra/infra-service account through the cluster OIDC provider', () => {
    expect(role).toBeDefined()
    const trust = JSON.parse(role!.assume_role_policy)
    expect(trust.Statement).toHaveLength(1)
    const [statement] = trust.Statement
    expect(statement.Action).toBe('sts:AssumeRoleWithWebIdentity')
    expect(statement.Principal.Federated).toMatch(/^\$\{aws_iam_openid_connect_provider\.[\w-]+\.arn\}$/)
    const conditions = statement.Condition.StringEquals
    const sub = Object.entries(conditions).find(([key]) => key.endsWith(':sub'))
    expect(sub?.[0]).toMatch(/^\$\{local\.[\w-]+\}:sub$/)
    const local = Object.entries(dev.estate.locals as Record<string, string>).find(([name]) => sub![0].includes(`local.${name}}`))
    expect(local?.[1]).toMatch(/^\$\{replace\(aws_iam_openid_connect_provider\.[\w-]+\.url, "https:\/\/", ""\)\}$/)
    expect(sub?.[1]).toBe('system:serviceaccount:infra:infra-service')
    expect(Object.entries(conditions).find(([key]) => key.endsWith(':aud'))?.[1]).toBe('sts.amazonaws.com')
  })

  it('may use its results bucket, the KMS key and the database secret, by ARN, nothing wider', () => {
    const policy = dev.all('aws_iam_role_policy').find((p) => String(p.role).includes('.id}') && p.name === 'results-and-database-secret')
    const statements = JSON.parse(policy!.policy).Statement as {Sid: string; Action: string[]; Resource: string}[]
    expect(statements.map((s) => s.Sid)).toEqual(['Results', 'ResultsList', 'Encryption', 'DatabaseSecret'])
    for (const statement of statements) {
      expect(statement.Resource).toMatch(/^\$\{/)
      for (const action of statement.Action) expect(action).not.toContain('*')
    }
    expect(statements.find((s) => s.Sid === 'DatabaseSecret')!.Resource).toMatch(/^\$\{aws_db_instance\.[\w-]+\.master_user_secret\[0\]\.secret_arn\}$/)
  })

  it('publishes the role and bucket as discovery parameters, and the gate still passes', () => {
    const names = dev.all('aws_ssm_parameter').map((p) => p.name)
    expect(names).toContain('/infra/dev/service/role-arn')
    expect(names).toContain('/infra/dev/service/results-bucket')
    const report = runAudit(resourcesFromJson(dev.estate, 'dev-estate'))
    expect(report.findings.filter((f) => f.status === 'failed' && String(f.constructPath ?? f.address).includes('service')), JSON.stringify(report.findings.slice(0, 3))).toEqual([])
    expect(report.passed).toBe(true)
  })

  it('expires results in S3 a day after the service\'s retention, as a backstop to its own deletes', () => {
    const expiry = (out: ReturnType<typeof synth>) => {
      const bucket = out.all('aws_s3_bucket').find((b) => String(b.bucket).includes('service-results'))
      const name = Object.entries(out.estate.resource.aws_s3_bucket as Record<string, {bucket: string}>).find(([, b]) => b === bucket || b.bucket === bucket?.bucket)![0]
      const lifecycle = out.all('aws_s3_bucket_lifecycle_configuration').find((l) => String(l.bucket).includes(`aws_s3_bucket.${name}.`))
      return lifecycle!.rule.find((rule: {id: string}) => rule.id === 'expire-current')
    }
    expect(expiry(dev)).toMatchObject({status: 'Enabled', expiration: [{days: 31}]})
    expect(expiry(synth('dev', estateWith((doc) => (doc.environments.dev.service = {retentionDays: 7}))))).toMatchObject({expiration: [{days: 8}]})
  })

  it('is left out with the EKS layer, and without a database grants no secret', () => {
    const noEks = synth('dev', estateWith((doc) => (doc.environments.dev.omitLayers = ['eks'])))
    expect(noEks.all('aws_iam_role').map((r) => r.name)).not.toContain('acme-dev-service')
    const noDatabase = synth('dev', estateWith((doc) => (doc.environments.dev.omitLayers = ['database'])))
    const policy = noDatabase.all('aws_iam_role_policy').find((p) => p.name === 'results-and-database-secret')
    expect(JSON.parse(policy!.policy).Statement.map((s: {Sid: string}) => s.Sid)).toEqual(['Results', 'ResultsList', 'Encryption'])
  })

  it('reads exactly the buckets the estate lists for the s3 source, and never the results bucket through them', () => {
    const listed = estateWith((doc) => (doc.environments.dev.service = {s3Buckets: ['acme-exports', 'acme-reports', 'acme-dev-service-results-111111111111']}))
    const policy = synth('dev', listed).all('aws_iam_role_policy').find((p) => p.name === 'results-and-database-secret')
    const statements = JSON.parse(policy!.policy).Statement as {Sid: string; Action: string[]; Resource: string | string[]}[]
    expect(statements.find((s) => s.Sid === 'SourceBucketsList')).toMatchObject({Action: ['s3:ListBucket'], Resource: ['arn:aws:s3:::acme-exports', 'arn:aws:s3:::acme-reports']})
    expect(statements.find((s) => s.Sid === 'SourceBucketsRead')).toMatchObject({Action: ['s3:GetObject'], Resource: ['arn:aws:s3:::acme-exports/*', 'arn:aws:s3:::acme-reports/*']})
    // And the pod is told the same list (with the results bucket in it, `service start` would refuse to run).
    const [container] = synthesizedObjects('dev', listed).find('Deployment').spec.template.spec.containers
    expect(container.env.find((e: any) => e.name === 'INFRA_SERVICE_S3_BUCKETS').value).toBe('acme-exports,acme-reports')
  })
})
