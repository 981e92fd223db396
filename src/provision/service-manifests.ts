import {rmSync} from 'node:fs'
import path from 'node:path'

import type {EnvironmentSpec, Estate} from '../estate/model.js'
import {hasLayer} from '../estate/model.js'
import {type DiscoveredValues, POSTGRES_PORT, type ServiceDeploymentOptions, serviceObjects} from '../k8s/service-manifests.js'
import {synthesizeServiceManifests} from '../k8s/synth.js'
import type {AuditReport} from '../policy/engine.js'
import {auditManifests} from '../policy/k8s-rules.js'
import {loadBalancerSecurityGroupName} from '../stacks/eks.js'
import {subnetName} from '../stacks/network.js'

/** Marks a value in the manifests provision writes that only the applied stacks know (deploy fills it in). */
export const KNOWN_AFTER_APPLY = 'known-after-apply'
/** Marks the image: deploy's --image, never known when the estate is provisioned. */
export const KNOWN_AT_DEPLOY = 'known-at-deploy'

export interface Placeholder {
  /** What the value is in the manifests. */
  field: 'image' | keyof DiscoveredValues
  value: string
  /** Where the real value comes from. */
  from: string
}

export interface ProvisionedManifests {
  /** <work-dir>/<env>/k8s/manifests, beside the synthesized stacks (deploy service writes the same folder). */
  dir: string
  monitoringDir: string
  objects: number
  placeholders: Placeholder[]
  audit: AuditReport
}

/**
 * The service's deployment options as far as the estate alone says: every name and ARN the stacks
 * build deterministically (the IRSA role, the results bucket, the log group) is real; the image and
 * what AWS names at apply (the WAF ACL's id, the RDS endpoint and managed secret) are placeholders
 * that say so, shaped like the real values so the same schemas and rules hold for them.
 */
export function provisionTimeValues(estate: Estate, env: EnvironmentSpec): {options: ServiceDeploymentOptions; placeholders: Placeholder[]} {
  const prefix = `${estate.organization.name}-${env.name}`
  const placeholders: Placeholder[] = [{field: 'image', value: `${env.accountId}.dkr.ecr.${env.region}.amazonaws.com/infra:${KNOWN_AT_DEPLOY}`, from: `infra deploy service --env ${env.name} --image`}]
  const discovered: DiscoveredValues = {}
  const after = (field: keyof DiscoveredValues, value: string, parameter: string) => {
    discovered[field] = value
    placeholders.push({field, value, from: `/infra/${env.name}/${parameter} once applied`})
  }
  // Not placeholders: the controller takes Name tags as well as ids for both annotations, and the
  // stacks name these deterministically (deploy uses the ids the stacks publish).
  discovered.loadBalancerSubnets = env.availabilityZones.map((az) => subnetName(prefix, 'lb', az)).join(',')
  discovered.albSecurityGroup = loadBalancerSecurityGroupName(prefix)
  if (hasLayer(env, 'waf')) after('wafWebAclArn', `arn:aws:wafv2:${env.region}:${env.accountId}:regional/webacl/${prefix}-service/${KNOWN_AFTER_APPLY}`, 'waf/web-acl-arn')
  if (hasLayer(env, 'database')) {
    after('databaseSecretArn', `arn:aws:secretsmanager:${env.region}:${env.accountId}:secret:rds!db-${KNOWN_AFTER_APPLY}`, 'database/secret-arn')
    after('databaseEndpoint', `${prefix}-postgres.${KNOWN_AFTER_APPLY}.${env.region}.rds.amazonaws.com:${POSTGRES_PORT}`, 'database/endpoint')
  }
  return {options: {image: placeholders[0].value, discovered}, placeholders}
}

/**
 * Synthesizes the environment's service manifests for provision and runs the Kubernetes rules on
 * them, the same rules `deploy service` enforces; undefined for an environment without a cluster.
 * Manifests that break a rule are not left behind to be applied by hand: the folder is removed.
 */
export function provisionServiceManifests(estate: Estate, env: EnvironmentSpec, envDir: string): ProvisionedManifests | undefined {
  if (!hasLayer(env, 'eks')) return undefined
  const {options, placeholders} = provisionTimeValues(estate, env)
  const outdir = path.join(envDir, 'k8s')
  const audit = auditManifests(serviceObjects(estate, env, options), path.join(outdir, 'manifests'), {wafRequired: hasLayer(env, 'waf')})
  if (!audit.passed) {
    rmSync(outdir, {recursive: true, force: true})
    return {dir: audit.source, monitoringDir: path.join(outdir, 'monitoring'), objects: audit.resources, placeholders, audit}
  }
  const written = synthesizeServiceManifests(estate, env, options, outdir)
  return {dir: written.manifestsDir, monitoringDir: written.monitoringDir, objects: written.objects.length, placeholders, audit}
}
