import path from 'node:path'

import {describe, expect, it} from 'vitest'

import {findTarget} from '../../src/estate/load.js'
import {SHIPPER_NAMESPACE, SHIPPER_SERVICE_ACCOUNT, fluentBitConfig, logShipperObjects, logShipperRoleArn} from '../../src/k8s/log-shipper.js'
import {validateObjects} from '../../src/k8s/validate.js'
import {auditManifests} from '../../src/policy/k8s-rules.js'
import {LOG_SHIPPER_NAMESPACE, LOG_SHIPPER_SERVICE_ACCOUNT, logShipperRoleName} from '../../src/stacks/log-shipper.js'
import {defaultEstate, estateWith, synth} from '../support/synth.js'
import {DISCOVERED, IMAGE, synthesizedObjects} from './fixtures.js'
import {serviceObjects} from '../../src/k8s/service-manifests.js'

describe('the log shipper (AWS for Fluent Bit)', () => {
  const dev = synthesizedObjects('dev')
  const shipper = dev.objects.filter((o) => o.metadata.namespace === SHIPPER_NAMESPACE || o.metadata.name === SHIPPER_NAMESPACE)
  const daemonSet = dev.find('DaemonSet', 'infra-log-shipper')
  const pod = daemonSet.spec.template.spec
  const [container] = pod.containers

  it('is written with the service, passes the Kubernetes schemas, and the policy gate passes on every environment', () => {
    expect(shipper.map((o) => o.kind)).toEqual(['Namespace', 'ServiceAccount', 'ConfigMap', 'DaemonSet', 'NetworkPolicy'])
    expect(validateObjects(shipper).every((r) => r.schema === 'kubernetes')).toBe(true)
    for (const env of defaultEstate().environments) {
      const report = auditManifests(synthesizedObjects(env.name).objects, env.name)
      expect(report.findings.filter((f) => f.status === 'failed' && f.address.includes('log-shipper')), env.name).toEqual([])
    }
  })

  it('runs as a non-root user on a read-only root filesystem, no privilege, all capabilities dropped, with limits', () => {
    expect(pod.securityContext).toMatchObject({runAsNonRoot: true, seccompProfile: {type: 'RuntimeDefault'}})
    expect(pod.securityContext.runAsUser).toBeGreaterThan(0)
    expect(container.securityContext).toMatchObject({readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, privileged: false, capabilities: {drop: ['ALL']}})
    expect(container.resources.limits).toEqual({cpu: '250m', memory: '200Mi'})
    // The node's logs are mounted read-only; only the state folder is writable.
    const writable = container.volumeMounts.filter((m: any) => !m.readOnly).map((m: any) => m.name)
    expect(writable).toEqual(['state'])
    expect(pod.volumes.find((v: any) => v.name === 'state')).toMatchObject({emptyDir: {sizeLimit: '512Mi'}})
    // Its own namespace: hostPath is forbidden by the service namespace's restricted profile.
    expect(dev.find('Namespace', 'infra').metadata.labels['pod-security.kubernetes.io/enforce']).toBe('restricted')
  })

  it('gets AWS access through IRSA with the role the stacks create, trusted for exactly this service account', () => {
    expect(SHIPPER_NAMESPACE).toBe(LOG_SHIPPER_NAMESPACE)
    expect(SHIPPER_SERVICE_ACCOUNT).toBe(LOG_SHIPPER_SERVICE_ACCOUNT)
    const account = dev.find('ServiceAccount', SHIPPER_SERVICE_ACCOUNT)
    const estate = defaultEstate()
    const arn = logShipperRoleArn(estate, findTarget(estate, 'dev'))
    expect(account.metadata.annotations['eks.amazonaws.com/role-arn']).toBe(arn)
    expect(arn.endsWith(`:role/${logShipperRoleName('acme-dev')}`)).toBe(true)
    expect(pod.serviceAccountName).toBe(SHIPPER_SERVICE_ACCOUNT)

    const stack = synth('dev')
    const role = stack.all('aws_iam_role').find((r) => r.name === 'acme-dev-log-shipper')
    const trust = JSON.parse(role!.assume_role_policy).Statement[0]
    expect(Object.entries(trust.Condition.StringEquals).find(([key]) => key.endsWith(':sub'))?.[1]).toBe('system:serviceaccount:infra-logging:infra-log-shipper')
    const policy = stack.all('aws_iam_role_policy').find((p) => p.name === 'service-log-group')
    const statements = JSON.parse(policy!.policy).Statement
    // Only the service's group (the KMS-encrypted one), by reference, and no KMS or wildcard action.
    const group = stack.all('aws_cloudwatch_log_group').find((g) => g.name === '/infra/dev/service')
    expect(group!.kms_key_id).toBeDefined()
    for (const statement of statements) {
      expect(statement.Resource).toMatch(/^\$\{aws_cloudwatch_log_group\.[\w-]+\.arn\}:/)
      for (const action of statement.Action) expect(action).toMatch(/^logs:(CreateLogStream|DescribeLogStreams|PutLogEvents)$/)
    }
  })

  it('tails the service\'s container logs (the kubelet\'s file names), parses the JSON and names the fields as infra logs reads them', () => {
    const config = dev.find('ConfigMap', 'infra-log-shipper-config').data['fluent-bit.conf'] as string
    const glob = /^\s*Path\s+(\S+)$/m.exec(config)![1]
    // /var/log/containers/<pod>_<namespace>_<container>-<container id>.log, as the kubelet links them.
    const id = 'a'.repeat(64)
    expect(path.matchesGlob(`/var/log/containers/infra-service-6d4f9c7b8-x2k9p_infra_service-${id}.log`, glob)).toBe(true)
    expect(path.matchesGlob(`/var/log/containers/infra-log-shipper-7xk2p_infra-logging_fluent-bit-${id}.log`, glob)).toBe(false)
    expect(path.matchesGlob(`/var/log/containers/coredns-5d78c9869d-abcde_kube-system_coredns-${id}.log`, glob)).toBe(false)
    expect(config).toMatch(/multiline\.parser\s+cri/)
    // The renames and the route are one Lua filter, run under luajit by log-shipper-lua.test.ts.
    const script = /^\s*script\s+\/fluent-bit\/etc\/(\S+)$/m.exec(config)![1]
    expect(dev.find('ConfigMap', 'infra-log-shipper-config').data[script]).toMatch(/^function shape_record\(tag, timestamp, record\)$/m)
    expect(config).toMatch(/call\s+shape_record\n/)
    expect(config).toMatch(/log_group_name\s+\/infra\/dev\/service\n/)
    expect(config).toMatch(/auto_create_group Off/)
    const prod = fluentBitConfig(findTarget(defaultEstate(), 'prod'), '/infra/prod/service', 'infra', 'infra-service')['fluent-bit.conf']
    expect(prod).toMatch(/log_group_name\s+\/infra\/prod\/service\n/)
  })

  it('talks only to DNS and HTTPS inside the VPC (the logs and sts endpoints), and takes only probes in', () => {
    const policy = dev.find('NetworkPolicy', 'infra-log-shipper')
    expect(policy.spec.policyTypes).toEqual(['Ingress', 'Egress'])
    expect(policy.spec.egress.at(-1)).toEqual({to: [{ipBlock: {cidr: '10.1.0.0/16'}}], ports: [{protocol: 'TCP', port: 443}]})
    expect(policy.spec.ingress).toEqual([{from: [{ipBlock: {cidr: '10.1.0.0/16'}}], ports: [{protocol: 'TCP', port: 2020}]}])
  })

  it('can use an image given for the estate instead of the regional default', () => {
    const estate = defaultEstate()
    const objects = logShipperObjects(estate, findTarget(estate, 'dev'), {logGroupName: '/infra/dev/service', image: 'registry.internal/fluent-bit:2.32.0', serviceNamespace: 'infra', serviceApp: 'infra-service'})
    expect((objects.find((o) => o.kind === 'DaemonSet') as any).spec.template.spec.containers[0].image).toBe('registry.internal/fluent-bit:2.32.0')
    // A version tag (immutable, per aws/aws-for-fluent-bit's README), never latest or stable.
    expect(container.image).toMatch(/^906394416424\.dkr\.ecr\.eu-west-1\.amazonaws\.com\/aws-for-fluent-bit:\d+\.\d+\.\d+(\.\d{8})?$/)
  })

  it('with OpenSearch on, also sends to the domain over HTTPS with SigV4 through the same IRSA role; off, only to CloudWatch Logs', () => {
    const off = dev.find('ConfigMap', 'infra-log-shipper-config').data['fluent-bit.conf'] as string
    expect(off).not.toMatch(/Name\s+opensearch/)
    const estate = estateWith((doc) => (doc.environments.dev.logs = {opensearch: {enabled: true}}))
    const env = findTarget(estate, 'dev')
    const endpoint = 'vpc-acme-dev-logs-4f3c2a1b0e9d8c7b6a5f4e3d2c.eu-west-1.es.amazonaws.com'
    const objects = serviceObjects(estate, env, {image: IMAGE, discovered: {...DISCOVERED, openSearchEndpoint: endpoint}})
    const config = (objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'infra-log-shipper-config') as any).data['fluent-bit.conf'] as string
    const outputs = config.split('[OUTPUT]').slice(1)
    expect(outputs.map((o) => /Name\s+(\S+)/.exec(o)![1])).toEqual(['cloudwatch_logs', 'opensearch'])
    const search = Object.fromEntries(outputs[1].trim().split('\n').map((line) => line.trim().split(/\s+/)))
    expect(search).toMatchObject({Match: 'service.*', Host: endpoint, Port: '443', tls: 'On', 'tls.verify': 'On', AWS_Auth: 'On', AWS_Region: 'eu-west-1', AWS_STS_Endpoint: 'https://sts.eu-west-1.amazonaws.com', Logstash_Format: 'On', Logstash_Prefix: 'infra-dev-service', Suppress_Type_Name: 'On'})
    // No credentials in the configuration: the SigV4 keys come from the service account's role.
    expect(config).not.toMatch(/HTTP_User|HTTP_Passwd|AWS_Role_ARN/)
    expect((objects.find((o) => o.kind === 'ServiceAccount' && o.metadata.name === SHIPPER_SERVICE_ACCOUNT) as any).metadata.annotations['eks.amazonaws.com/role-arn']).toBe(logShipperRoleArn(estate, env))
    expect(validateObjects(objects.filter((o) => o.metadata.namespace === SHIPPER_NAMESPACE)).every((r) => r.schema === 'kubernetes')).toBe(true)
    // On without the endpoint (the stacks not applied yet): no manifests with a hole in them.
    expect(() => serviceObjects(estate, env, {image: IMAGE, discovered: DISCOVERED})).toThrow(/OpenSearch log domain endpoint/)
  })
})
