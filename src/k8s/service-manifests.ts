import {Deployment} from 'kubernetes-models/apps/v1/Deployment'
import {HorizontalPodAutoscaler} from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler'
import {Ingress} from 'kubernetes-models/networking.k8s.io/v1/Ingress'
import {NetworkPolicy} from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy'
import {PodDisruptionBudget} from 'kubernetes-models/policy/v1/PodDisruptionBudget'
import {ConfigMap} from 'kubernetes-models/v1/ConfigMap'
import {Namespace} from 'kubernetes-models/v1/Namespace'
import {Service} from 'kubernetes-models/v1/Service'
import {ServiceAccount} from 'kubernetes-models/v1/ServiceAccount'
import {stringify} from 'yaml'

import {layoutSubnets} from '../estate/cidr.js'
import type {EnvironmentSpec, Estate} from '../estate/model.js'
import {hasLayer, openSearchEnabled, serviceRetentionDays} from '../estate/model.js'
import {serviceLogGroupName} from '../stacks/discovery-keys.js'
import {SERVICE_TARGET_PORT} from '../stacks/eks.js'
import {serviceResultsBucketName} from '../stacks/service-role.js'
import {logShipperObjects} from './log-shipper.js'
import {alertRules, grafanaDashboard, scrapeConfig} from './monitoring.js'

/** Where the service runs and what it is called; the stacks' IRSA trust names the same account. */
export const NAMESPACE = 'infra'
export const APP = 'infra-service'
export const SERVICE_ACCOUNT = 'infra-service'
/** The stacks' node security group admits the load balancer's group on this port only. */
export const CONTAINER_PORT = SERVICE_TARGET_PORT
/** Where kube-prometheus-stack runs Prometheus (its chart's conventional namespace). */
export const MONITORING_NAMESPACE = 'monitoring'
/**
 * Shutdown: on SIGTERM the pod says not ready at once and keeps serving for DRAIN_SECONDS (the
 * ALB's target deregistration reaches its nodes within seconds and sends requests until then;
 * EKS best practices, "Load balancing": graceful shutdown), while running jobs get
 * STOP_GRACE_SECONDS to finish before they go back to the queue. The image has no shell, so no
 * exec preStop: the delay is in the process (`--drain-seconds`).
 */
export const DRAIN_SECONDS = 20
export const STOP_GRACE_SECONDS = 30
/** What the kubelet waits before SIGKILL: both phases end within it, with room to close. */
export const TERMINATION_GRACE_SECONDS = DRAIN_SECONDS + STOP_GRACE_SECONDS + 10
/** The image's non-root user (distroless nonroot). */
export const RUN_AS_USER = 65532
export const DATABASE_SECRET = 'infra-service-database'
export const POSTGRES_PORT = 5432
/**
 * The balancer-to-pod hop is HTTPS: a kubernetes.io/tls Secret (keys tls.crt, tls.key) that
 * cert-manager issues from the Certificate below, mounted read-only where the service reads it.
 */
export const TLS_SECRET = 'infra-service-tls'
export const TLS_ISSUER = 'infra-service-selfsigned'
export const TLS_MOUNT = '/etc/infra/tls'
/**
 * Where the image keeps the RDS global CA bundle (the Dockerfile fetches it at build, pinned by
 * SHA-256): the database URL names it as sslrootcert, so verify-full has a chain to check.
 */
export const RDS_CA_BUNDLE = '/etc/ssl/rds/global-bundle.pem'

/** A Kubernetes object as it is written to the manifests: plain JSON. */
export interface KubeObject {
  apiVersion: string
  kind: string
  metadata: {name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string>}
  [field: string]: unknown
}

