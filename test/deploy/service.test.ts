import {existsSync, mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import {execaSync} from 'execa'
import {parseAllDocuments} from 'yaml'
import {describe, expect, it} from 'vitest'

import {runCli} from '../support/cli.js'

const STAND_IN = path.resolve(import.meta.dirname, '../support/kubectl-stand-in')
const REAL_KUBECTL = execaSync('sh', ['-c', 'command -v kubectl']).stdout.trim()
const IMAGE = '111111111111.dkr.ecr.eu-west-1.amazonaws.com/infra:0.1.0'
const DISCOVERED = [
  '--waf-acl-arn', 'arn:aws:wafv2:eu-west-1:111111111111:regional/webacl/acme-dev-waf/3f1c2d4e-0000-4000-8000-000000000001',
  '--database-secret-arn', 'arn:aws:secretsmanager:eu-west-1:111111111111:secret:rds!db-3f1c2d4e-AbCdEf',
  '--database-endpoint', 'acme-dev-postgres.abcdefghijkl.eu-west-1.rds.amazonaws.com:5432',
  '--alb-subnets', 'subnet-0a1b2c3d4e5f60718,subnet-0a1b2c3d4e5f60719,subnet-0a1b2c3d4e5f6071a',
  '--alb-security-group', 'sg-0f1e2d3c4b5a69788',
]

interface Recorded {
  argv: string[]
  applied?: string[]
  images?: string[]
  exitCode: number
}

/** A work folder, a kubeconfig as `infra tunnel eks` writes it (contexts infra-dev, infra-prod), and the stand-in kubectl first on PATH. */
function setup(contexts = ['infra-dev', 'infra-prod']) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'infra-deploy-'))
  const kubeconfig = path.join(dir, 'kubeconfig')
  writeFileSync(
    kubeconfig,
    [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      ...contexts.map((name) => `- name: ${name}\n  cluster: {server: "https://127.0.0.1:16443", tls-server-name: "abc.gr7.eu-west-1.eks.amazonaws.com"}`),
      'users:',
      ...contexts.map((name) => `- name: ${name}\n  user: {exec: {apiVersion: client.authentication.k8s.io/v1beta1, command: infra, args: [eks, token]}}`),
      'contexts:',
      ...contexts.map((name) => `- name: ${name}\n  context: {cluster: ${name}, user: ${name}}`),
      '',
    ].join('\n'),
  )
  const record = path.join(dir, 'kubectl.jsonl')
  const deploy = (args: string[], env: Record<string, string> = {}) =>
    runCli(['deploy', 'service', '--image', IMAGE, ...DISCOVERED, '--kubeconfig', kubeconfig, '--work-dir', path.join(dir, 'work'), ...args], {
      cwd: dir,
      env: {PATH: `${STAND_IN}:${process.env.PATH}`, KUBECTL_RECORD: record, KUBECTL_REAL: REAL_KUBECTL, INFRA_KUBECTL: undefined, ...env},
    })
  const calls = (): Recorded[] => (existsSync(record) ? readFileSync(record, 'utf8').trim().split('\n').map((line) => JSON.parse(line)) : [])
  const verbs = () => calls().map((call) => call.argv.filter((arg, i, all) => !['--context', '--kubeconfig'].includes(arg) && !['--context', '--kubeconfig'].includes(all[i - 1])).slice(0, 2).join(' '))
  return {dir, kubeconfig, deploy, calls, verbs}
}

