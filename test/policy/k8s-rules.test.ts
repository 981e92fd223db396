import {parseAllDocuments} from 'yaml'
import {describe, expect, it} from 'vitest'

import {K8S_RULES, type ManifestObject, auditManifests} from '../../src/policy/k8s-rules.js'
import {synthesizedObjects} from '../k8s/fixtures.js'

const copy = (objects: ManifestObject[]): ManifestObject[] => structuredClone(objects)
const deploymentOf = (objects: ManifestObject[]) => objects.find((o) => o.kind === 'Deployment')!
const containerOf = (objects: ManifestObject[]) => deploymentOf(objects).spec.template.spec.containers[0]
const failedRules = (objects: ManifestObject[], wafRequired = true) => auditManifests(objects, 'test', {wafRequired}).findings.map((f) => f.rule)

// Published examples, verbatim: the Kubernetes documentation's Deployment
// (kubernetes.io/docs/concepts/workloads/controllers/deployment/) and the AWS Load Balancer
// Controller's 2048 game Ingress (kubernetes-sigs/aws-load-balancer-controller docs/examples/2048).
const KUBERNETES_DOCS_DEPLOYMENT = `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: nginx-deployment
  labels:
    app: nginx
spec:
  replicas: 3
  selector:
    matchLabels:
      app: nginx
  template:
    metadata:
      labels:
        app: nginx
    spec:
      containers:
      - name: nginx
        image: nginx:1.14.2
        ports:
        - containerPort: 80
`
const AWS_LBC_2048_INGRESS = `
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  namespace: game-2048
  name: ingress-2048
  annotations:
    alb.ingress.kubernetes.io/scheme: internet-facing
    alb.ingress.kubernetes.io/target-type: ip
spec:
  ingressClassName: alb
  rules:
    - http:
        paths:
        - path: /
          pathType: Prefix
          backend:
            service:
              name: service-2048
              port:
                number: 80
`