/** What the manifests need that only the applied stacks know (read from the discovery parameters). */
export interface DiscoveredValues {
  /** /infra/<env>/waf/web-acl-arn: the internal ALB is associated with it. */
  wafWebAclArn?: string
  /** /infra/<env>/database/secret-arn: the RDS-managed master secret. */
  databaseSecretArn?: string
  /** /infra/<env>/database/endpoint: host:port of the instance. */
  databaseEndpoint?: string
  /** /infra/<env>/logs/opensearch-endpoint: the log domain's VPC endpoint, when the estate turns OpenSearch on. */
  openSearchEndpoint?: string
  /** /infra/<env>/network/load-balancer-subnet-ids: the load-balancer tier's subnets, comma-separated, one per zone. */
  loadBalancerSubnets?: string
  /** /infra/<env>/eks/alb-security-group-id: the stacks' security group for the internal ALB. */
  albSecurityGroup?: string
}

export interface ServiceDeploymentOptions {
  image: string
  discovered: DiscoveredValues
  /** ACM certificate for an HTTPS listener on the load balancer; plain HTTP inside the VPC without one. */
  certificateArn?: string
  /** AWS for Fluent Bit image (default: AWS's ECR repository in the region, a release tag). */
  logShipperImage?: string
}

export interface ServiceSizing {
  replicas: number
  maxReplicas: number
  requests: {cpu: string; memory: string}
  limits: {cpu: string; memory: string}
}

export function serviceSizing(env: EnvironmentSpec): ServiceSizing {
  return env.sizing === 'ha'
    ? {replicas: 3, maxReplicas: 12, requests: {cpu: '500m', memory: '512Mi'}, limits: {cpu: '2', memory: '1Gi'}}
    : {replicas: 2, maxReplicas: 4, requests: {cpu: '250m', memory: '256Mi'}, limits: {cpu: '1', memory: '512Mi'}}
}

export function serviceRoleArn(estate: Estate, env: EnvironmentSpec): string {
  // The name ServiceRole gives it in src/stacks/service-role.ts; a test keeps the two in step.
  return `arn:aws:iam::${env.accountId}:role/${estate.organization.name}-${env.name}-service`
}

/**
 * The standard OpenTelemetry variables `service start` reads, when the estate names a collector
 * (service.tracing.otlpEndpoint); none, and tracing stays off and unloaded, when it does not.
 */
export function tracingEnv(env: EnvironmentSpec): {name: string; value: string}[] {
  const endpoint = env.service?.tracing?.otlpEndpoint
  if (!endpoint) return []
  return [
    {name: 'OTEL_EXPORTER_OTLP_ENDPOINT', value: endpoint},
    {name: 'OTEL_SERVICE_NAME', value: APP},
    {name: 'OTEL_RESOURCE_ATTRIBUTES', value: `deployment.environment.name=${env.name},k8s.namespace.name=${NAMESPACE}`},
  ]
}

/**
 * Egress to the collector, only when one is named: an IP address is allowed alone, a cluster
 * service (NAME.NAMESPACE.svc...) is its namespace's pods, any other name resolves inside the
 * VPC (the estate has no way out but NAT, and the collector is private); always only its port.
 */
export function collectorEgress(env: EnvironmentSpec): {to: ({ipBlock: {cidr: string}} | {namespaceSelector: {matchLabels: Record<string, string>}})[]; ports: {protocol: 'TCP'; port: number}[]}[] {
  const endpoint = env.service?.tracing?.otlpEndpoint
  if (!endpoint) return []
  const url = new URL(endpoint)
  const port = url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80
  const host = url.hostname
  const inCluster = /^[a-z0-9-]+\.([a-z0-9-]+)\.svc(\.cluster\.local)?$/.exec(host) ?? /^[a-z0-9-]+\.([a-z0-9-]+)$/.exec(host)
  const to = /^\d{1,3}(\.\d{1,3}){3}$/.test(host)
    ? [{ipBlock: {cidr: `${host}/32`}}]
    : inCluster
      ? [{namespaceSelector: {matchLabels: {'kubernetes.io/metadata.name': inCluster[1]}}}]
      : [{ipBlock: {cidr: env.vpcCidr}}]
  return [{to, ports: [{protocol: 'TCP', port}]}]
}

