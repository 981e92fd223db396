import path from 'node:path'

import type {EnvironmentSpec, Estate} from '../estate/model.js'
import {hasLayer} from '../estate/model.js'
import {InfraError} from '../errors.js'
import {APP, type DiscoveredValues, NAMESPACE} from '../k8s/service-manifests.js'
import {synthesizeServiceManifests} from '../k8s/synth.js'
import type {ValidationResult} from '../k8s/validate.js'
import type {AuditReport} from '../policy/engine.js'
import {auditManifests} from '../policy/k8s-rules.js'
import {resolveDiscoveredValues} from './discovered.js'
import {Kubectl, type KubectlSettings, lastLine} from './kubectl.js'

/** An image reference as registries take it: name, then a tag, a digest, or both. */
const IMAGE_REF = /^[a-z0-9]+(?:[._-][a-z0-9]+)*(?::\d+)?(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::[\w][\w.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$/

export interface DeployServiceOptions {
  estate: Estate
  env: EnvironmentSpec
  image: string
  dryRun: boolean
  /** Manifests go to <workDir>/<env>/k8s. */
  workDir: string
  discovered: DiscoveredValues
  certificateArn?: string
  profile?: string
  kubectl: Omit<KubectlSettings, 'context'> & {context?: string}
  rolloutTimeoutSeconds: number
  /** Asked once the manifests passed the gate, before anything is applied; false applies nothing. */
  confirm: (plan: {context: string; objects: string[]}) => Promise<boolean>
}

export interface DeployServiceReport {
  environment: string
  image: string
  mode: 'dry-run' | 'apply'
  context: string
  manifests: {dir: string; monitoringDir: string; files: string[]; objects: ValidationResult[]}
  audit: {passed: boolean; summary: AuditReport['summary']; findings: {rule: string; severity: string; message: string}[]}
  /** What was run, or on a dry run what would be: argv of each kubectl call. */
  kubectl: string[][]
  applied: boolean
  rollout: 'complete' | 'undone' | null
  skipped?: 'declined'
}

/** The deployment's name as kubectl takes it. */
const DEPLOYMENT = `deployment/${APP}`

/**
 * Synthesizes the service's manifests, validates and audits them, and (unless a dry run) applies
 * them server-side through the EKS tunnel's kubeconfig context, waits for the rollout, and undoes
 * it when the new pods do not become ready.
 */
export async function deployService(options: DeployServiceOptions): Promise<DeployServiceReport> {
  const {estate, env} = options
  if (!IMAGE_REF.test(options.image)) {
    throw new InfraError(`--image ${options.image} is not an image reference`, 'give registry/name:tag or registry/name@sha256:<digest>, e.g. 111111111111.dkr.ecr.eu-west-1.amazonaws.com/infra:0.1.0', 'INVALID_IMAGE')
  }
  if (!hasLayer(env, 'eks')) throw new InfraError(`${env.name} has no EKS cluster (omitLayers: eks in ${estate.source})`, 'run the service with `infra service start`, or add the eks layer', 'NO_CLUSTER')
  const discovered = await resolveDiscoveredValues(estate, env, options.discovered, options.profile)
  const outdir = path.resolve(options.workDir, env.name, 'k8s')
  const manifests = synthesizeServiceManifests(estate, env, {image: options.image, discovered, certificateArn: options.certificateArn}, outdir)
  const audit = auditManifests(manifests.objects, manifests.manifestsDir, {wafRequired: hasLayer(env, 'waf')})
  const kubectl = new Kubectl({...options.kubectl, context: options.kubectl.context ?? `infra-${env.name}`})
  const applyArgs = ['apply', '--server-side', '--field-manager=infra', '-f', manifests.manifestsDir]
  const rolloutArgs = ['rollout', 'status', DEPLOYMENT, '-n', NAMESPACE, `--timeout=${options.rolloutTimeoutSeconds}s`]
  const report: DeployServiceReport = {
    environment: env.name,
    image: options.image,
    mode: options.dryRun ? 'dry-run' : 'apply',
    context: kubectl.settings.context,
    manifests: {dir: manifests.manifestsDir, monitoringDir: manifests.monitoringDir, files: manifests.files, objects: manifests.validation},
    audit: {passed: audit.passed, summary: audit.summary, findings: audit.findings.map((f) => ({rule: f.rule, severity: f.severity, message: f.message}))},
    kubectl: [],
    applied: false,
    rollout: null,
  }
  if (!audit.passed) {
    const first = audit.findings.find((f) => f.severity === 'critical' || f.severity === 'high')!
    throw new InfraError(`refusing to deploy: the manifests break ${first.rule} (${first.message})`, first.fix, 'AUDIT_FAILED', 1, {stage: 'manifests', findings: audit.findings})
  }
  if (options.dryRun) {
    report.kubectl = [applyArgs, rolloutArgs].map((args) => [kubectl.binary, ...kubectl.globalArgs(), ...args])
    return report
  }

  // The tunnel writes the context; without it kubectl would talk to whatever cluster is current.
  const context = await kubectl.run(['config', 'get-contexts', kubectl.settings.context, '-o', 'name'])
  if (context.exitCode !== 0) {
    report.kubectl = kubectl.commands
    throw new InfraError(
      `no kubeconfig context ${kubectl.settings.context}${options.kubectl.kubeconfig ? ` in ${options.kubectl.kubeconfig}` : ''}: ${lastLine(context.stderr)}`,
      `open the tunnel first (\`infra tunnel eks --env ${env.name}\`, which writes it), or pass --context/--kubeconfig`,
      'NO_KUBE_CONTEXT',
    )
  }
  const agreed = await options.confirm({context: kubectl.settings.context, objects: manifests.validation.map((v) => v.object)})
  if (!agreed) {
    report.kubectl = kubectl.commands
    report.skipped = 'declined'
    return report
  }
  const applied = await kubectl.run(applyArgs)
  report.kubectl = kubectl.commands
  if (applied.exitCode !== 0) {
    throw new InfraError(
      `kubectl apply to ${kubectl.settings.context} failed: ${lastLine(applied.stderr) || `exit ${applied.exitCode}`}`,
      `check the EKS tunnel is open (\`infra tunnel eks --env ${env.name}\`) and External Secrets Operator and the AWS Load Balancer Controller are installed`,
      'KUBECTL_APPLY_FAILED',
      1,
      report,
    )
  }
  report.applied = true
  const rollout = await kubectl.run(rolloutArgs, (options.rolloutTimeoutSeconds + 60) * 1000)
  if (rollout.exitCode === 0) {
    report.rollout = 'complete'
    return report
  }
  // The new pods did not become ready: back to the previous ReplicaSet, and say so.
  const undo = await kubectl.run(['rollout', 'undo', DEPLOYMENT, '-n', NAMESPACE])
  report.rollout = undo.exitCode === 0 ? 'undone' : null
  const why = lastLine(rollout.stderr) || lastLine(rollout.stdout) || `exit ${rollout.exitCode}`
  throw new InfraError(
    undo.exitCode === 0
      ? `${NAMESPACE}/${APP} did not become ready within ${options.rolloutTimeoutSeconds}s (${why}); rolled back to the previous revision`
      : `${NAMESPACE}/${APP} did not become ready within ${options.rolloutTimeoutSeconds}s (${why}) and could not be rolled back (${lastLine(undo.stderr)})`,
    `see \`kubectl --context ${kubectl.settings.context} -n ${NAMESPACE} describe ${DEPLOYMENT}\` and the pods' logs; fix the image or configuration, then deploy again`,
    'ROLLOUT_FAILED',
    1,
    report,
  )
}
