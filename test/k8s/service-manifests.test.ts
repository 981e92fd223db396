import {DaemonSet} from 'kubernetes-models/apps/v1/DaemonSet'
import {Deployment} from 'kubernetes-models/apps/v1/Deployment'
import {HorizontalPodAutoscaler} from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler'
import {Ingress} from 'kubernetes-models/networking.k8s.io/v1/Ingress'
import {NetworkPolicy} from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy'
import {PodDisruptionBudget} from 'kubernetes-models/policy/v1/PodDisruptionBudget'
import {ConfigMap} from 'kubernetes-models/v1/ConfigMap'
import {Namespace} from 'kubernetes-models/v1/Namespace'
import {Service} from 'kubernetes-models/v1/Service'
import {ServiceAccount} from 'kubernetes-models/v1/ServiceAccount'
import {describe, expect, it} from 'vitest'

import {cidrsOverlap, layoutSubnets, parseCidr} from '../../src/estate/cidr.js'
import {findTarget} from '../../src/estate/load.js'
import {serviceObjects} from '../../src/k8s/service-manifests.js'
import {validateObjects} from '../../src/k8s/validate.js'
import {serviceResultsBucketName, serviceRoleName} from '../../src/stacks/service-role.js'
import {defaultEstate, estateWith, synth} from '../support/synth.js'
import {DISCOVERED, IMAGE, synthesizedObjects} from './fixtures.js'

// The JSON schema of each kind, as kubernetes-models ships it from the Kubernetes OpenAPI.
const MODELS = new Map<string, new (data: any) => {validate(): void}>([
  ['v1/Namespace', Namespace],
  ['v1/ServiceAccount', ServiceAccount],
  ['v1/Service', Service],
  ['v1/ConfigMap', ConfigMap],
  ['apps/v1/Deployment', Deployment],
  ['apps/v1/DaemonSet', DaemonSet],
  ['policy/v1/PodDisruptionBudget', PodDisruptionBudget],
  ['autoscaling/v2/HorizontalPodAutoscaler', HorizontalPodAutoscaler],
  ['networking.k8s.io/v1/Ingress', Ingress],
  ['networking.k8s.io/v1/NetworkPolicy', NetworkPolicy],
])

