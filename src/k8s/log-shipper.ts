import {DaemonSet} from 'kubernetes-models/apps/v1/DaemonSet'
import {NetworkPolicy} from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy'
import {ConfigMap} from 'kubernetes-models/v1/ConfigMap'
import {Namespace} from 'kubernetes-models/v1/Namespace'
import {ServiceAccount} from 'kubernetes-models/v1/ServiceAccount'

import type {EnvironmentSpec, Estate} from '../estate/model.js'
import {hasLayer} from '../estate/model.js'
import type {KubeObject} from './service-manifests.js'

/**
 * AWS for Fluent Bit as a DaemonSet: every node's service containers' JSON lines to the
 * environment's log group. Its own namespace, because reading the node's /var/log needs hostPath
 * volumes, which the restricted Pod Security profile of the service's namespace forbids.
 */
export const SHIPPER_NAMESPACE = 'infra-logging'
export const SHIPPER_APP = 'infra-log-shipper'
export const SHIPPER_SERVICE_ACCOUNT = 'infra-log-shipper'
/** Not root; group 0 only to read the node's container logs, which the runtime writes 0640 root:root. */
export const SHIPPER_USER = 10001
const HEALTH_PORT = 2020
/**
 * AWS for Fluent Bit from AWS's own ECR repository in the region: pulled through the ECR VPC
 * endpoints, no internet. The tag is the release AWS marks stable in github.com/aws/aws-for-fluent-bit
 * (AWS_FOR_FLUENT_BIT_STABLE_VERSION at commit 02c04aa8: 2.34.3.20260623, the 2.x line with
 * Fluent Bit 1.9.10 on Amazon Linux 2, listed in its CHANGELOG.md); its README says version tags
 * are immutable and the regional repositories (906394416424) carry the same tags, listed by
 * `aws ssm get-parameters-by-path --path /aws/service/aws-for-fluent-bit/`. No digest: the
 * regional repository's could not be read from here. Overridden through options.
 */
export const SHIPPER_IMAGE_TAG = '2.34.3.20260623'
export function defaultShipperImage(region: string): string {
  return `906394416424.dkr.ecr.${region}.amazonaws.com/aws-for-fluent-bit:${SHIPPER_IMAGE_TAG}`
}

/** The IRSA role the stacks create for the shipper (src/stacks/log-shipper.ts names it the same). */
export function logShipperRoleArn(estate: Estate, env: EnvironmentSpec): string {
  return `arn:aws:iam::${env.accountId}:role/${estate.organization.name}-${env.name}-log-shipper`
}

/**
 * Fluent Bit's pipeline: tail the service's container logs (CRI format), parse the line as JSON,
 * give the fields the names the queries and `infra logs` use and derive `route` from `url` (ids
 * replaced by :id, no query string) in one Lua filter (test/k8s/log-shipper-lua.test.ts runs it
 * under luajit), and send to CloudWatch Logs, one stream per container.
 */
