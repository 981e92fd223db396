import type {JobState} from './store/job-store.js'

const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300]

class Histogram {
  /** Observations per bucket alone; the cumulative counts Prometheus expects are summed when rendered. */
  readonly counts = new Array(BUCKETS.length).fill(0)
  sum = 0
  count = 0
  observe(value: number): void {
    this.sum += value
    this.count++
    for (let i = 0; i < BUCKETS.length; i++) {
      if (value <= BUCKETS[i]) {
        this.counts[i]++
        return
      }
    }
  }
  render(name: string, labels: string): string[] {
    const sep = labels ? ',' : ''
    let cumulative = 0
    return [
      ...BUCKETS.map((bucket, i) => `${name}_bucket{${labels}${sep}le="${bucket}"} ${(cumulative += this.counts[i])}`),
      `${name}_bucket{${labels}${sep}le="+Inf"} ${this.count}`,
      `${name}_sum{${labels}} ${this.sum}`,
      `${name}_count{${labels}} ${this.count}`,
    ]
  }
}

interface RouteMetrics {
  labels: string
  latency: Histogram
  byStatus: Map<number, number>
}

/** Prometheus metrics kept in process: request rate, errors, latency, jobs by state, queue depth, job duration. */
export class Metrics {
  /** Route, then method: no label text is built per request, only when rendered. */
  private readonly routes = new Map<string, Map<string, RouteMetrics>>()
  private readonly jobDuration = new Map<string, Histogram>()

  request(route: string, method: string, status: number, seconds: number): void {
    let methods = this.routes.get(route)
    if (!methods) this.routes.set(route, (methods = new Map()))
    let metrics = methods.get(method)
    if (!metrics) methods.set(method, (metrics = {labels: `route="${route}",method="${method}"`, latency: new Histogram(), byStatus: new Map()}))
    metrics.byStatus.set(status, (metrics.byStatus.get(status) ?? 0) + 1)
    metrics.latency.observe(seconds)
  }

  job(sourceType: string, state: string, seconds: number): void {
    const key = `source_type="${sourceType}",state="${state}"`
    let histogram = this.jobDuration.get(key)
    if (!histogram) this.jobDuration.set(key, (histogram = new Histogram()))
    histogram.observe(seconds)
  }

  render(jobs: Record<JobState, number>, running: number): string {
    const lines = ['# HELP infra_http_requests_total HTTP requests by route, method and status.', '# TYPE infra_http_requests_total counter']
    const all = [...this.routes.values()].flatMap((methods) => [...methods.values()])
    for (const {labels, byStatus} of all) for (const [status, value] of byStatus) lines.push(`infra_http_requests_total{${labels},status="${status}"} ${value}`)
    lines.push('# HELP infra_http_request_duration_seconds Request latency.', '# TYPE infra_http_request_duration_seconds histogram')
    for (const {labels, latency} of all) lines.push(...latency.render('infra_http_request_duration_seconds', labels))
    lines.push('# HELP infra_jobs Jobs by state.', '# TYPE infra_jobs gauge')
    for (const [state, count] of Object.entries(jobs)) lines.push(`infra_jobs{state="${state}"} ${count}`)
    lines.push('# HELP infra_queue_depth Jobs waiting to run.', '# TYPE infra_queue_depth gauge', `infra_queue_depth ${jobs.queued}`)
    lines.push('# HELP infra_jobs_running Jobs running in this process.', '# TYPE infra_jobs_running gauge', `infra_jobs_running ${running}`)
    lines.push('# HELP infra_job_duration_seconds Time from claim to end of an attempt.', '# TYPE infra_job_duration_seconds histogram')
    for (const [labels, histogram] of this.jobDuration) lines.push(...histogram.render('infra_job_duration_seconds', labels))
    return `${lines.join('\n')}\n`
  }
}
