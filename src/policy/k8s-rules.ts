import type {AuditReport, Finding} from './engine.js'
import type {Severity} from './rule.js'

/** A Kubernetes object as written to a manifest (plain JSON). */
export interface ManifestObject {
  apiVersion: string
  kind: string
  metadata: {name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string>}
  [field: string]: any
}

export interface K8sRule {
  id: string
  title: string
  severity: Severity
  kinds: string[]
  fix: string
  /** The Kubernetes or AWS documentation it follows (title and URL; test/policy/k8s-rules.test.ts asks one of every rule). */
  source: string
  /** The failure, in a few words, or undefined when the object passes. */
  check(object: ManifestObject, all: ManifestObject[]): string | undefined
}

const WORKLOADS = ['Deployment', 'StatefulSet', 'DaemonSet']

const podSpec = (object: ManifestObject): any => object.spec?.template?.spec ?? {}
const containers = (object: ManifestObject): any[] => [...(podSpec(object).initContainers ?? []), ...(podSpec(object).containers ?? [])]
const podLabels = (object: ManifestObject): Record<string, string> => object.spec?.template?.metadata?.labels ?? {}
const sameNamespace = (a: ManifestObject, b: ManifestObject) => (a.metadata.namespace ?? 'default') === (b.metadata.namespace ?? 'default')
/** Whether a label selector (matchLabels only; matchExpressions make it not match) selects these labels. */
const selects = (selector: any, labels: Record<string, string>): boolean =>
  selector !== undefined && !selector.matchExpressions?.length && Object.entries(selector.matchLabels ?? {}).every(([key, value]) => labels[key] === value)
/** A container setting, falling back to the pod's securityContext as Kubernetes does. */
const effective = (object: ManifestObject, container: any, field: string): unknown => container.securityContext?.[field] ?? podSpec(object).securityContext?.[field]
/** Replicas a workload keeps: its own count, else the floor of the HPA that owns the count, else 1. */
const replicasOf = (object: ManifestObject, all: ManifestObject[]): number => {
  if (object.spec?.replicas !== undefined) return object.spec.replicas
  const hpa = all.find((h) => h.kind === 'HorizontalPodAutoscaler' && sameNamespace(h, object) && h.spec?.scaleTargetRef?.kind === object.kind && h.spec?.scaleTargetRef?.name === object.metadata.name)
  return hpa?.spec?.minReplicas ?? 1
}
const firstFailing = (object: ManifestObject, test: (container: any) => string | undefined, of = containers(object)): string | undefined => {
  for (const container of of) {
    const failure = test(container)
    if (failure) return `container ${container.name} ${failure}`
  }
  return undefined
}