export function fluentBitConfig(
  env: EnvironmentSpec,
  logGroupName: string,
  serviceNamespace: string,
  serviceApp: string,
  openSearch?: {endpoint: string},
): Record<string, string> {
  // The second destination, when the estate turns OpenSearch on: the domain's VPC endpoint over
  // HTTPS (certificate checked), requests signed with SigV4 by the IRSA role; one index a day.
  const openSearchOutput = openSearch
    ? `
[OUTPUT]
    Name               opensearch
    Match              service.*
    Host               ${openSearch.endpoint.replace(/^https:\/\//, '')}
    Port               443
    tls                On
    tls.verify         On
    AWS_Auth           On
    AWS_Region         ${env.region}
    AWS_STS_Endpoint   https://sts.${env.region}.amazonaws.com
    Logstash_Format    On
    Logstash_Prefix    ${openSearchIndexPrefix(env)}
    Suppress_Type_Name On
    Replace_Dots       On
    Trace_Error        On
    Retry_Limit        5
`
    : ''
  return {
    'fluent-bit.conf': `[SERVICE]
    Flush             5
    Log_Level         info
    Daemon            off
    Parsers_File      /fluent-bit/etc/parsers.conf
    HTTP_Server       On
    HTTP_Listen       0.0.0.0
    HTTP_Port         ${HEALTH_PORT}
    Health_Check      On
    storage.path      /var/fluent-bit/state/flb-storage/

[INPUT]
    Name              tail
    Tag               service.*
    Path              /var/log/containers/${serviceApp}-*_${serviceNamespace}_*.log
    multiline.parser  cri
    DB                /var/fluent-bit/state/tail.db
    Mem_Buf_Limit     20MB
    storage.type      filesystem
    Skip_Long_Lines   On
    Refresh_Interval  10

[FILTER]
    Name              parser
    Match             service.*
    Key_Name          log
    Parser            service_json
    Reserve_Data      On

[FILTER]
    Name              modify
    Match             service.*
    Remove            _p

[FILTER]
    Name              lua
    Match             service.*
    script            /fluent-bit/etc/shape.lua
    call              shape_record

[OUTPUT]
    Name              cloudwatch_logs
    Match             service.*
    region            ${env.region}
    log_group_name    ${logGroupName}
    log_stream_prefix \${HOSTNAME}.
    auto_create_group Off
    sts_endpoint      https://sts.${env.region}.amazonaws.com
    Retry_Limit       5
${openSearchOutput}`,
    'parsers.conf': `[PARSER]
    Name              service_json
    Format            json
`,
    'shape.lua': `-- The service's pino fields under the names the queries and \`infra logs\` read, and its route.
-- Fluent Bit's Lua filter contract: (tag, timestamp, record) -> code, timestamp, record, where
-- code 0 keeps the record as it was and 2 replaces the record but keeps the timestamp (1 would
-- also replace the timestamp with the float Lua was given, losing its nanoseconds).
local renames = {{"reqId", "request_id"}, {"jobId", "job_id"}}

-- The url's path without the query string, each id (16+ hex digits and dashes, e.g. a UUID) as :id.
local function route_of(url)
  local path = string.gsub(url, "[?#].*$", "")
  path = string.gsub(path, "/([^/]+)", function(segment)
    if #segment >= 16 and string.match(segment, "^[%x%-]+$") then
      return "/:id"
    end
    return nil
  end)
  return path
end

function shape_record(tag, timestamp, record)
  local changed = false
  for _, pair in ipairs(renames) do
    local from, to = pair[1], pair[2]
    -- As the modify filter's Rename: only when the new name is not taken already.
    if record[from] ~= nil and record[to] == nil then
      record[to] = record[from]
      record[from] = nil
      changed = true
    end
  end
  local url = record["url"]
  if type(url) == "string" and record["route"] == nil then
    record["route"] = route_of(url)
    changed = true
  end
  if changed then
    return 2, timestamp, record
  end
  return 0, timestamp, record
end
`,
  }
}

/** The daily indices' prefix in the OpenSearch log domain: infra-<env>-service-YYYY.MM.DD. */
export function openSearchIndexPrefix(env: EnvironmentSpec): string {
  return `infra-${env.name}-service`
}

export interface LogShipperOptions {
  logGroupName: string
  /** The OpenSearch log domain's endpoint, when the estate turns it on. */
  openSearch?: {endpoint: string}
  image?: string
  serviceNamespace: string
  serviceApp: string
}

