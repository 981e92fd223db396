import {mkdirSync, mkdtempSync, writeFileSync} from 'node:fs'
import http from 'node:http'
import os from 'node:os'
import path from 'node:path'

import {type ResultPromise, execa} from 'execa'
import {afterAll, describe, expect, it} from 'vitest'

import {BIN, runCli} from '../support/cli.js'

/** A span as the OTLP/HTTP JSON encoding carries it (opentelemetry-proto, JSON mapping). */
interface OtlpSpan {
  traceId: string
  spanId: string
  parentSpanId?: string
  name: string
  kind: number
  attributes: {key: string; value: {stringValue?: string; intValue?: number | string; boolValue?: boolean}}[]
  status?: {code?: number}
}

const attr = (span: OtlpSpan, key: string) => {
  const value = span.attributes.find((a) => a.key === key)?.value
  return value?.stringValue ?? (value?.intValue === undefined ? value?.boolValue : Number(value.intValue))
}

/**
 * A real OTLP/HTTP receiver (node:http taking the exporter's JSON at /v1/traces) and a real
 * `infra service start --otlp-endpoint`: a traced caller triggers a job, and the spans that arrive
 * must form the request's span and the job's tree under it, every job span carrying job.id.
 */
describe('service tracing over OTLP/HTTP', () => {
  const received: {contentType: string | undefined; body: any}[] = []
  const collector = http.createServer((request, response) => {
    const chunks: Buffer[] = []
    request.on('data', (chunk: Buffer) => chunks.push(chunk))
    request.on('end', () => {
      if (request.method === 'POST' && request.url === '/v1/traces') received.push({contentType: request.headers['content-type'], body: JSON.parse(Buffer.concat(chunks).toString('utf8'))})
      response.writeHead(request.url === '/v1/traces' ? 200 : 404, {'content-type': 'application/json'}).end('{}')
    })
  })
  let service: ResultPromise | undefined
  afterAll(() => {
    service?.kill('SIGKILL')
    collector.close()
  })

  it('exports the request span and the job span tree, and flushes on shutdown', async () => {
    await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve))
    const collectorUrl = `http://127.0.0.1:${(collector.address() as {port: number}).port}`
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'infra-tracing-'))
    const fileRoot = path.join(dataDir, 'files')
    mkdirSync(fileRoot)
    writeFileSync(path.join(fileRoot, 'inventory.csv'), 'host,ip\nweb-1,10.1.2.3\n')
    const token = JSON.parse((await runCli(['service', 'token', 'create', '--name', 'tracer', '--data-dir', dataDir, '--json'])).stdout).token

    // The service name comes from the standard variable; the endpoint from the flag.
    service = execa('node', [BIN, 'service', 'start', '--json', '--port', '0', '--data-dir', dataDir, '--file-root', fileRoot, '--log-level', 'silent', '--otlp-endpoint', collectorUrl], {
      reject: false,
      env: {OTEL_SERVICE_NAME: 'infra-service-test', OTEL_TRACES_SAMPLER: 'parentbased_always_on'},
    })
    const url = await new Promise<string>((resolve, reject) => {
      service!.stdout!.once('data', (chunk: Buffer) => resolve(JSON.parse(chunk.toString()).url))
      service!.once('exit', () => reject(new Error('service exited before listening')))
    })

    // The caller's trace: the service must continue it, not start its own.
    const callerTrace = '4bf92f3577b34da6a3ce929d0e0e4736'
    const callerSpan = '00f067aa0ba902b7'
    const triggered = await fetch(`${url}/api/v1/jobs/trigger`, {
      method: 'POST',
      headers: {authorization: `Bearer ${token}`, 'content-type': 'application/json', traceparent: `00-${callerTrace}-${callerSpan}-01`},
      body: JSON.stringify({source_type: 'file', config: {path: 'inventory.csv'}}),
    })
    expect(triggered.status).toBe(202)
    const jobId = ((await triggered.json()) as {job_id: string}).job_id
    let status = ''
    for (let i = 0; i < 100 && status !== 'succeeded'; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100))
      status = ((await (await fetch(`${url}/api/v1/jobs/status/${jobId}`, {headers: {authorization: `Bearer ${token}`}})).json()) as {status: string}).status
    }
    expect(status).toBe('succeeded')
    // A refused request is traced too, with its status.
    expect((await fetch(`${url}/api/v1/jobs`)).status).toBe(401)
    // The stored trace context is the service's business: the source got the config without it.
    const result = await fetch(`${url}/api/v1/jobs/result/${jobId}`, {headers: {authorization: `Bearer ${token}`}})
    expect(await result.text()).toBe('host,ip\nweb-1,10.1.2.3\n')

    // Nothing is sent yet (the batch waits 5 s); SIGTERM's shutdown must flush it.
    service.kill('SIGTERM')
    const exited = await service
    expect(exited.exitCode).toBe(0)

    expect(received.length).toBeGreaterThan(0)
    expect(received[0].contentType).toMatch(/^application\/json/)
    const resources = received.flatMap((r) => r.body.resourceSpans)
    const serviceName = resources[0].resource.attributes.find((a: {key: string}) => a.key === 'service.name').value.stringValue
    expect(serviceName).toBe('infra-service-test')
    const spans: OtlpSpan[] = resources.flatMap((r: any) => r.scopeSpans.flatMap((s: any) => s.spans))

    const trigger = spans.find((s) => s.name === 'POST /api/v1/jobs/trigger')!
    expect(trigger).toBeDefined()
    expect(trigger.traceId).toBe(callerTrace)
    expect(trigger.parentSpanId).toBe(callerSpan)
    expect(trigger.kind).toBe(2) // SPAN_KIND_SERVER
    expect(attr(trigger, 'http.route')).toBe('/api/v1/jobs/trigger')
    expect(attr(trigger, 'http.request.method')).toBe('POST')
    expect(attr(trigger, 'http.response.status_code')).toBe(202)
    const refused = spans.find((s) => s.name === 'GET /api/v1/jobs')!
    expect(attr(refused, 'http.response.status_code')).toBe(401)
    expect(refused.traceId).not.toBe(callerTrace)
    expect(spans.find((s) => s.name === 'GET /api/v1/jobs/status/:job_id')).toBeDefined()

    const jobSpans = spans.filter((s) => s.name.startsWith('job.'))
    expect(jobSpans.map((s) => s.name).sort()).toEqual(['job.claim', 'job.result.store', 'job.run', 'job.source.fetch'])
    for (const span of jobSpans) {
      expect(attr(span, 'job.id')).toBe(jobId)
      expect(attr(span, 'job.attempt')).toBe(1)
      expect(attr(span, 'job.source_type')).toBe('file')
      expect(span.traceId).toBe(callerTrace)
    }
    const run = jobSpans.find((s) => s.name === 'job.run')!
    // The job's run is a child of the request that queued it, across the queue.
    expect(run.parentSpanId).toBe(trigger.spanId)
    expect(attr(run, 'job.state')).toBe('succeeded')
    for (const child of jobSpans.filter((s) => s !== run)) expect(child.parentSpanId).toBe(run.spanId)
  })

  it('refuses a malformed endpoint in one line, exit 2', async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'infra-tracing-bad-'))
    const flag = await runCli(['service', 'start', '--port', '0', '--data-dir', dataDir, '--otlp-endpoint', 'collector:4318'])
    expect(flag.exitCode).toBe(2)
    expect(flag.stderr).toContain('--otlp-endpoint collector:4318 is not an http(s) URL')
    const variable = await runCli(['service', 'start', '--port', '0', '--data-dir', dataDir, '--json'], {env: {OTEL_EXPORTER_OTLP_ENDPOINT: 'not a url'}})
    expect(variable.exitCode).toBe(2)
    expect(JSON.parse(variable.stdout || variable.stderr).error).toMatchObject({code: 'BAD_TRACING_CONFIG', message: 'OTEL_EXPORTER_OTLP_ENDPOINT=not a url is not an http(s) URL'})
  })
})