/** What every workload of the estate on EKS must be, checked on the synthesized manifests before they are applied. */
export const K8S_RULES: K8sRule[] = [
  {
    id: 'INFRA_K8S_NON_ROOT', title: 'Containers run as a non-root user', severity: 'high', kinds: WORKLOADS,
    source: 'Kubernetes, \'Pod Security Standards\', Restricted profile https://kubernetes.io/docs/concepts/security/pod-security-standards/ (Running as Non-root; runAsUser not 0)',
    fix: 'set securityContext.runAsNonRoot: true and a non-zero runAsUser',
    check: (o) => firstFailing(o, (c) => (effective(o, c, 'runAsNonRoot') !== true ? 'may run as root (runAsNonRoot is not true)' : effective(o, c, 'runAsUser') === 0 ? 'runs as user 0' : undefined)),
  },
  {
    id: 'INFRA_K8S_READ_ONLY_ROOT', title: 'Root filesystems are read-only', severity: 'high', kinds: WORKLOADS,
    source: 'Kubernetes, \'Configure a Security Context for a Pod or Container\' (readOnlyRootFilesystem) https://kubernetes.io/docs/tasks/configure-pod-container/security-context/',
    fix: 'set securityContext.readOnlyRootFilesystem: true and mount emptyDir volumes where the process writes',
    check: (o) => firstFailing(o, (c) => (c.securityContext?.readOnlyRootFilesystem !== true ? 'has a writable root filesystem' : undefined)),
  },
  {
    id: 'INFRA_K8S_NO_PRIVILEGE', title: 'No privilege escalation, no privileged mode, all capabilities dropped', severity: 'high', kinds: WORKLOADS,
    source: 'Kubernetes, \'Pod Security Standards\', Restricted profile https://kubernetes.io/docs/concepts/security/pod-security-standards/ (Privileged Containers, Privilege Escalation, Capabilities: drop ALL)',
    fix: 'set allowPrivilegeEscalation: false, privileged: false and capabilities.drop: [ALL]',
    check: (o) =>
      firstFailing(o, (c) => {
        const context = c.securityContext ?? {}
        if (context.privileged === true) return 'is privileged'
        if (context.allowPrivilegeEscalation !== false) return 'allows privilege escalation'
        if (!(context.capabilities?.drop ?? []).includes('ALL')) return 'keeps its default capabilities'
        if ((context.capabilities?.add ?? []).length > 0) return `adds capabilities ${context.capabilities.add.join(', ')}`
        return undefined
      }),
  },
  {
    id: 'INFRA_K8S_SECCOMP', title: 'A seccomp profile filters system calls', severity: 'medium', kinds: WORKLOADS,
    source: 'Kubernetes, \'Pod Security Standards\', Restricted profile https://kubernetes.io/docs/concepts/security/pod-security-standards/ (Seccomp: RuntimeDefault or Localhost)',
    fix: 'set securityContext.seccompProfile.type: RuntimeDefault',
    check: (o) => firstFailing(o, (c) => (['RuntimeDefault', 'Localhost'].includes((effective(o, c, 'seccompProfile') as any)?.type) ? undefined : 'runs unconfined (no seccomp profile)')),
  },
  {
    id: 'INFRA_K8S_PROBES', title: 'Containers have liveness and readiness probes', severity: 'high', kinds: WORKLOADS,
    source: 'Kubernetes, \'Configure Liveness, Readiness and Startup Probes\' https://kubernetes.io/docs/tasks/configure-pod-container/configure-liveness-readiness-startup-probes/ (init containers run to completion and take no probes: https://kubernetes.io/docs/concepts/workloads/pods/init-containers/)',
    fix: 'add livenessProbe (/health) and readinessProbe (/ready)',
    // Init containers run to completion before the pod is ready: probes are for the long-running ones.
    check: (o) => firstFailing(o, (c) => (!c.livenessProbe ? 'has no liveness probe' : !c.readinessProbe ? 'has no readiness probe' : undefined), podSpec(o).containers ?? []),
  },
  {
    id: 'INFRA_K8S_RESOURCES', title: 'CPU and memory requests and limits are set', severity: 'high', kinds: WORKLOADS,
    source: 'Kubernetes, \'Resource Management for Pods and Containers\' https://kubernetes.io/docs/concepts/configuration/manage-resources-containers/',
    fix: 'set resources.requests and resources.limits for cpu and memory',
    check: (o) =>
      firstFailing(o, (c) => {
        const missing = ['requests', 'limits'].flatMap((kind) => ['cpu', 'memory'].filter((resource) => c.resources?.[kind]?.[resource] === undefined).map((resource) => `${kind}.${resource}`))
        return missing.length ? `has no ${missing.join(', ')}` : undefined
      }),
  },
  {
    id: 'INFRA_K8S_SPREAD', title: 'At least two replicas, spread across zones', severity: 'medium', kinds: ['Deployment', 'StatefulSet'],
    source: 'Kubernetes, \'Pod Topology Spread Constraints\' https://kubernetes.io/docs/concepts/scheduling-eviction/topology-spread-constraints/ and Amazon EKS best practices, reliability https://docs.aws.amazon.com/eks/latest/best-practices/reliability.html',
    fix: 'run 2 or more replicas (or an HPA with minReplicas 2 or more) with a topologySpreadConstraint on topology.kubernetes.io/zone',
    check: (o, all) => {
      const replicas = replicasOf(o, all)
      if (replicas < 2) return `runs ${replicas} replica`
      const spread = (podSpec(o).topologySpreadConstraints ?? []).some((c: any) => c.topologyKey === 'topology.kubernetes.io/zone' && selects(c.labelSelector, podLabels(o)))
      return spread ? undefined : 'is not spread across zones'
    },
  },
  {
    id: 'INFRA_K8S_PDB', title: 'A PodDisruptionBudget keeps replicas through node drains', severity: 'high', kinds: ['Deployment', 'StatefulSet'],
    source: 'Kubernetes, \'Specifying a Disruption Budget for your Application\' https://kubernetes.io/docs/tasks/run-application/configure-pdb/',
    fix: 'add a policy/v1 PodDisruptionBudget selecting the pods, with minAvailable or maxUnavailable',
    check: (o, all) => {
      const budget = all.find((b) => b.kind === 'PodDisruptionBudget' && sameNamespace(b, o) && selects(b.spec?.selector, podLabels(o)))
      if (!budget) return 'has no PodDisruptionBudget'
      if (budget.spec.minAvailable === undefined && budget.spec.maxUnavailable === undefined) return `has PodDisruptionBudget ${budget.metadata.name} without minAvailable or maxUnavailable`
      if (budget.spec.minAvailable !== undefined && budget.spec.minAvailable >= replicasOf(o, all)) return `has PodDisruptionBudget ${budget.metadata.name} that blocks every drain (minAvailable ${budget.spec.minAvailable})`
      return undefined
    },
  },
  {
    id: 'INFRA_K8S_IRSA', title: 'Pods get AWS access through IRSA, never the node role', severity: 'high', kinds: WORKLOADS,
    source: 'Amazon EKS user guide, \'IAM roles for service accounts\' https://docs.aws.amazon.com/eks/latest/userguide/iam-roles-for-service-accounts.html',
    fix: 'give the pod a ServiceAccount annotated eks.amazonaws.com/role-arn with the service role',
    check: (o, all) => {
      const name = podSpec(o).serviceAccountName ?? 'default'
      const account = all.find((a) => a.kind === 'ServiceAccount' && a.metadata.name === name && sameNamespace(a, o))
      if (!account) return `uses service account ${name}, which the manifests do not define`
      const role = account.metadata.annotations?.['eks.amazonaws.com/role-arn']
      return role && /^arn:aws[\w-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/.test(role) ? undefined : `uses service account ${name} with no IRSA role annotation`
    },
  },
  {
    id: 'INFRA_K8S_NETWORK_POLICY', title: 'A NetworkPolicy limits the pods\' traffic both ways', severity: 'medium', kinds: WORKLOADS,
    source: 'Kubernetes, \'Network Policies\' (Ingress and Egress policy types) https://kubernetes.io/docs/concepts/services-networking/network-policies/ and Amazon EKS user guide, \'Limit pod traffic with Kubernetes network policies\' https://docs.aws.amazon.com/eks/latest/userguide/cni-network-policy.html',
    fix: 'add a NetworkPolicy selecting the pods with policyTypes Ingress and Egress',
    check: (o, all) =>
      all.some((p) => p.kind === 'NetworkPolicy' && sameNamespace(p, o) && selects(p.spec?.podSelector, podLabels(o)) && ['Ingress', 'Egress'].every((t) => p.spec?.policyTypes?.includes(t)))
        ? undefined
        : 'is selected by no NetworkPolicy for ingress and egress',
  },
  {
    id: 'INFRA_K8S_IMAGE_PINNED', title: 'Images are pinned to a tag or digest', severity: 'medium', kinds: WORKLOADS,
    source: 'Kubernetes, \'Images\' (image names, tags and digests; :latest and no tag pull whatever is current) https://kubernetes.io/docs/concepts/containers/images/',
    fix: 'deploy an image by digest (@sha256:...) or a release tag, never latest',
    check: (o) =>
      firstFailing(o, (c) => {
        const image = String(c.image ?? '')
        if (image.includes('@sha256:')) return undefined
        const tag = /:([^/:]+)$/.exec(image)?.[1]
        return !tag || tag === 'latest' ? `uses unpinned image ${image}` : undefined
      }),
  },
  {
    id: 'INFRA_K8S_INTERNAL_LB', title: 'Load balancers stay inside the VPC', severity: 'critical', kinds: ['Ingress', 'Service'],
    source: 'AWS Load Balancer Controller annotations: Ingress alb.ingress.kubernetes.io/scheme https://kubernetes-sigs.github.io/aws-load-balancer-controller/latest/guide/ingress/annotations/ and Service service.beta.kubernetes.io/aws-load-balancer-scheme https://kubernetes-sigs.github.io/aws-load-balancer-controller/latest/guide/service/annotations/ (the controller defaults to internal, but a Service the in-tree cloud provider handles is internet-facing unless annotated, so the rule asks the scheme written); Amazon EKS user guide, \'Route application and HTTP traffic with Application Load Balancers\' https://docs.aws.amazon.com/eks/latest/userguide/alb-ingress.html',
    fix: 'set alb.ingress.kubernetes.io/scheme: internal (Ingress) or service.beta.kubernetes.io/aws-load-balancer-scheme: internal (Service)',
    check: (o) => {
      const annotations = o.metadata.annotations ?? {}
      if (o.kind === 'Service') return o.spec?.type === 'LoadBalancer' && annotations['service.beta.kubernetes.io/aws-load-balancer-scheme'] !== 'internal' ? 'is an internet-facing load balancer' : undefined
      const alb = o.spec?.ingressClassName === 'alb' || annotations['kubernetes.io/ingress.class'] === 'alb'
      return alb && annotations['alb.ingress.kubernetes.io/scheme'] !== 'internal' ? 'is an internet-facing ALB' : undefined
    },
  },
]

export interface ManifestAuditOptions {
  /** The WAF web ACL every ALB must be associated with, when the environment has one. */
  wafRequired?: boolean
  rules?: K8sRule[]
}

const WAF_RULE: K8sRule = {
  id: 'INFRA_K8S_WAF', title: 'ALBs are behind the environment\'s WAF web ACL', severity: 'high', kinds: ['Ingress'],
  source: 'AWS Load Balancer Controller, Ingress annotation alb.ingress.kubernetes.io/wafv2-acl-arn https://kubernetes-sigs.github.io/aws-load-balancer-controller/latest/guide/ingress/annotations/; AWS WAF developer guide, resources you can protect https://docs.aws.amazon.com/waf/latest/developerguide/how-aws-waf-works-resources.html',
  fix: 'set alb.ingress.kubernetes.io/wafv2-acl-arn to /infra/<env>/waf/web-acl-arn',
  check: (o) => (/^arn:aws[\w-]*:wafv2:[\w-]+:\d{12}:regional\/webacl\//.test(o.metadata.annotations?.['alb.ingress.kubernetes.io/wafv2-acl-arn'] ?? '') ? undefined : 'has no WAF web ACL'),
}

/** Runs the Kubernetes rules over synthesized objects; the report has the stacks audit's shape, so the same gate enforces it. */
export function auditManifests(objects: ManifestObject[], source: string, options: ManifestAuditOptions = {}): AuditReport {
  const rules = [...(options.rules ?? K8S_RULES), ...(options.wafRequired ? [WAF_RULE] : [])]
  const findings: Finding[] = []
  for (const rule of rules) {
    for (const object of objects.filter((candidate) => rule.kinds.includes(candidate.kind))) {
      const failure = rule.check(object, objects)
      if (!failure) continue
      const address = `${object.kind}/${object.metadata.namespace ? `${object.metadata.namespace}/` : ''}${object.metadata.name}`
      findings.push({
        rule: rule.id,
        checkov: null,
        title: rule.title,
        severity: rule.severity,
        address,
        resourceType: `${object.apiVersion}/${object.kind}`,
        constructPath: null,
        message: `${address} ${failure}`,
        fix: rule.fix,
        status: 'failed',
        exception: null,
        unprovenBy: null,
      })
    }
  }
  const summary = {critical: 0, high: 0, medium: 0, low: 0, accepted: 0, unproven: 0}
  for (const finding of findings) summary[finding.severity]++
  return {source, kind: 'synthesized', resources: objects.length, rules: rules.length, findings, summary, failOn: 'high', passed: summary.critical + summary.high === 0, notEvaluated: []}
}