/** The shipper's objects, in apply order. */
export function logShipperObjects(estate: Estate, env: EnvironmentSpec, options: LogShipperOptions): KubeObject[] {
  const labels = {'app.kubernetes.io/name': SHIPPER_APP, 'app.kubernetes.io/part-of': 'infra', 'infra/environment': env.name}
  const selector = {'app.kubernetes.io/name': SHIPPER_APP}
  const meta = (name: string, annotations?: Record<string, string>) => ({name, namespace: SHIPPER_NAMESPACE, labels, ...(annotations ? {annotations} : {})})
  const probe = (periodSeconds: number) => ({httpGet: {path: '/api/v1/health', port: 'health'}, periodSeconds, timeoutSeconds: 2, failureThreshold: 3})
  return [
    new Namespace({
      metadata: {
        name: SHIPPER_NAMESPACE,
        // hostPath (the node's logs) is beyond baseline; everything else here meets restricted, and warns if not.
        labels: {...labels, 'pod-security.kubernetes.io/enforce': 'privileged', 'pod-security.kubernetes.io/warn': 'restricted', 'pod-security.kubernetes.io/warn-version': 'latest'},
      },
    }),
    new ServiceAccount({
      metadata: meta(SHIPPER_SERVICE_ACCOUNT, {'eks.amazonaws.com/role-arn': logShipperRoleArn(estate, env), 'eks.amazonaws.com/sts-regional-endpoints': 'true'}),
      automountServiceAccountToken: false,
    }),
    new ConfigMap({metadata: meta(`${SHIPPER_APP}-config`), data: fluentBitConfig(env, options.logGroupName, options.serviceNamespace, options.serviceApp, options.openSearch)}),
    new DaemonSet({
      metadata: meta(SHIPPER_APP),
      spec: {
        selector: {matchLabels: selector},
        updateStrategy: {type: 'RollingUpdate', rollingUpdate: {maxUnavailable: 1}},
        template: {
          metadata: {labels},
          spec: {
            serviceAccountName: SHIPPER_SERVICE_ACCOUNT,
            automountServiceAccountToken: false,
            securityContext: {
              runAsNonRoot: true,
              runAsUser: SHIPPER_USER,
              runAsGroup: SHIPPER_USER,
              supplementalGroups: [0],
              seccompProfile: {type: 'RuntimeDefault'},
            },
            // Every node, the tainted ones too: a job's lines must not depend on where its pod ran.
            tolerations: [{operator: 'Exists'}],
            priorityClassName: 'system-node-critical',
            terminationGracePeriodSeconds: 30,
            containers: [
              {
                name: 'fluent-bit',
                image: options.image ?? defaultShipperImage(env.region),
                imagePullPolicy: 'IfNotPresent',
                command: ['/fluent-bit/bin/fluent-bit', '-c', '/fluent-bit/etc/fluent-bit.conf'],
                env: [
                  {name: 'AWS_REGION', value: env.region},
                  {name: 'HOSTNAME', valueFrom: {fieldRef: {fieldPath: 'spec.nodeName'}}},
                ],
                ports: [{name: 'health', containerPort: HEALTH_PORT, protocol: 'TCP'}],
                resources: {requests: {cpu: '50m', memory: '64Mi'}, limits: {cpu: '250m', memory: '200Mi'}},
                livenessProbe: probe(10),
                readinessProbe: probe(5),
                securityContext: {
                  readOnlyRootFilesystem: true,
                  allowPrivilegeEscalation: false,
                  privileged: false,
                  capabilities: {drop: ['ALL']},
                },
                volumeMounts: [
                  {name: 'config', mountPath: '/fluent-bit/etc', readOnly: true},
                  {name: 'state', mountPath: '/var/fluent-bit/state'},
                  {name: 'containers', mountPath: '/var/log/containers', readOnly: true},
                  {name: 'pods', mountPath: '/var/log/pods', readOnly: true},
                ],
              },
            ],
            volumes: [
              {name: 'config', configMap: {name: `${SHIPPER_APP}-config`}},
              // Read positions and the buffer survive container restarts; a new pod reads from the files' ends.
              {name: 'state', emptyDir: {sizeLimit: '512Mi'}},
              {name: 'containers', hostPath: {path: '/var/log/containers', type: 'Directory'}},
              {name: 'pods', hostPath: {path: '/var/log/pods', type: 'Directory'}},
            ],
          },
        },
      },
    }),
    // In: only the kubelet's probes (from the node). Out: DNS, and HTTPS to CloudWatch Logs and STS
    // through the VPC endpoints; never the node's metadata.
    new NetworkPolicy({
      metadata: meta(SHIPPER_APP),
      spec: {
        podSelector: {matchLabels: selector},
        policyTypes: ['Ingress', 'Egress'],
        ingress: [{from: [{ipBlock: {cidr: env.vpcCidr}}], ports: [{protocol: 'TCP', port: HEALTH_PORT}]}],
        egress: [
          {
            to: [{namespaceSelector: {matchLabels: {'kubernetes.io/metadata.name': 'kube-system'}}, podSelector: {matchLabels: {'k8s-app': 'kube-dns'}}}],
            ports: [
              {protocol: 'UDP', port: 53},
              {protocol: 'TCP', port: 53},
            ],
          },
          // The interface endpoints (logs, sts) are in the VPC; without them, AWS through NAT.
          hasLayer(env, 'endpoints')
            ? {to: [{ipBlock: {cidr: env.vpcCidr}}], ports: [{protocol: 'TCP' as const, port: 443}]}
            : {to: [{ipBlock: {cidr: '0.0.0.0/0', except: ['169.254.169.254/32', '169.254.170.2/32']}}], ports: [{protocol: 'TCP' as const, port: 443}]},
        ],
      },
    }),
  ].map((object) => object.toJSON() as KubeObject)
}
