import {describe, expect, it} from 'vitest'

import {Metrics} from '../../src/service/metrics.js'

const counts = {queued: 2, running: 1, succeeded: 0, failed: 0, cancelled: 0}
const value = (text: string, series: string) => Number(text.split('\n').find((line) => line.startsWith(`${series} `))?.split(' ')[1])

describe('Prometheus metrics', () => {
  it('counts requests per route, method and status, with cumulative latency buckets', () => {
    const metrics = new Metrics()
    for (const seconds of [0.001, 0.004, 0.02, 0.3, 999]) metrics.request('/api/v1/jobs/trigger', 'POST', 202, seconds)
    metrics.request('/api/v1/jobs/trigger', 'POST', 400, 0.002)
    metrics.request('/api/v1/jobs/status/:job_id', 'GET', 200, 0.001)
    const text = metrics.render(counts, 1)
    const route = 'route="/api/v1/jobs/trigger",method="POST"'
    expect(value(text, `infra_http_requests_total{${route},status="202"}`)).toBe(5)
    expect(value(text, `infra_http_requests_total{${route},status="400"}`)).toBe(1)
    expect(value(text, 'infra_http_requests_total{route="/api/v1/jobs/status/:job_id",method="GET",status="200"}')).toBe(1)
    const bucket = (le: string) => value(text, `infra_http_request_duration_seconds_bucket{${route},le="${le}"}`)
    expect([bucket('0.005'), bucket('0.01'), bucket('0.025'), bucket('0.5'), bucket('300'), bucket('+Inf')]).toEqual([3, 3, 4, 5, 5, 6])
    expect(value(text, `infra_http_request_duration_seconds_count{${route}}`)).toBe(6)
    expect(value(text, 'infra_queue_depth')).toBe(2)
    expect(value(text, 'infra_jobs_running')).toBe(1)
  })

  it('times jobs by source type and end state', () => {
    const metrics = new Metrics()
    metrics.job('file', 'succeeded', 0.2)
    metrics.job('file', 'succeeded', 7)
    const text = metrics.render(counts, 0)
    expect(value(text, 'infra_job_duration_seconds_bucket{source_type="file",state="succeeded",le="0.25"}')).toBe(1)
    expect(value(text, 'infra_job_duration_seconds_bucket{source_type="file",state="succeeded",le="10"}')).toBe(2)
    expect(value(text, 'infra_job_duration_seconds_sum{source_type="file",state="succeeded"}')).toBeCloseTo(7.2)
  })
})