describe('the Kubernetes policy rules', () => {
  const {objects} = synthesizedObjects('dev')

  it('pass the synthesized service manifests, every rule and the WAF rule included', () => {
    const report = auditManifests(objects, 'dev', {wafRequired: true})
    expect(report.findings).toEqual([])
    expect(report.passed).toBe(true)
    expect(report.rules).toBe(K8S_RULES.length + 1)
  })

  it('fail a published example deployment on everything it leaves to defaults', () => {
    const docs = parseAllDocuments(KUBERNETES_DOCS_DEPLOYMENT).map((d) => d.toJSON())
    const report = auditManifests(docs, 'kubernetes docs')
    expect(report.findings.map((f) => f.rule).sort()).toEqual(
      ['INFRA_K8S_IRSA', 'INFRA_K8S_NETWORK_POLICY', 'INFRA_K8S_NON_ROOT', 'INFRA_K8S_NO_PRIVILEGE', 'INFRA_K8S_PDB', 'INFRA_K8S_PROBES', 'INFRA_K8S_READ_ONLY_ROOT', 'INFRA_K8S_RESOURCES', 'INFRA_K8S_SECCOMP', 'INFRA_K8S_SPREAD'].sort(),
    )
    expect(report.passed).toBe(false)
    expect(report.findings.find((f) => f.rule === 'INFRA_K8S_NON_ROOT')!.message).toBe('Deployment/nginx-deployment container nginx may run as root (runAsNonRoot is not true)')
    const lbc = parseAllDocuments(AWS_LBC_2048_INGRESS).map((d) => d.toJSON())
    expect(auditManifests(lbc, 'aws lbc', {wafRequired: true}).findings.map((f) => [f.rule, f.severity])).toEqual([
      ['INFRA_K8S_INTERNAL_LB', 'critical'],
      ['INFRA_K8S_WAF', 'high'],
    ])
  })

  const breakages: [rule: string, breakIt: (objects: ManifestObject[]) => void][] = [
    ['INFRA_K8S_NON_ROOT', (o) => {
      delete deploymentOf(o).spec.template.spec.securityContext.runAsNonRoot
      delete containerOf(o).securityContext.runAsNonRoot
    }],
    ['INFRA_K8S_NON_ROOT', (o) => (containerOf(o).securityContext.runAsUser = 0)],
    ['INFRA_K8S_READ_ONLY_ROOT', (o) => (containerOf(o).securityContext.readOnlyRootFilesystem = false)],
    ['INFRA_K8S_NO_PRIVILEGE', (o) => (containerOf(o).securityContext.allowPrivilegeEscalation = true)],
    ['INFRA_K8S_NO_PRIVILEGE', (o) => (containerOf(o).securityContext.capabilities = {drop: ['ALL'], add: ['NET_ADMIN']})],
    ['INFRA_K8S_SECCOMP', (o) => {
      delete deploymentOf(o).spec.template.spec.securityContext.seccompProfile
      containerOf(o).securityContext.seccompProfile = {type: 'Unconfined'}
    }],
    ['INFRA_K8S_PROBES', (o) => delete containerOf(o).readinessProbe],
    ['INFRA_K8S_RESOURCES', (o) => delete containerOf(o).resources.limits.memory],
    ['INFRA_K8S_SPREAD', (o) => {
      // One replica (with a budget that still lets a node drain, else INFRA_K8S_PDB fails too).
      o.find((x) => x.kind === 'HorizontalPodAutoscaler')!.spec.minReplicas = 1
      o.find((x) => x.kind === 'PodDisruptionBudget')!.spec.minAvailable = 0
    }],
    ['INFRA_K8S_SPREAD', (o) => {
      // A count in the manifest wins over the HPA's floor.
      deploymentOf(o).spec.replicas = 1
      o.find((x) => x.kind === 'PodDisruptionBudget')!.spec.minAvailable = 0
    }],
    ['INFRA_K8S_SPREAD', (o) => (deploymentOf(o).spec.template.spec.topologySpreadConstraints = [])],
    ['INFRA_K8S_PDB', (o) => o.splice(o.findIndex((x) => x.kind === 'PodDisruptionBudget'), 1)],
    ['INFRA_K8S_PDB', (o) => (o.find((x) => x.kind === 'PodDisruptionBudget')!.spec.minAvailable = 2)],
    ['INFRA_K8S_IRSA', (o) => delete o.find((x) => x.kind === 'ServiceAccount')!.metadata.annotations!['eks.amazonaws.com/role-arn']],
    ['INFRA_K8S_NETWORK_POLICY', (o) => (o.find((x) => x.kind === 'NetworkPolicy')!.spec.policyTypes = ['Ingress'])],
    ['INFRA_K8S_IMAGE_PINNED', (o) => (containerOf(o).image = 'infra:latest')],
    ['INFRA_K8S_IMAGE_PINNED', (o) => (containerOf(o).image = 'registry.example/infra')],
    ['INFRA_K8S_INTERNAL_LB', (o) => (o.find((x) => x.kind === 'Ingress')!.metadata.annotations!['alb.ingress.kubernetes.io/scheme'] = 'internet-facing')],
    ['INFRA_K8S_INTERNAL_LB', (o) => o.push({apiVersion: 'v1', kind: 'Service', metadata: {name: 'public', namespace: 'infra'}, spec: {type: 'LoadBalancer', ports: [{port: 80}]}})],
    ['INFRA_K8S_WAF', (o) => delete o.find((x) => x.kind === 'Ingress')!.metadata.annotations!['alb.ingress.kubernetes.io/wafv2-acl-arn']],
  ]

  it.each(breakages)('%s fails when the manifests lose what it checks', (rule, breakIt) => {
    const broken = copy(objects)
    breakIt(broken)
    expect(failedRules(broken)).toEqual([rule])
  })

  it('does not ask for WAF where the environment has none', () => {
    const broken = copy(objects)
    delete broken.find((x) => x.kind === 'Ingress')!.metadata.annotations!['alb.ingress.kubernetes.io/wafv2-acl-arn']
    expect(failedRules(broken, false)).toEqual([])
  })
})

describe('Kubernetes rule citations', () => {
  it('every rule cites the Kubernetes or AWS documentation it follows', () => {
    for (const rule of K8S_RULES) expect(rule.source, rule.id).toMatch(/https:\/\/(kubernetes\.io\/docs|docs\.aws\.amazon\.com|kubernetes-sigs\.github\.io)\/\S+/)
  })
})
