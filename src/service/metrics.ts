import type {JobState} from './store/job-store.js'

const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300]

class Histogram {
  readonly counts = new Array(BUCKETS.length).fill(0)
  sum = 0
  count = 0
  observe(value: number): void {
    this.sum += value
    this.count++
    for (let i = 0; i < BUCKETS.length; i++) if (value <= BUCKETS[i]) this.counts[i]++
  }
  render(name: string, labels: string): string[] {
    const sep = labels ? ',' : ''
    return [
      ...BUCKETS.map((bucket, i) => `${name}_bucket{${labels}${sep}le="${bucket}"} ${this.counts[i]}`),
      `${name}_bucket{${labels}${sep}le="+Inf"} ${this.count}`,
      `${name}_sum{${labels}} ${this.sum}`,
      `${name}_count{${labels}} ${this.count}`,
    ]
  }
}

/** Prometheus metrics kept in process: request rate, errors, latency, jobs by state, queue depth, job duration. */
export class Metrics {
  private readonly requests = new Map<string, number>()
  private readonly latency = new Map<string, Histogram>()
  private readonly jobDuration = new Map<string, Histogram>()

  request(route: string, method: string, status: number, seconds: number): void {
    const key = `route="${route}",method="${method}",status="${status}"`
    this.requests.set(key, (this.requests.get(key) ?? 0) + 1)
    const latencyKey = `route="${route}",method="${method}"`
    let histogram = this.latency.get(latencyKey)
    if (!histogram) this.latency.set(latencyKey, (histogram = new Histogram()))
    histogram.observe(seconds)
  }

  job(sourceType: string, state: string, seconds: number): void {
    const key = `source_type="${sourceType}",state="${state}"`
    let histogram = this.jobDuration.get(key)
    if (!histogram) this.jobDuration.set(key, (histogram = new Histogram()))
    histogram.observe(seconds)
  }

  render(jobs: Record<JobState, number>, running: number): string {
    const lines = ['# HELP infra_http_requests_total HTTP requests by route, method and status.', '# TYPE infra_http_requests_total counter']
    for (const [labels, value] of this.requests) lines.push(`infra_http_requests_total{${labels}} ${value}`)
    lines.push('# HELP infra_http_request_duration_seconds Request latency.', '# TYPE infra_http_request_duration_seconds histogram')
    for (const [labels, histogram] of this.latency) lines.push(...histogram.render('infra_http_request_duration_seconds', labels))
    lines.push('# HELP infra_jobs Jobs by state.', '# TYPE infra_jobs gauge')
    for (const [state, count] of Object.entries(jobs)) lines.push(`infra_jobs{state="${state}"} ${count}`)
    lines.push('# HELP infra_queue_depth Jobs waiting to run.', '# TYPE infra_queue_depth gauge', `infra_queue_depth ${jobs.queued}`)
    lines.push('# HELP infra_jobs_running Jobs running in this process.', '# TYPE infra_jobs_running gauge', `infra_jobs_running ${running}`)
    lines.push('# HELP infra_job_duration_seconds Time from claim to end of an attempt.', '# TYPE infra_job_duration_seconds histogram')
    for (const [labels, histogram] of this.jobDuration) lines.push(...histogram.render('infra_job_duration_seconds', labels))
    return `${lines.join('\n')}\n`
  }
}
