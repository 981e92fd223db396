import {readFileSync, writeFileSync} from 'node:fs'
import path from 'node:path'

import {parse} from 'yaml'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {SCRAPE_JOB} from '../../src/k8s/monitoring.js'
import {exportedSeries, selectors} from '../support/promql.js'
import {type TestService, startTestService, waitForJob} from '../support/service.js'
import {synthesizedObjects} from './fixtures.js'

/** Labels Prometheus puts on every scraped series: job and instance, and what the scrape job relabels in. */
function targetLabels(scrape: any): Set<string> {
  return new Set(['job', 'instance', ...scrape.scrape_configs.flatMap((config: any) => config.relabel_configs.map((r: any) => r.target_label).filter(Boolean))])
}

describe('the monitoring shipped with the deployment', () => {
  const {result, find} = synthesizedObjects('dev')
  const read = (name: string) => readFileSync(path.join(result.monitoringDir, name), 'utf8')
  const rules = parse(read('prometheus-rules.yaml'))
  const scrape = parse(read('prometheus-scrape.yaml'))
  const dashboard = JSON.parse(read('grafana-dashboard.json'))
  const expressions: {where: string; expr: string}[] = [
    ...rules.groups.flatMap((group: any) => group.rules.map((rule: any) => ({where: `alert ${rule.alert}`, expr: rule.expr}))),
    ...dashboard.panels.flatMap((panel: any) => panel.targets.map((target: any) => ({where: `panel ${panel.title}`, expr: target.expr}))),
  ]
  let service: TestService
  let exported: Map<string, Set<string>>

  beforeAll(async () => {
    // A live service with one job that succeeds and one that fails, so the job histograms exist too.
    service = await startTestService()
    writeFileSync(path.join(service.fileRoot, 'rows.ndjson'), '{"a":1}\n')
    const ok = await service.call('POST', '/api/v1/jobs/trigger', {body: {source_type: 'file', config: {path: 'rows.ndjson'}}})
    const bad = await service.call('POST', '/api/v1/jobs/trigger', {body: {source_type: 'file', config: {path: 'missing.ndjson'}}})
    expect((await waitForJob(service, ok.body.job_id)).status).toBe('succeeded')
    expect((await waitForJob(service, bad.body.job_id)).status).toBe('failed')
    await service.call('GET', '/api/v1/jobs/status/00000000-0000-7000-8000-000000000000')
    const metrics = await fetch(`${service.url}/metrics`)
    exported = exportedSeries(await metrics.text())
  }, 60_000)
  afterAll(async () => service?.service.stop())

  it('alerts on a service down, error rate, p99 latency, queue depth and failing jobs, and the files match what is applied', () => {
    expect(rules.groups[0].rules.map((rule: any) => rule.alert)).toEqual(['InfraServiceDown', 'InfraServiceReplicaDown', 'InfraServiceHighErrorRate', 'InfraServiceHighLatencyP99', 'InfraServiceQueueBacklog', 'InfraServiceJobsFailing'])
    for (const rule of rules.groups[0].rules) {
      expect(rule.for).toMatch(/^\d+m$/)
      expect(['critical', 'warning']).toContain(rule.labels.severity)
    }
    // The ConfigMaps applied with the deployment carry the same rules and dashboard.
    expect(parse(find('ConfigMap', 'infra-service-alerts').data['infra-service.rules.yaml'])).toEqual(rules)
    expect(JSON.parse(find('ConfigMap', 'infra-service-dashboard').data['infra-service.json'])).toEqual(dashboard)
  })

  it('names only metrics the service exports, with labels they carry (checked against a live /metrics)', () => {
    expect(exported.size).toBeGreaterThan(3)
    const fromTarget = targetLabels(scrape)
    const problems: string[] = []
    let checked = 0
    for (const {where, expr} of expressions) {
      const used = selectors(expr)
      expect(used.length, `${where}: ${expr}`).toBeGreaterThan(0)
      for (const {metric, labels} of used) {
        checked++
        // `up` is the one series Prometheus makes itself, for every target it scrapes.
        if (metric === 'up') continue
        const labelsOfMetric = exported.get(metric)
        if (!labelsOfMetric) {
          problems.push(`${where}: ${metric} is not exported`)
          continue
        }
        for (const label of labels) if (!labelsOfMetric.has(label) && !fromTarget.has(label) && label !== 'le') problems.push(`${where}: ${metric} has no label ${label}`)
      }
    }
    expect(problems).toEqual([])
    expect(checked).toBeGreaterThan(15)
  })

  it('scrapes the pods the Deployment runs, on the port named http, as the job the rules select', () => {
    const [job] = scrape.scrape_configs
    expect(job.job_name).toBe(SCRAPE_JOB)
    const deployment = find('Deployment')
    const keep = job.relabel_configs.find((r: any) => r.source_labels[0] === '__meta_kubernetes_pod_label_app_kubernetes_io_name')
    expect(keep.regex).toBe(deployment.spec.template.metadata.labels['app.kubernetes.io/name'])
    expect(deployment.spec.template.spec.containers[0].ports[0].name).toBe('http')
    // The port speaks what the probes speak (HTTPS): a plain-HTTP scrape of it would fail.
    expect(job.scheme).toBe(deployment.spec.template.spec.containers[0].readinessProbe.httpGet.scheme.toLowerCase())
    expect(job.kubernetes_sd_configs[0].namespaces.names).toEqual([deployment.metadata.namespace])
    for (const {expr} of expressions) for (const {labels, metric} of selectors(expr)) if (metric.startsWith('infra_') || metric === 'up') expect(labels, expr).toContain('job')
  })
})

describe('selectors (PromQL)', () => {
  it('finds metric names and matcher labels, not functions, keywords, by-labels or strings', () => {
    expect(selectors('histogram_quantile(0.99, sum by (le, route) (rate(http_duration_bucket{job="x",route!~"/a|/b"}[5m]))) > 1')).toEqual([{metric: 'http_duration_bucket', labels: ['job', 'route']}])
    expect(selectors('sum(up{job="a"}) == 0 or absent(up{job="a"})')).toEqual([{metric: 'up', labels: ['job']}, {metric: 'up', labels: ['job']}])
    expect(selectors('max(queue_depth) > 1000 and on (pod) x_total offset 5m')).toEqual([{metric: 'queue_depth', labels: []}, {metric: 'x_total', labels: []}])
  })
})