describe('infra deploy service', () => {
  it('--dry-run writes schema-checked manifests and the monitoring files, and prints what would run, without calling kubectl', async () => {
    const t = setup()
    const result = await t.deploy(['--env', 'dev', '--dry-run', '--json'])
    expect(result.exitCode, result.stderr).toBe(0)
    const report = JSON.parse(result.stdout)
    expect(report).toMatchObject({environment: 'dev', mode: 'dry-run', context: 'infra-dev', applied: false, rollout: null, audit: {passed: true}})
    expect(report.manifests.objects.map((o: {object: string}) => o.object)).toContain('Deployment infra/infra-service')
    const manifest = path.join(t.dir, 'work', 'dev', 'k8s', 'manifests', 'dev-infra-service.yaml')
    expect(report.manifests.files).toContain(manifest)
    const deployment = parseAllDocuments(readFileSync(manifest, 'utf8')).map((d) => d.toJSON()).find((o) => o.kind === 'Deployment')
    expect(deployment.spec.template.spec.containers[0].image).toBe(IMAGE)
    expect(report.kubectl).toEqual([
      ['kubectl', '--kubeconfig', t.kubeconfig, '--context', 'infra-dev', 'apply', '--server-side', '--field-manager=infra', '-f', path.dirname(manifest)],
      ['kubectl', '--kubeconfig', t.kubeconfig, '--context', 'infra-dev', 'rollout', 'status', 'deployment/infra-service', '-n', 'infra', '--timeout=300s'],
    ])
    expect(t.calls()).toEqual([])
    const human = await t.deploy(['--env', 'dev', '--dry-run'])
    expect(human.stdout).toMatch(/would run:\n {2}kubectl .* apply --server-side/)
  })

  it('applies server-side through the tunnel context, then waits for the rollout', async () => {
    const t = setup()
    const result = await t.deploy(['--env', 'dev', '--yes', '--json', '--rollout-timeout', '120'])
    expect(result.exitCode, result.stderr).toBe(0)
    expect(JSON.parse(result.stdout)).toMatchObject({mode: 'apply', applied: true, rollout: 'complete'})
    expect(t.verbs()).toEqual(['config get-contexts', 'apply --server-side', 'rollout status'])
    const [, apply, rollout] = t.calls()
    // Every call is pinned to the tunnel's context and kubeconfig.
    for (const call of t.calls()) expect(call.argv.slice(0, 4)).toEqual(['--kubeconfig', t.kubeconfig, '--context', 'infra-dev'])
    expect(apply.applied).toEqual(expect.arrayContaining(['Namespace/infra', 'ServiceAccount/infra/infra-service', 'Deployment/infra/infra-service', 'PodDisruptionBudget/infra/infra-service', 'HorizontalPodAutoscaler/infra/infra-service', 'Ingress/infra/infra-service', 'NetworkPolicy/infra/infra-service', 'ExternalSecret/infra/infra-service-database']))
    expect(apply.applied![0]).toBe('Namespace/infra')
    // The service's image as given, and the log shipper's (src/k8s/log-shipper.ts).
    expect(apply.images).toEqual([IMAGE, expect.stringMatching(/\/aws-for-fluent-bit:\d+\.\d+\.\d+(\.\d{8})?$/)])
    expect(rollout.argv.slice(4)).toEqual(['rollout', 'status', 'deployment/infra-service', '-n', 'infra', '--timeout=120s'])
  })

  it('undoes the rollout and fails with one line when the new pods do not become ready', async () => {
    const t = setup()
    const result = await t.deploy(['--env', 'dev', '--yes'], {KUBECTL_FAIL_ROLLOUT: '1'})
    expect(result.exitCode).toBe(1)
    expect(t.verbs()).toEqual(['config get-contexts', 'apply --server-side', 'rollout status', 'rollout undo'])
    expect(t.calls()[3].argv.slice(4)).toEqual(['rollout', 'undo', 'deployment/infra-service', '-n', 'infra'])
    const lines = result.stderr.trim().split('\n')
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatch(/^Error: infra\/infra-service did not become ready within 300s \(error: timed out waiting for the condition\); rolled back to the previous revision: see `kubectl --context infra-dev -n infra describe deployment\/infra-service`/)

    const json = await t.deploy(['--env', 'dev', '--yes', '--json'], {KUBECTL_FAIL_ROLLOUT: '1'})
    expect(json.exitCode).toBe(1)
    const {error} = JSON.parse(json.stdout)
    expect(error).toMatchObject({code: 'ROLLOUT_FAILED', details: {applied: true, rollout: 'undone'}})
  })

  it('says so when the rollout could not be undone either (a first deployment has no earlier revision)', async () => {
    const t = setup()
    const result = await t.deploy(['--env', 'dev', '--yes'], {KUBECTL_FAIL_ROLLOUT: '1', KUBECTL_FAIL_UNDO: '1'})
    expect(result.exitCode).toBe(1)
    expect(result.stderr).toMatch(/and could not be rolled back \(error: no rollout history found for deployment "infra-service"\)/)
  })

  it('stops before applying when the tunnel\'s context is missing, and reports a failed apply without waiting for a rollout', async () => {
    const t = setup(['infra-test'])
    const missing = await t.deploy(['--env', 'dev', '--yes'])
    expect(missing.exitCode).toBe(1)
    expect(missing.stderr.trim()).toMatch(/^Error: no kubeconfig context infra-dev in .*kubeconfig: error: context infra-dev not found: open the tunnel first \(`infra tunnel eks --env dev`/)
    expect(t.verbs()).toEqual(['config get-contexts'])

    const closed = setup()
    const refused = await closed.deploy(['--env', 'dev', '--yes', '--json'], {KUBECTL_FAIL_APPLY: '1'})
    expect(refused.exitCode).toBe(1)
    expect(JSON.parse(refused.stdout).error).toMatchObject({code: 'KUBECTL_APPLY_FAILED', message: expect.stringContaining('connection refused')})
    expect(closed.verbs()).toEqual(['config get-contexts', 'apply --server-side'])
  })

  it('guards production: --confirm prod and, without a terminal, --yes; a wrong name is refused', async () => {
    const t = setup()
    const noConfirm = await t.deploy(['--env', 'prod', '--yes', '--json'])
    expect(noConfirm.exitCode).toBe(4)
    expect(JSON.parse(noConfirm.stdout).error).toMatchObject({code: 'CONFIRMATION_REQUIRED', fix: expect.stringContaining('--confirm prod --yes')})
    const wrong = await t.deploy(['--env', 'prod', '--confirm', 'dev', '--yes', '--json'])
    expect(JSON.parse(wrong.stdout).error.code).toBe('CONFIRMATION_MISMATCH')
    const noYes = await t.deploy(['--env', 'prod', '--confirm', 'prod', '--json'])
    expect(JSON.parse(noYes.stdout).error.code).toBe('CONFIRMATION_REQUIRED')
    expect(t.calls()).toEqual([])
    const devNoYes = await t.deploy(['--env', 'dev'])
    expect(devNoYes.exitCode).toBe(4)
    expect(devNoYes.stderr).toMatch(/refusing to deploy to dev without confirmation.*--yes/)
    expect(t.calls()).toEqual([])

    const confirmed = await t.deploy(['--env', 'prod', '--confirm', 'prod', '--yes', '--json'])
    expect(confirmed.exitCode, confirmed.stderr).toBe(0)
    expect(t.calls().every((call) => call.argv[3] === 'infra-prod')).toBe(true)
    expect(t.verbs()).toEqual(['config get-contexts', 'apply --server-side', 'rollout status'])
  })

  it('refuses a malformed image and missing discovery values with one line each, before kubectl', async () => {
    const t = setup()
    const image = await runCli(['deploy', 'service', '--env', 'dev', '--image', 'Not An Image', '--dry-run'], {cwd: t.dir})
    expect(image.exitCode).toBe(2)
    expect(image.stderr.trim()).toMatch(/^Error: --image Not An Image is not an image reference: give registry\/name:tag/)
    // No values given and no credentials to read them: names the parameters and the flags.
    const offline = await runCli(['deploy', 'service', '--env', 'dev', '--image', IMAGE, '--dry-run', '--work-dir', path.join(t.dir, 'w'), '--json'], {
      cwd: t.dir,
      env: {AWS_PROFILE: undefined, AWS_ACCESS_KEY_ID: undefined, AWS_SECRET_ACCESS_KEY: undefined, AWS_SESSION_TOKEN: undefined, AWS_CONFIG_FILE: path.join(t.dir, 'none'), AWS_SHARED_CREDENTIALS_FILE: path.join(t.dir, 'none'), AWS_EC2_METADATA_DISABLED: 'true', AWS_WEB_IDENTITY_TOKEN_FILE: undefined, AWS_CONTAINER_CREDENTIALS_FULL_URI: undefined, AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: undefined},
    })
    expect(offline.exitCode).toBe(1)
    const {error} = JSON.parse(offline.stdout)
    expect(error.code).toBe('DISCOVERY_UNAVAILABLE')
    expect(error.message).toContain('/infra/dev/waf/web-acl-arn')
    expect(error.fix).toMatch(/--alb-subnets, --alb-security-group, --waf-acl-arn, --database-secret-arn, --database-endpoint/)
    expect(existsSync(path.join(t.dir, 'w'))).toBe(false)
    // The load balancer's subnets are one id per zone: two for dev's three zones is a mistake on the line.
    const args = [...DISCOVERED]
    args[args.indexOf('--alb-subnets') + 1] = 'subnet-0a1b2c3d4e5f60718,subnet-0a1b2c3d4e5f60719'
    const short = await runCli(['deploy', 'service', '--env', 'dev', '--image', IMAGE, '--dry-run', '--work-dir', path.join(t.dir, 'w'), ...args], {cwd: t.dir})
    expect(short.exitCode).toBe(2)
    expect(short.stderr.trim()).toMatch(/^Error: --alb-subnets is "subnet-0a1b2c3d4e5f60718,subnet-0a1b2c3d4e5f60719": expected 3 subnet ids \(one per zone of dev\)/)
    args[args.indexOf('--alb-security-group') + 1] = 'acme-dev-eks-alb'
    args[args.indexOf('--alb-subnets') + 1] = DISCOVERED[DISCOVERED.indexOf('--alb-subnets') + 1]
    const named = await runCli(['deploy', 'service', '--env', 'dev', '--image', IMAGE, '--dry-run', '--work-dir', path.join(t.dir, 'w'), ...args], {cwd: t.dir})
    expect(named.exitCode).toBe(2)
    expect(named.stderr.trim()).toMatch(/^Error: --alb-security-group is "acme-dev-eks-alb": expected a security group id/)
    expect(existsSync(path.join(t.dir, 'w'))).toBe(false)
    expect(t.calls()).toEqual([])
  })
})