/**
 * The collection service's Kubernetes objects for one environment, in apply order. Core objects
 * are built with kubernetes-models (typed, and validated offline against the API's schemas);
 * the External Secrets objects are custom resources and stay plain.
 */
export function serviceObjects(estate: Estate, env: EnvironmentSpec, options: ServiceDeploymentOptions): KubeObject[] {
  const sizing = serviceSizing(env)
  const labels = {'app.kubernetes.io/name': APP, 'app.kubernetes.io/part-of': 'infra', 'infra/environment': env.name}
  const selector = {'app.kubernetes.io/name': APP}
  const meta = (name: string, extra: {annotations?: Record<string, string>; labels?: Record<string, string>} = {}) => ({
    name,
    namespace: NAMESPACE,
    labels: {...labels, ...extra.labels},
    ...(extra.annotations ? {annotations: extra.annotations} : {}),
  })
  const withDatabase = hasLayer(env, 'database')
  const resultsBucket = serviceResultsBucketName(`${estate.organization.name}-${env.name}`, env.accountId)
  // The s3 source's buckets as the IRSA role grants them: never the results bucket.
  const sourceBuckets = (env.service?.s3Buckets ?? []).filter((name) => name !== resultsBucket)
  // The internal ALB is placed in the load-balancer subnets (their ids from the discovery parameter
  // the stacks publish; the controller's alb.ingress.kubernetes.io/subnets takes IDs or Name tags).
  // Nothing else has an address there (the pods and nodes are in the app subnets), so the service
  // knows which peers are the balancer: only their X-Forwarded-For is believed, only they get in.
  const {loadBalancerSubnets, albSecurityGroup} = options.discovered
  if (!loadBalancerSubnets || !albSecurityGroup) throw new Error('the load-balancer subnets and security group are needed to synthesize the service')
  const albSubnets = layoutSubnets(env.vpcCidr, env.availabilityZones.length).loadBalancer
  const objects: KubeObject[] = []
  const add = (object: {toJSON(): unknown} | KubeObject) => objects.push(('toJSON' in object && typeof object.toJSON === 'function' ? object.toJSON() : object) as KubeObject)

  // Pod Security Admission enforces the restricted profile on everything in the namespace.
  add(
    new Namespace({
      metadata: {
        name: NAMESPACE,
        labels: {...labels, 'pod-security.kubernetes.io/enforce': 'restricted', 'pod-security.kubernetes.io/enforce-version': 'latest'},
      },
    }),
  )
  add(
    new ServiceAccount({
      metadata: meta(SERVICE_ACCOUNT, {
        annotations: {'eks.amazonaws.com/role-arn': serviceRoleArn(estate, env), 'eks.amazonaws.com/sts-regional-endpoints': 'true'},
      }),
      // The service never calls the Kubernetes API; IRSA's web identity token is projected separately.
      automountServiceAccountToken: false,
    }),
  )

  if (withDatabase) {
    if (!options.discovered.databaseSecretArn || !options.discovered.databaseEndpoint) {
      throw new Error('the database secret ARN and endpoint are needed to synthesize the service')
    }
    // External Secrets Operator copies the RDS-managed secret into a Kubernetes Secret with the
    // service's own IRSA identity; the URL is composed from it, the password never leaves the cluster.
    add({
      apiVersion: 'external-secrets.io/v1',
      kind: 'SecretStore',
      metadata: meta('aws-secrets-manager'),
      spec: {provider: {aws: {service: 'SecretsManager', region: env.region, auth: {jwt: {serviceAccountRef: {name: SERVICE_ACCOUNT}}}}}},
    })
    const endpoint = options.discovered.databaseEndpoint.includes(':') ? options.discovered.databaseEndpoint : `${options.discovered.databaseEndpoint}:${POSTGRES_PORT}`
    add({
      apiVersion: 'external-secrets.io/v1',
      kind: 'ExternalSecret',
      metadata: meta(DATABASE_SECRET),
      spec: {
        refreshInterval: '1h',
        secretStoreRef: {kind: 'SecretStore', name: 'aws-secrets-manager'},
        target: {
          name: DATABASE_SECRET,
          creationPolicy: 'Owner',
          template: {
            engineVersion: 'v2',
            data: {url: `postgres://{{ .username | urlquery }}:{{ .password | urlquery }}@${endpoint}/infra?sslmode=verify-full&sslrootcert=${RDS_CA_BUNDLE}`},
          },
        },
        data: [
          {secretKey: 'username', remoteRef: {key: options.discovered.databaseSecretArn, property: 'username'}},
          {secretKey: 'password', remoteRef: {key: options.discovered.databaseSecretArn, property: 'password'}},
        ],
      },
    })
  }

  // The pod's certificate: cert-manager (which the cluster must run, as it runs External Secrets
  // and the AWS Load Balancer Controller) signs it with a namespaced self-signed Issuer and keeps
  // it in a kubernetes.io/tls Secret. Nothing verifies it: the ALB does not validate target
  // certificates, and the kubelet's HTTPS probes skip verification (Kubernetes docs, "Configure
  // Liveness, Readiness and Startup Probes"), so a self-signed one encrypts the hop, as wanted.
  add({apiVersion: 'cert-manager.io/v1', kind: 'Issuer', metadata: meta(TLS_ISSUER), spec: {selfSigned: {}}})
  add({
    apiVersion: 'cert-manager.io/v1',
    kind: 'Certificate',
    metadata: meta(TLS_SECRET),
    spec: {
      secretName: TLS_SECRET,
      commonName: `${APP}.${NAMESPACE}.svc`,
      // The in-cluster names, and loopback for `kubectl port-forward` (docs/service.md: trust it
      // with NODE_EXTRA_CA_CERTS set to the Secret's ca.crt).
      dnsNames: [`${APP}.${NAMESPACE}.svc`, `${APP}.${NAMESPACE}.svc.cluster.local`, 'localhost'],
      ipAddresses: ['127.0.0.1'],
      // 90 days, renewed 15 days before; the kubelet updates the mounted Secret (the whole volume,
      // never subPath, which is not updated) and the service serves the renewed pair without a
      // restart (src/service/tls.ts). An expired one would still encrypt: nobody verifies it.
      duration: '2160h',
      renewBefore: '360h',
      privateKey: {algorithm: 'ECDSA', size: 256, rotationPolicy: 'Always'},
      issuerRef: {name: TLS_ISSUER, kind: 'Issuer'},
    },
  })

  const probe = (path: string, periodSeconds: number, failureThreshold: number) => ({
    httpGet: {path, port: 'http', scheme: 'HTTPS' as const},
    periodSeconds,
    timeoutSeconds: 2,
    failureThreshold,
  })
  add(
    new Deployment({
      metadata: meta(APP),
      spec: {
        // No spec.replicas: the HPA owns the count (at least sizing.replicas). A count in the
        // manifest would scale the service back down on every apply, and conflict with the HPA's
        // field ownership under server-side apply (Kubernetes docs, "Migrating Deployments and
        // StatefulSets to horizontal autoscaling").
        revisionHistoryLimit: 5,
        selector: {matchLabels: selector},
        // A new pod must be ready before an old one goes: capacity never drops during a rollout.
        strategy: {type: 'RollingUpdate', rollingUpdate: {maxUnavailable: 0, maxSurge: 1}},
        template: {
          metadata: {labels},
          spec: {
            serviceAccountName: SERVICE_ACCOUNT,
            automountServiceAccountToken: false,
            securityContext: {
              runAsNonRoot: true,
              runAsUser: RUN_AS_USER,
              runAsGroup: RUN_AS_USER,
              fsGroup: RUN_AS_USER,
              seccompProfile: {type: 'RuntimeDefault'},
            },
            // Drain, then running jobs finish or go back to the queue (service start's shutdown).
            terminationGracePeriodSeconds: TERMINATION_GRACE_SECONDS,
            topologySpreadConstraints: [
              {maxSkew: 1, topologyKey: 'topology.kubernetes.io/zone', whenUnsatisfiable: 'DoNotSchedule', labelSelector: {matchLabels: selector}},
              {maxSkew: 1, topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'ScheduleAnyway', labelSelector: {matchLabels: selector}},
            ],
            containers: [
              {
                name: 'service',
                image: options.image,
                imagePullPolicy: 'IfNotPresent',
                args: ['service', 'start', '--json'],
                ports: [{name: 'http', containerPort: CONTAINER_PORT, protocol: 'TCP'}],
                env: [
                  {name: 'INFRA_SERVICE_HOST', value: '0.0.0.0'},
                  {name: 'INFRA_SERVICE_PORT', value: String(CONTAINER_PORT)},
                  {name: 'INFRA_SERVICE_DATA_DIR', value: '/var/lib/infra'},
                  // HTTPS on the container port, with the TLS Secret's pair (followed as it is renewed).
                  {name: 'INFRA_SERVICE_TLS_CERT', value: `${TLS_MOUNT}/tls.crt`},
                  {name: 'INFRA_SERVICE_TLS_KEY', value: `${TLS_MOUNT}/tls.key`},
                  // `service start` takes an s3:// URL (a bare name exits 2 BAD_FLAG).
                  {name: 'INFRA_SERVICE_RESULTS_BUCKET', value: `s3://${resultsBucket}`},
                  {name: 'AWS_REGION', value: env.region},
                  {name: 'INFRA_SERVICE_TRUSTED_PROXIES', value: albSubnets.join(',')},
                  ...(sourceBuckets.length ? [{name: 'INFRA_SERVICE_S3_BUCKETS', value: sourceBuckets.join(',')}] : []),
                  {name: 'INFRA_SERVICE_DRAIN_SECONDS', value: String(DRAIN_SECONDS)},
                  {name: 'INFRA_SERVICE_STOP_GRACE_SECONDS', value: String(STOP_GRACE_SECONDS)},
                  // Finished jobs and results (rows, S3 objects) expire after the estate's service.retentionDays.
                  {name: 'INFRA_SERVICE_RETENTION_DAYS', value: String(serviceRetentionDays(env))},
                  ...(withDatabase ? [{name: 'INFRA_SERVICE_DATABASE_URL', valueFrom: {secretKeyRef: {name: DATABASE_SECRET, key: 'url'}}}] : []),
                  ...tracingEnv(env),
                ],
                resources: {requests: sizing.requests, limits: sizing.limits},
                startupProbe: probe('/health', 2, 30),
                // Liveness asks only whether the process answers (/live): /health also says 503
                // through a database outage, and restarting every replica then helps nothing.
                livenessProbe: probe('/live', 10, 3),
                readinessProbe: probe('/ready', 5, 2),
                securityContext: {
                  readOnlyRootFilesystem: true,
                  allowPrivilegeEscalation: false,
                  privileged: false,
                  runAsNonRoot: true,
                  capabilities: {drop: ['ALL']},
                  seccompProfile: {type: 'RuntimeDefault'},
                },
                volumeMounts: [
                  {name: 'data', mountPath: '/var/lib/infra'},
                  {name: 'tmp', mountPath: '/tmp'},
                  {name: 'tls', mountPath: TLS_MOUNT, readOnly: true},
                ],
              },
            ],
            volumes: [
              {name: 'data', emptyDir: {sizeLimit: '2Gi'}},
              {name: 'tmp', emptyDir: {sizeLimit: '256Mi'}},
              // 0440 with the pod's fsGroup: the non-root user reads the key, nobody else.
              {name: 'tls', secret: {secretName: TLS_SECRET, defaultMode: 0o440}},
            ],
          },
        },
      },
    }),
  )
  add(new PodDisruptionBudget({metadata: meta(APP), spec: {minAvailable: sizing.replicas - 1, selector: {matchLabels: selector}}}))
  add(
    new HorizontalPodAutoscaler({
      metadata: meta(APP),
      spec: {
        scaleTargetRef: {apiVersion: 'apps/v1', kind: 'Deployment', name: APP},
        minReplicas: sizing.replicas,
        maxReplicas: sizing.maxReplicas,
        metrics: [
          {type: 'Resource', resource: {name: 'cpu', target: {type: 'Utilization', averageUtilization: 70}}},
          {type: 'Resource', resource: {name: 'memory', target: {type: 'Utilization', averageUtilization: 80}}},
        ],
        behavior: {scaleDown: {stabilizationWindowSeconds: 300, policies: [{type: 'Pods', value: 1, periodSeconds: 60}]}},
      },
    }),
  )
  add(new Service({metadata: meta(APP), spec: {type: 'ClusterIP', selector, ports: [{name: 'http', port: 80, targetPort: 'http', protocol: 'TCP'}]}}))

  // An internal ALB (AWS Load Balancer Controller) straight to the pods, behind the WAF web ACL.
  const annotations: Record<string, string> = {
    'alb.ingress.kubernetes.io/scheme': 'internal',
    'alb.ingress.kubernetes.io/target-type': 'ip',
    'alb.ingress.kubernetes.io/subnets': loadBalancerSubnets,
    // The stacks' group for the balancer (an id, or at provision time its Name tag, which the
    // annotation also matches: docs/guide/ingress/annotations.md, security-groups), and no rules added by the controller: the nodes'
    // group already admits that group on the pods' port, and terraform would remove a rule added
    // outside it. aws-load-balancer-controller docs/deploy/security_groups.md: with security-groups
    // set, the controller adds no backend rules unless manage-backend-security-group-rules is
    // "true"; that annotation stays out, because naming it at all is an error on a controller run
    // with --enable-backend-security-group=false.
    'alb.ingress.kubernetes.io/security-groups': albSecurityGroup,
    'alb.ingress.kubernetes.io/healthcheck-path': '/ready',
    // The hop to the pods and the health checks are HTTPS (AWS Load Balancer Controller,
    // docs/guide/ingress/annotations.md: backend-protocol and healthcheck-protocol, HTTP | HTTPS).
    'alb.ingress.kubernetes.io/backend-protocol': 'HTTPS',
    'alb.ingress.kubernetes.io/healthcheck-protocol': 'HTTPS',
    'alb.ingress.kubernetes.io/load-balancer-attributes': 'routing.http.drop_invalid_header_fields.enabled=true',
    // A deregistered pod gets no new requests; in-flight ones have the pod's drain time to end
    // (the default is 300 s, longer than the pod lives after SIGTERM).
    'alb.ingress.kubernetes.io/target-group-attributes': `deregistration_delay.timeout_seconds=${DRAIN_SECONDS}`,
    'alb.ingress.kubernetes.io/listen-ports': options.certificateArn ? '[{"HTTPS": 443}]' : '[{"HTTP": 80}]',
  }
  if (options.certificateArn) {
    annotations['alb.ingress.kubernetes.io/certificate-arn'] = options.certificateArn
    annotations['alb.ingress.kubernetes.io/ssl-policy'] = 'ELBSecurityPolicy-TLS13-1-2-2021-06'
  }
  if (hasLayer(env, 'waf')) {
    if (!options.discovered.wafWebAclArn) throw new Error('the WAF web ACL ARN is needed to synthesize the service')
    annotations['alb.ingress.kubernetes.io/wafv2-acl-arn'] = options.discovered.wafWebAclArn
  }
  add(
    new Ingress({
      metadata: meta(APP, {annotations}),
      spec: {ingressClassName: 'alb', rules: [{http: {paths: [{path: '/', pathType: 'Prefix', backend: {service: {name: APP, port: {name: 'http'}}}}]}}]},
    }),
  )

  // In: the ALB's interfaces only (the load-balancer subnets; the kubelet's probes come from the
  // pod's own node, which NetworkPolicy always admits). Out: DNS, PostgreSQL in the data
  // subnets, and HTTPS (AWS through the endpoints, http sources through NAT), never the node's metadata.
  const dataSubnets = layoutSubnets(env.vpcCidr, env.availabilityZones.length).data
  add(
    new NetworkPolicy({
      metadata: meta(APP),
      spec: {
        podSelector: {matchLabels: selector},
        policyTypes: ['Ingress', 'Egress'],
        ingress: [
          {from: albSubnets.map((cidr) => ({ipBlock: {cidr}})), ports: [{protocol: 'TCP', port: CONTAINER_PORT}]},
          // Prometheus scrapes /metrics on the same port from its own pod (kube-prometheus-stack's
          // pods carry app.kubernetes.io/name=prometheus), in the monitoring namespace only.
          {from: [{namespaceSelector: {matchLabels: {'kubernetes.io/metadata.name': MONITORING_NAMESPACE}}, podSelector: {matchLabels: {'app.kubernetes.io/name': 'prometheus'}}}], ports: [{protocol: 'TCP', port: CONTAINER_PORT}]},
        ],
        egress: [
          {
            to: [{namespaceSelector: {matchLabels: {'kubernetes.io/metadata.name': 'kube-system'}}, podSelector: {matchLabels: {'k8s-app': 'kube-dns'}}}],
            ports: [
              {protocol: 'UDP', port: 53},
              {protocol: 'TCP', port: 53},
            ],
          },
          ...(withDatabase ? [{to: dataSubnets.map((cidr) => ({ipBlock: {cidr}})), ports: [{protocol: 'TCP' as const, port: POSTGRES_PORT}]}] : []),
          ...collectorEgress(env),
          {
            to: [{ipBlock: {cidr: '0.0.0.0/0', except: ['169.254.169.254/32', '169.254.170.2/32']}}],
            ports: [
              {protocol: 'TCP', port: 443},
              {protocol: 'TCP', port: 80},
            ],
          },
        ],
      },
    }),
  )

  // Alert rules and the dashboard travel with the deployment, in the form the Prometheus and
  // Grafana sidecars of kube-prometheus-stack pick up by label.
  add(new ConfigMap({metadata: meta(`${APP}-alerts`, {labels: {prometheus_rule: '1'}}), data: {'infra-service.rules.yaml': stringify(alertRules(NAMESPACE))}}))
  add(new ConfigMap({metadata: meta(`${APP}-dashboard`, {labels: {grafana_dashboard: '1'}}), data: {'infra-service.json': JSON.stringify(grafanaDashboard(), null, 2)}}))
  // Central logs: Fluent Bit on every node sends the service's lines to /infra/<env>/service.
  let openSearch: {endpoint: string} | undefined
  if (openSearchEnabled(env)) {
    if (!options.discovered.openSearchEndpoint) throw new Error('the OpenSearch log domain endpoint is needed to synthesize the log shipper')
    openSearch = {endpoint: options.discovered.openSearchEndpoint}
  }
  objects.push(
    ...logShipperObjects(estate, env, {logGroupName: serviceLogGroupName(env.name), image: options.logShipperImage, serviceNamespace: NAMESPACE, serviceApp: APP, openSearch}),
  )
  return objects
}

/** The plain monitoring files written beside the manifests, for a Prometheus outside the cluster. */
export function monitoringFiles(): Record<string, string> {
  return {
    'prometheus-scrape.yaml': stringify(scrapeConfig(NAMESPACE, APP)),
    'prometheus-rules.yaml': stringify(alertRules(NAMESPACE)),
    'grafana-dashboard.json': `${JSON.stringify(grafanaDashboard(), null, 2)}\n`,
  }
}
