import {existsSync, mkdtempSync, readFileSync, readdirSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import {describe, expect, it, vi} from 'vitest'
import {parseAllDocuments} from 'yaml'

import {findTarget} from '../../src/estate/load.js'
import type {KubeObject} from '../../src/k8s/service-manifests.js'
import {provision} from '../../src/provision/provision.js'
import {defaultEstate, estateWith} from '../support/synth.js'

// A regression in the manifest synthesis, switched on by one test: the service's container turns
// privileged, as a careless edit of src/k8s would make it. Everything else is the real synthesis.
const regression = vi.hoisted(() => ({privileged: false}))
vi.mock('../../src/k8s/service-manifests.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../src/k8s/service-manifests.js')>()
  return {
    ...real,
    serviceObjects: (...args: Parameters<typeof real.serviceObjects>): KubeObject[] => {
      const objects = real.serviceObjects(...args)
      if (regression.privileged) {
        const deployment = objects.find((o) => o.kind === 'Deployment') as any
        deployment.spec.template.spec.containers[0].securityContext.privileged = true
      }
      return objects
    },
  }
})

/** provision's dry run without terraform validate: synthesis and the gate only, seconds. */
const dryRun = (estate = defaultEstate(), envName = 'dev') => {
  const workDir = mkdtempSync(path.join(os.tmpdir(), 'infra-provision-k8s-'))
  const run = provision({
    estate,
    env: findTarget(estate, envName),
    mode: 'dry-run',
    workDir,
    validate: false,
    renderer: 'silent',
    terraform: {timeoutMs: 60_000},
    confirm: async () => false,
  })
  return {workDir, run}
}

describe('provision writes and gates the service manifests', () => {
  it('beside the stacks, with the deterministic names real and the apply-time values marked as placeholders', async () => {
    const {workDir, run} = dryRun()
    const report = await run
    const manifests = report.serviceManifests!
    expect(manifests.dir).toBe(path.join(workDir, 'dev', 'k8s', 'manifests'))
    expect(manifests.audit).toMatchObject({passed: true, summary: {critical: 0, high: 0}})
    const objects = readdirSync(manifests.dir).flatMap((file) => parseAllDocuments(readFileSync(path.join(manifests.dir, file), 'utf8')).map((d) => d.toJSON()))
    expect(objects.length).toBe(manifests.objects)
    const text = JSON.stringify(objects)
    // Known from the estate: the IRSA role, the results bucket.
    expect(text).toContain('arn:aws:iam::111111111111:role/acme-dev-service')
    expect(text).toContain('acme-dev-service-results-111111111111')
    // Known after apply or at deploy: marked as such, and listed with where the value comes from.
    expect(manifests.placeholders.map((p) => p.field)).toEqual(['image', 'wafWebAclArn', 'databaseSecretArn', 'databaseEndpoint'])
    for (const placeholder of manifests.placeholders) {
      expect(placeholder.value).toMatch(/known-after-apply|known-at-deploy/)
      expect(text).toContain(placeholder.value)
    }
    expect(manifests.placeholders.find((p) => p.field === 'wafWebAclArn')!.from).toBe('/infra/dev/waf/web-acl-arn once applied')
    const ingress = objects.find((o) => o.kind === 'Ingress')
    expect(ingress.metadata.annotations['alb.ingress.kubernetes.io/wafv2-acl-arn']).toBe('arn:aws:wafv2:eu-west-1:111111111111:regional/webacl/acme-dev-service/known-after-apply')
    // The balancer's subnets and group by the Name tags the stacks give them (deploy uses their ids).
    expect(ingress.metadata.annotations['alb.ingress.kubernetes.io/subnets']).toBe('acme-dev-lb-eu-west-1a,acme-dev-lb-eu-west-1b,acme-dev-lb-eu-west-1c')
    expect(ingress.metadata.annotations['alb.ingress.kubernetes.io/security-groups']).toBe('acme-dev-eks-alb')
  })

  it('not for an environment without a cluster', async () => {
    const {workDir, run} = dryRun(estateWith((doc) => (doc.environments.dev.omitLayers = ['eks'])))
    expect((await run).serviceManifests).toBeNull()
    expect(existsSync(path.join(workDir, 'dev', 'k8s'))).toBe(false)
  })

  it('refuses manifests that break a Kubernetes rule, and leaves none of them to apply', async () => {
    regression.privileged = true
    try {
      const {workDir, run} = dryRun()
      await expect(run).rejects.toMatchObject({
        code: 'AUDIT_FAILED',
        message: expect.stringMatching(/^refusing to apply: the service manifests break 1 high or critical rule, first INFRA_K8S_NO_PRIVILEGE on Deployment\/infra\/infra-service \(.*container service is privileged\)/),
        details: {stage: 'service manifests'},
      })
      expect(existsSync(path.join(workDir, 'dev', 'k8s'))).toBe(false)
      // The stacks passed their own gate and were synthesized first.
      expect(existsSync(path.join(workDir, 'dev', 'cdktf.out'))).toBe(true)
    } finally {
      regression.privileged = false
    }
  })
})