describe('the service manifests', () => {
  const dev = synthesizedObjects('dev')
  const prod = synthesizedObjects('prod')

  it('are written by cdk8s in apply order, and every core object passes the Kubernetes API schema', () => {
    expect(dev.objects.map((o) => o.kind)).toEqual(['Namespace', 'ServiceAccount', 'SecretStore', 'ExternalSecret', 'Issuer', 'Certificate', 'Deployment', 'PodDisruptionBudget', 'HorizontalPodAutoscaler', 'Service', 'Ingress', 'NetworkPolicy', 'ConfigMap', 'ConfigMap',
      // The log shipper (test/k8s/log-shipper.test.ts).
      'Namespace', 'ServiceAccount', 'ConfigMap', 'DaemonSet', 'NetworkPolicy'])
    for (const object of [...dev.objects, ...prod.objects]) {
      const model = MODELS.get(`${object.apiVersion}/${object.kind}`)
      if (object.apiVersion.startsWith('external-secrets.io/') || object.apiVersion.startsWith('cert-manager.io/')) continue
      expect(model, `${object.apiVersion}/${object.kind}`).toBeDefined()
      expect(() => new model!(object).validate(), `${object.kind} ${object.metadata.name}`).not.toThrow()
    }
  })

  it('are refused before writing when an object breaks its schema', () => {
    const objects = serviceObjects(defaultEstate(), findTarget(defaultEstate(), 'dev'), {image: IMAGE, discovered: DISCOVERED})
    const deployment = objects.find((o) => o.kind === 'Deployment') as any
    deployment.spec.replicas = 'two' // a broken schema, as an edit by hand could make it
    expect(() => new Deployment(deployment).validate()).toThrow(/replicas/)
    expect(() => validateObjects(objects)).toThrow(/Deployment infra\/infra-service is not a valid apps\/v1\/Deployment/)
    const unknown = [{apiVersion: 'example.com/v1', kind: 'Widget', metadata: {name: 'w'}}]
    expect(() => validateObjects(unknown)).toThrow(/not a kind infra knows how to validate/)
  })

  it('run two replicas (three in ha) spread across zones, replaced one at a time with none lost', () => {
    const deployment = dev.find('Deployment')
    // The HPA owns the count, so an apply never scales the service down: its floor is the replica count.
    expect(deployment.spec.replicas).toBeUndefined()
    expect(dev.find('HorizontalPodAutoscaler').spec.minReplicas).toBe(2)
    expect(prod.find('HorizontalPodAutoscaler').spec.minReplicas).toBe(3)
    expect(deployment.spec.strategy.rollingUpdate).toEqual({maxUnavailable: 0, maxSurge: 1})
    const zone = deployment.spec.template.spec.topologySpreadConstraints.find((c: any) => c.topologyKey === 'topology.kubernetes.io/zone')
    expect(zone).toMatchObject({maxSkew: 1, whenUnsatisfiable: 'DoNotSchedule', labelSelector: {matchLabels: deployment.spec.selector.matchLabels}})
  })

  it('run as non-root on a read-only root filesystem with no privilege, capabilities or unconfined syscalls', () => {
    const pod = dev.find('Deployment').spec.template.spec
    expect(pod.securityContext).toMatchObject({runAsNonRoot: true, runAsUser: 65532, seccompProfile: {type: 'RuntimeDefault'}})
    const [container] = pod.containers
    expect(container.securityContext).toMatchObject({readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, privileged: false, capabilities: {drop: ['ALL']}})
    // What the process writes goes to emptyDir volumes at the paths the image's ENV names.
    expect(container.volumeMounts.map((m: any) => m.mountPath).sort()).toEqual(['/etc/infra/tls', '/tmp', '/var/lib/infra'])
    // The one mount that is not written: the TLS pair, read-only.
    expect(container.volumeMounts.find((m: any) => m.name === 'tls').readOnly).toBe(true)
    // The whole Secret volume, no subPath: a subPath mount is not updated when cert-manager renews
    // the Secret (Kubernetes docs, "Secrets"), and the service follows the files (src/service/tls.ts).
    expect(container.volumeMounts.find((m: any) => m.name === 'tls').subPath).toBeUndefined()
    expect(pod.automountServiceAccountToken).toBe(false)
    // Pod Security Admission enforces the same on anything else in the namespace.
    expect(dev.find('Namespace', 'infra').metadata.labels['pod-security.kubernetes.io/enforce']).toBe('restricted')
  })

  it('probe /live for liveness (not the database), /health at startup and /ready for readiness, with requests and limits set', () => {
    const [container] = dev.find('Deployment').spec.template.spec.containers
    expect(container.livenessProbe.httpGet).toEqual({path: '/live', port: 'http', scheme: 'HTTPS'})
    expect(container.readinessProbe.httpGet).toEqual({path: '/ready', port: 'http', scheme: 'HTTPS'})
    expect(container.startupProbe.httpGet).toEqual({path: '/health', port: 'http', scheme: 'HTTPS'})
    expect(container.ports).toEqual([{name: 'http', containerPort: 8080, protocol: 'TCP'}])
    expect(container.resources).toEqual({requests: {cpu: '250m', memory: '256Mi'}, limits: {cpu: '1', memory: '512Mi'}})
    expect(container.image).toBe(IMAGE)
  })

  it('keep a PodDisruptionBudget and scale with an autoscaling/v2 HPA from the replica count', () => {
    for (const env of [dev, prod]) {
      const deployment = env.find('Deployment')
      const pdb = env.find('PodDisruptionBudget')
      expect(pdb.apiVersion).toBe('policy/v1')
      expect(pdb.spec.selector.matchLabels).toEqual(deployment.spec.selector.matchLabels)
      const hpa = env.find('HorizontalPodAutoscaler')
      expect(pdb.spec.minAvailable).toBe(hpa.spec.minReplicas - 1)
      expect(hpa.apiVersion).toBe('autoscaling/v2')
      expect(hpa.spec.scaleTargetRef).toEqual({apiVersion: 'apps/v1', kind: 'Deployment', name: deployment.metadata.name})
      expect(hpa.spec.maxReplicas).toBeGreaterThan(hpa.spec.minReplicas)
    }
  })

  it('use the IRSA role the stacks create, by its ARN, on the pods\' service account', () => {
    const account = dev.find('ServiceAccount')
    expect(account.metadata.annotations['eks.amazonaws.com/role-arn']).toBe(`arn:aws:iam::111111111111:role/${serviceRoleName('acme-dev')}`)
    expect(dev.find('Deployment').spec.template.spec.serviceAccountName).toBe(account.metadata.name)
    expect(prod.find('ServiceAccount').metadata.annotations['eks.amazonaws.com/role-arn']).toBe('arn:aws:iam::333333333333:role/acme-prod-service')
    // And the bucket that role may write, by the name the stacks give it.
    const [container] = dev.find('Deployment').spec.template.spec.containers
    expect(container.env.find((e: any) => e.name === 'INFRA_SERVICE_RESULTS_BUCKET').value).toBe(`s3://${serviceResultsBucketName('acme-dev', '111111111111')}`)
  })

  it('take the database URL from the RDS-managed secret, synced by External Secrets with the service\'s own identity', () => {
    const [container] = dev.find('Deployment').spec.template.spec.containers
    expect(container.env.find((e: any) => e.name === 'INFRA_SERVICE_DATABASE_URL')).toEqual({name: 'INFRA_SERVICE_DATABASE_URL', valueFrom: {secretKeyRef: {name: 'infra-service-database', key: 'url'}}})
    const store = dev.find('SecretStore', 'aws-secrets-manager')
    expect(store.spec.provider.aws).toEqual({service: 'SecretsManager', region: 'eu-west-1', auth: {jwt: {serviceAccountRef: {name: 'infra-service'}}}})
    const external = dev.find('ExternalSecret', 'infra-service-database')
    expect(external.spec.data.map((d: any) => d.remoteRef)).toEqual([
      {key: DISCOVERED.databaseSecretArn, property: 'username'},
      {key: DISCOVERED.databaseSecretArn, property: 'password'},
    ])
    expect(external.spec.target.template.data.url).toBe(`postgres://{{ .username | urlquery }}:{{ .password | urlquery }}@${DISCOVERED.databaseEndpoint}/infra?sslmode=verify-full&sslrootcert=/etc/ssl/rds/global-bundle.pem`)
  })

  it('serve HTTPS to the ALB with a cert-manager certificate from a kubernetes.io/tls Secret', () => {
    const deployment = dev.find('Deployment')
    const [container] = deployment.spec.template.spec.containers
    const certificate = dev.find('Certificate', 'infra-service-tls')
    // cert-manager writes a kubernetes.io/tls Secret (tls.crt, tls.key) named spec.secretName.
    expect(certificate.spec.secretName).toBe('infra-service-tls')
    expect(certificate.spec.issuerRef).toEqual({name: dev.find('Issuer', 'infra-service-selfsigned').metadata.name, kind: 'Issuer'})
    expect(dev.find('Issuer', 'infra-service-selfsigned').spec).toEqual({selfSigned: {}})
    const volume = deployment.spec.template.spec.volumes.find((v: any) => v.name === 'tls')
    expect(volume.secret.secretName).toBe(certificate.spec.secretName)
    const mount = container.volumeMounts.find((m: any) => m.name === 'tls').mountPath
    const env = (name: string) => container.env.find((e: any) => e.name === name).value
    expect([env('INFRA_SERVICE_TLS_CERT'), env('INFRA_SERVICE_TLS_KEY')]).toEqual([`${mount}/tls.crt`, `${mount}/tls.key`])
    expect(dev.find('Ingress').metadata.annotations).toMatchObject({'alb.ingress.kubernetes.io/backend-protocol': 'HTTPS', 'alb.ingress.kubernetes.io/healthcheck-protocol': 'HTTPS'})
  })

  it('are reached through an internal ALB behind the WAF web ACL, and a NetworkPolicy both ways', () => {
    const ingress = dev.find('Ingress')
    expect(ingress.spec.ingressClassName).toBe('alb')
    expect(ingress.metadata.annotations).toMatchObject({'alb.ingress.kubernetes.io/scheme': 'internal', 'alb.ingress.kubernetes.io/wafv2-acl-arn': DISCOVERED.wafWebAclArn, 'alb.ingress.kubernetes.io/target-type': 'ip'})
    const policy = dev.find('NetworkPolicy')
    expect(policy.spec.policyTypes).toEqual(['Ingress', 'Egress'])
    // In only from the load-balancer subnets, which the Ingress names and whose X-Forwarded-For the pod believes.
    const albSubnets = layoutSubnets('10.1.0.0/16', 3).loadBalancer
    expect(albSubnets).toEqual(['10.1.240.0/23', '10.1.242.0/23', '10.1.244.0/23'])
    expect(policy.spec.ingress).toEqual([
      {from: albSubnets.map((cidr) => ({ipBlock: {cidr}})), ports: [{protocol: 'TCP', port: 8080}]},
      // The scrape job's pods (test below: its port is the one admitted) reach /metrics.
      {from: [{namespaceSelector: {matchLabels: {'kubernetes.io/metadata.name': 'monitoring'}}, podSelector: {matchLabels: {'app.kubernetes.io/name': 'prometheus'}}}], ports: [{protocol: 'TCP', port: 8080}]},
    ])
    const [container] = dev.find('Deployment').spec.template.spec.containers
    expect(container.env.find((e: any) => e.name === 'INFRA_SERVICE_TRUSTED_PROXIES').value).toBe(albSubnets.join(','))
    // None of those addresses can be a pod's or a node's: they live in the app subnets.
    for (const app of layoutSubnets('10.1.0.0/16', 3).app) for (const lb of albSubnets) expect(cidrsOverlap(parseCidr(app)!, parseCidr(lb)!)).toBe(false)
    // The Ingress names what deploy read from the discovery parameters, and those parameters are
    // the stacks' load-balancer subnets (in zone order) and the ALB's group, nothing else.
    expect(ingress.metadata.annotations['alb.ingress.kubernetes.io/subnets']).toBe(DISCOVERED.loadBalancerSubnets)
    expect(ingress.metadata.annotations['alb.ingress.kubernetes.io/security-groups']).toBe(DISCOVERED.albSecurityGroup)
    const stacks = synth('dev')
    const subnets = stacks.estate.resource.aws_subnet as Record<string, any>
    const parameter = (name: string) => stacks.all('aws_ssm_parameter').find((p) => p.name === name)
    const published = parameter('/infra/dev/network/load-balancer-subnet-ids')!
    expect(published.type).toBe('StringList')
    const referenced = [...published.value.matchAll(/\$\{aws_subnet\.([\w-]+)\.id\}/g)].map((match) => match[1])
    expect(referenced.map((name) => [subnets[name].tags.Tier, subnets[name].availability_zone, subnets[name].cidr_block])).toEqual(
      ['a', 'b', 'c'].map((zone, i) => ['lb', `eu-west-1${zone}`, albSubnets[i]]),
    )
    const groups = stacks.estate.resource.aws_security_group as Record<string, any>
    const group = parameter('/infra/dev/eks/alb-security-group-id')!.value.match(/^\$\{aws_security_group\.([\w-]+)\.id\}$/)[1]
    expect(groups[group].name).toBe('acme-dev-eks-alb')
    // The stacks own the node group's rule for the balancer: left to its default with security-groups
    // set, the controller adds none (naming the annotation is an error when its backend group is off).
    expect(ingress.metadata.annotations).not.toHaveProperty('alb.ingress.kubernetes.io/manage-backend-security-group-rules')
    const database = policy.spec.egress.find((rule: any) => rule.ports.some((p: any) => p.port === 5432))
    expect(database.to.map((to: any) => to.ipBlock.cidr)).toEqual(layoutSubnets('10.1.0.0/16', 3).data)
    const out = policy.spec.egress.find((rule: any) => rule.to.some((to: any) => to.ipBlock?.cidr === '0.0.0.0/0'))
    expect(out.to[0].ipBlock.except).toContain('169.254.169.254/32')
  })

  it('pass the estate\'s retention to the service (30 days unless service.retentionDays says otherwise), in the variable its flag reads', async () => {
    const retention = (objects: ReturnType<typeof synthesizedObjects>) => objects.find('Deployment').spec.template.spec.containers[0].env.find((e: any) => e.name === 'INFRA_SERVICE_RETENTION_DAYS')
    expect(retention(dev)).toEqual({name: 'INFRA_SERVICE_RETENTION_DAYS', value: '30'})
    expect(retention(synthesizedObjects('dev', estateWith((doc) => (doc.environments.dev.service = {retentionDays: 7}))))).toEqual({name: 'INFRA_SERVICE_RETENTION_DAYS', value: '7'})
    const {default: ServiceStart} = await import('../../src/commands/service/start.js')
    expect(ServiceStart.flags['retention-days']).toMatchObject({env: 'INFRA_SERVICE_RETENTION_DAYS', default: 30})
  })

  it('send traces to the estate\'s collector only when it names one, and let only that traffic out', () => {
    const envOf = (objects: ReturnType<typeof synthesizedObjects>) => objects.find('Deployment').spec.template.spec.containers[0].env as {name: string; value?: string}[]
    // Off by default: no OTEL_* variable (the service never loads the SDK) and no egress beyond the usual.
    expect(envOf(dev).filter((e) => e.name.startsWith('OTEL_'))).toEqual([])
    const ports = (objects: ReturnType<typeof synthesizedObjects>) => objects.find('NetworkPolicy').spec.egress.flatMap((rule: any) => rule.ports.map((p: any) => p.port))
    expect(ports(dev).sort()).toEqual([443, 53, 53, 5432, 80].sort())

    const traced = synthesizedObjects('dev', estateWith((doc) => (doc.environments.dev.service = {tracing: {otlpEndpoint: 'http://otel-collector.observability:4318'}})))
    expect(envOf(traced)).toEqual(expect.arrayContaining([
      {name: 'OTEL_EXPORTER_OTLP_ENDPOINT', value: 'http://otel-collector.observability:4318'},
      {name: 'OTEL_SERVICE_NAME', value: 'infra-service'},
      {name: 'OTEL_RESOURCE_ATTRIBUTES', value: 'deployment.environment.name=dev,k8s.namespace.name=infra'},
    ]))
    const collector = traced.find('NetworkPolicy').spec.egress.find((rule: any) => rule.ports.some((p: any) => p.port === 4318))
    expect(collector).toEqual({to: [{namespaceSelector: {matchLabels: {'kubernetes.io/metadata.name': 'observability'}}}], ports: [{protocol: 'TCP', port: 4318}]})

    // An address is allowed alone; another name only inside the VPC, on its port.
    const byAddress = synthesizedObjects('dev', estateWith((doc) => (doc.environments.dev.service = {tracing: {otlpEndpoint: 'http://10.1.40.7:4318'}})))
    expect(byAddress.find('NetworkPolicy').spec.egress).toContainEqual({to: [{ipBlock: {cidr: '10.1.40.7/32'}}], ports: [{protocol: 'TCP', port: 4318}]})
    const byName = synthesizedObjects('dev', estateWith((doc) => (doc.environments.dev.service = {tracing: {otlpEndpoint: 'https://otel.tools.acme.internal:4318'}})))
    expect(byName.find('NetworkPolicy').spec.egress).toContainEqual({to: [{ipBlock: {cidr: '10.1.0.0/16'}}], ports: [{protocol: 'TCP', port: 4318}]})
  })

  it('follow the estate\'s layers: no WAF annotation without the waf layer, no secret without a database', () => {
    const slim = synthesizedObjects('dev', estateWith((doc) => (doc.environments.dev.omitLayers = ['waf', 'database'])))
    expect(slim.find('Ingress').metadata.annotations['alb.ingress.kubernetes.io/wafv2-acl-arn']).toBeUndefined()
    expect(slim.objects.filter((o) => o.apiVersion.startsWith('external-secrets.io/'))).toEqual([])
    expect(slim.find('Deployment').spec.template.spec.containers[0].env.map((e: any) => e.name)).not.toContain('INFRA_SERVICE_DATABASE_URL')
    expect(() => serviceObjects(defaultEstate(), findTarget(defaultEstate(), 'dev'), {image: IMAGE, discovered: {loadBalancerSubnets: DISCOVERED.loadBalancerSubnets, albSecurityGroup: DISCOVERED.albSecurityGroup}})).toThrow(/database secret ARN and endpoint/)
    expect(() => serviceObjects(defaultEstate(), findTarget(defaultEstate(), 'dev'), {image: IMAGE, discovered: {...DISCOVERED, albSecurityGroup: undefined}})).toThrow(/load-balancer subnets and security group/)
  })
})
