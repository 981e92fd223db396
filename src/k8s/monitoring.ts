/**
 * How the collection service is watched: a Prometheus scrape job for its pods, alert rules and a
 * Grafana dashboard, all on the metrics the service exports at /metrics (src/service/metrics.ts).
 * A test reads every metric named here against a live service's /metrics.
 */

/** The Prometheus job name every rule and panel selects on. */
export const SCRAPE_JOB = 'infra-service'

export interface AlertRule {
  alert: string
  expr: string
  for: string
  labels: {severity: 'critical' | 'warning'}
  annotations: {summary: string; description: string; runbook: string}
}

const job = `job="${SCRAPE_JOB}"`
/** The API's own routes: probes and scrapes would drown the users' traffic in the ratios. */
const api = `${job},route!~"/health|/ready|/metrics"`

export function alertRules(namespace: string): {groups: {name: string; rules: AlertRule[]}[]} {
  const runbook = (anchor: string) => `docs/service.md#the-service-on-eks (${anchor})`
  return {
    groups: [
      {
        name: 'infra-service',
        rules: [
          {
            alert: 'InfraServiceDown',
            expr: `sum(up{${job},namespace="${namespace}"}) == 0 or absent(up{${job},namespace="${namespace}"})`,
            for: '2m',
            labels: {severity: 'critical'},
            annotations: {summary: 'No collection service replica answers scrapes', description: 'Every replica of the collection service has been down or unscraped for 2 minutes: jobs are neither accepted nor run.', runbook: runbook('service down')},
          },
          {
            alert: 'InfraServiceReplicaDown',
            expr: `up{${job},namespace="${namespace}"} == 0`,
            for: '5m',
            labels: {severity: 'warning'},
            annotations: {summary: 'A collection service replica is down', description: 'Pod {{ $labels.pod }} has not answered a scrape for 5 minutes.', runbook: runbook('replica down')},
          },
          {
            alert: 'InfraServiceHighErrorRate',
            expr: `sum(rate(infra_http_requests_total{${api},status=~"5.."}[5m])) / sum(rate(infra_http_requests_total{${api}}[5m])) > 0.05`,
            for: '10m',
            labels: {severity: 'critical'},
            annotations: {summary: 'More than 5% of API requests fail with a server error', description: 'Server errors are {{ $value | humanizePercentage }} of API requests over 5 minutes.', runbook: runbook('error rate')},
          },
          {
            alert: 'InfraServiceHighLatencyP99',
            expr: `histogram_quantile(0.99, sum by (le) (rate(infra_http_request_duration_seconds_bucket{${api}}[5m]))) > 1`,
            for: '10m',
            labels: {severity: 'warning'},
            annotations: {summary: 'API p99 latency above 1 s', description: 'The 99th percentile of API request latency is {{ $value | humanizeDuration }}.', runbook: runbook('latency')},
          },
          {
            // Every replica reports the shared store's queue, so the maximum is the queue.
            alert: 'InfraServiceQueueBacklog',
            expr: `max(infra_queue_depth{${job}}) > 1000`,
            for: '15m',
            labels: {severity: 'warning'},
            annotations: {summary: 'More than 1000 jobs have been waiting for 15 minutes', description: '{{ $value }} jobs are queued; the workers do not keep up (scale out or look for stuck jobs).', runbook: runbook('queue depth')},
          },
          {
            alert: 'InfraServiceJobsFailing',
            expr: `sum(rate(infra_job_duration_seconds_count{${job},state="failed"}[15m])) / sum(rate(infra_job_duration_seconds_count{${job},state=~"succeeded|failed"}[15m])) > 0.1`,
            for: '15m',
            labels: {severity: 'warning'},
            annotations: {summary: 'More than 10% of finished jobs fail', description: 'Jobs that used all their attempts are {{ $value | humanizePercentage }} of finished jobs over 15 minutes.', runbook: runbook('failing jobs')},
          },
        ],
      },
    ],
  }
}

/** A Prometheus scrape job for the service's pods (Kubernetes service discovery, one namespace). */
export function scrapeConfig(namespace: string, appLabel: string): {scrape_configs: Record<string, unknown>[]} {
  return {
    scrape_configs: [
      {
        job_name: SCRAPE_JOB,
        metrics_path: '/metrics',
        scrape_interval: '15s',
        kubernetes_sd_configs: [{role: 'pod', namespaces: {names: [namespace]}}],
        relabel_configs: [
          {source_labels: ['__meta_kubernetes_pod_label_app_kubernetes_io_name'], regex: appLabel, action: 'keep'},
          {source_labels: ['__meta_kubernetes_pod_container_port_name'], regex: 'http', action: 'keep'},
          {source_labels: ['__meta_kubernetes_namespace'], target_label: 'namespace'},
          {source_labels: ['__meta_kubernetes_pod_name'], target_label: 'pod'},
        ],
      },
    ],
  }
}

interface Panel {
  title: string
  unit: string
  targets: {expr: string; legendFormat: string}[]
}

const PANELS: Panel[] = [
  {title: 'Replicas up', unit: 'none', targets: [{expr: `sum(up{${job}})`, legendFormat: 'up'}]},
  {title: 'API requests by route', unit: 'reqps', targets: [{expr: `sum by (route, method) (rate(infra_http_requests_total{${api}}[5m]))`, legendFormat: '{{method}} {{route}}'}]},
  {
    title: 'Server error ratio',
    unit: 'percentunit',
    targets: [{expr: `sum(rate(infra_http_requests_total{${api},status=~"5.."}[5m])) / sum(rate(infra_http_requests_total{${api}}[5m]))`, legendFormat: '5xx'}],
  },
  {
    title: 'API latency',
    unit: 's',
    targets: [
      {expr: `histogram_quantile(0.5, sum by (le) (rate(infra_http_request_duration_seconds_bucket{${api}}[5m])))`, legendFormat: 'p50'},
      {expr: `histogram_quantile(0.99, sum by (le) (rate(infra_http_request_duration_seconds_bucket{${api}}[5m])))`, legendFormat: 'p99'},
    ],
  },
  {title: 'Queue depth', unit: 'none', targets: [{expr: `max(infra_queue_depth{${job}})`, legendFormat: 'queued'}]},
  {title: 'Jobs by state', unit: 'none', targets: [{expr: `max by (state) (infra_jobs{${job}})`, legendFormat: '{{state}}'}]},
  {title: 'Jobs running per replica', unit: 'none', targets: [{expr: `sum by (pod) (infra_jobs_running{${job}})`, legendFormat: '{{pod}}'}]},
  {
    title: 'Attempts ending, by state',
    unit: 'ops',
    targets: [{expr: `sum by (state) (rate(infra_job_duration_seconds_count{${job}}[5m]))`, legendFormat: '{{state}}'}],
  },
  {
    title: 'Job duration p95 by source',
    unit: 's',
    targets: [{expr: `histogram_quantile(0.95, sum by (le, source_type) (rate(infra_job_duration_seconds_bucket{${job}}[15m])))`, legendFormat: '{{source_type}}'}],
  },
]

/** A Grafana dashboard (JSON model, schema 39) with a Prometheus data source chosen on import. */
export function grafanaDashboard(): Record<string, unknown> {
  return {
    uid: 'infra-service',
    title: 'infra collection service',
    tags: ['infra'],
    timezone: 'utc',
    schemaVersion: 39,
    refresh: '30s',
    time: {from: 'now-6h', to: 'now'},
    templating: {list: [{name: 'datasource', type: 'datasource', query: 'prometheus', label: 'Prometheus'}]},
    panels: PANELS.map((panel, index) => ({
      id: index + 1,
      type: 'timeseries',
      title: panel.title,
      datasource: {type: 'prometheus', uid: '${datasource}'},
      gridPos: {h: 8, w: 12, x: (index % 2) * 12, y: Math.floor(index / 2) * 8},
      fieldConfig: {defaults: {unit: panel.unit}, overrides: []},
      targets: panel.targets.map((target, ref) => ({refId: String.fromCharCode(65 + ref), datasource: {type: 'prometheus', uid: '${datasource}'}, ...target})),
    })),
  }
}
