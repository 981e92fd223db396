import type {Context, Span, Tracer} from '@opentelemetry/api'
import type {FastifyInstance, FastifyRequest} from 'fastify'

import {InfraError} from '../errors.js'
import type {Job} from './store/job-store.js'

/**
 * OpenTelemetry tracing of the service, off unless configured. When off, nothing here is loaded
 * beyond this file: the SDK and exporter are imported only by startTracing, and the app and the
 * workers see no tracing object, so a request or a job costs one undefined check.
 */

/**
 * The trigger request's trace context travels with the job, in its stored config under this key
 * (the request schema forbids it from clients: config has additionalProperties false): the worker
 * that claims the job, on any replica, continues the caller's trace. Workers strip it before the
 * source sees the config.
 */
export const TRACEPARENT_KEY = '@traceparent'

const SAMPLERS = ['always_on', 'always_off', 'traceidratio', 'parentbased_always_on', 'parentbased_always_off', 'parentbased_traceidratio']

export interface TracingConfig {
  /** The OTLP/HTTP traces URL spans are sent to. */
  url: string
  /** Where it came from, for messages: the flag or the variable. */
  from: string
}

/**
 * Tracing's configuration from `--otlp-endpoint` and the standard OTEL_* variables; undefined when
 * tracing is off (no endpoint, OTEL_SDK_DISABLED=true, or OTEL_TRACES_EXPORTER=none). The flag and
 * OTEL_EXPORTER_OTLP_ENDPOINT are base URLs (/v1/traces is added); OTEL_EXPORTER_OTLP_TRACES_ENDPOINT
 * is used as it is, as the OpenTelemetry specification says.
 */
export function tracingConfig(flagEndpoint: string | undefined, env: NodeJS.ProcessEnv = process.env): TracingConfig | undefined {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return undefined
  const exporter = env.OTEL_TRACES_EXPORTER?.trim().toLowerCase()
  if (exporter === 'none') return undefined
  if (exporter && exporter !== 'otlp') bad(`OTEL_TRACES_EXPORTER=${exporter} is not an exporter this service has`, 'set OTEL_TRACES_EXPORTER=otlp (or none), or unset it')
  const protocol = env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? env.OTEL_EXPORTER_OTLP_PROTOCOL
  if (protocol && !['http/json', 'http/protobuf'].includes(protocol)) {
    bad(`OTEL_EXPORTER_OTLP_PROTOCOL=${protocol}: this service sends OTLP over HTTP (JSON) only`, 'point it at the collector\'s OTLP/HTTP port (4318) and unset the protocol, or set it to http/json')
  }
  const withPath = (base: string) => (/\/v1\/traces\/?$/.test(base) ? base : `${base.replace(/\/+$/, '')}/v1/traces`)
  let config: TracingConfig | undefined
  if (flagEndpoint !== undefined) config = {url: withPath(flagEndpoint), from: `--otlp-endpoint ${flagEndpoint}`}
  else if (env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) config = {url: env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, from: `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=${env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT}`}
  else if (env.OTEL_EXPORTER_OTLP_ENDPOINT) config = {url: withPath(env.OTEL_EXPORTER_OTLP_ENDPOINT), from: `OTEL_EXPORTER_OTLP_ENDPOINT=${env.OTEL_EXPORTER_OTLP_ENDPOINT}`}
  if (!config) return undefined
  let parsed: URL | undefined
  try {
    parsed = new URL(config.url)
  } catch {}
  if (!parsed || !['http:', 'https:'].includes(parsed.protocol) || !parsed.hostname) {
    bad(`${config.from} is not an http(s) URL`, 'give the collector\'s OTLP/HTTP address, e.g. --otlp-endpoint http://otel-collector.observability:4318')
  }
  const sampler = env.OTEL_TRACES_SAMPLER?.trim()
  if (sampler && !SAMPLERS.includes(sampler)) bad(`OTEL_TRACES_SAMPLER=${sampler} is not a sampler`, `use one of ${SAMPLERS.join(', ')}`)
  const ratio = env.OTEL_TRACES_SAMPLER_ARG
  if (ratio !== undefined && sampler?.endsWith('traceidratio') && !(Number(ratio) >= 0 && Number(ratio) <= 1 && ratio.trim() !== '')) {
    bad(`OTEL_TRACES_SAMPLER_ARG=${ratio} is not a ratio`, 'give a number from 0 to 1, e.g. 0.1 for one trace in ten')
  }
  return config
}

function bad(message: string, fix: string): never {
  throw new InfraError(message, fix, 'BAD_TRACING_CONFIG', 2)
}

/** One attempt at a job, traced: `job.run` with its steps as children. */
export interface JobTrace {
  /** Runs one step of the attempt inside its own span. */
  step<T>(name: string, work: () => Promise<T>): Promise<T>
  end(state: string, error?: unknown): void
}

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/

/** The service's tracer: HTTP spans (hooked into Fastify) and job spans (for the workers). */
export class ServiceTracing {
  private readonly spans = new WeakMap<FastifyRequest, Span>()

  constructor(
    private readonly api: typeof import('@opentelemetry/api'),
    private readonly tracer: Tracer,
    private readonly flush: () => Promise<void>,
    readonly url: string,
  ) {}

  /** A W3C traceparent (version 00) as a parent context; anything malformed starts a new trace. */
  private parent(traceparent: unknown): Context {
    const {ROOT_CONTEXT, trace} = this.api
    const match = typeof traceparent === 'string' ? TRACEPARENT.exec(traceparent.trim()) : null
    if (!match || /^0+$/.test(match[1]) || /^0+$/.test(match[2])) return ROOT_CONTEXT
    return trace.setSpanContext(ROOT_CONTEXT, {traceId: match[1], spanId: match[2], traceFlags: Number.parseInt(match[3], 16) & 1, isRemote: true})
  }

  private traceparent(span: Span): string | undefined {
    const context = span.spanContext()
    return this.api.isSpanContextValid(context) ? `00-${context.traceId}-${context.spanId}-0${context.traceFlags & 1}` : undefined
  }

  /** One span per request: `METHOD route`, continuing the caller's trace when a traceparent came with it. */
  instrument(app: FastifyInstance): void {
    const {SpanKind, SpanStatusCode} = this.api
    app.addHook('onRequest', (request, _reply, done) => {
      const route = request.routeOptions.url
      const span = this.tracer.startSpan(
        route ? `${request.method} ${route}` : request.method,
        {kind: SpanKind.SERVER, attributes: {'http.request.method': request.method, 'url.path': request.url.split('?')[0], ...(route ? {'http.route': route} : {}), 'infra.request_id': request.id}},
        this.parent(request.headers.traceparent),
      )
      this.spans.set(request, span)
      done()
    })
    app.addHook('onResponse', (request, reply, done) => {
      const span = this.spans.get(request)
      if (span) {
        span.setAttribute('http.response.status_code', reply.statusCode)
        if (request.token) span.setAttribute('infra.token', request.token.name)
        // Server errors fail the span; a client's 4xx is the client's, as the HTTP conventions say.
        if (reply.statusCode >= 500) span.setStatus({code: SpanStatusCode.ERROR})
        span.end()
      }
      done()
    })
  }

  /** The request span's context as a traceparent, to be stored with the job it queues. */
  traceparentOf(request: FastifyRequest): string | undefined {
    const span = this.spans.get(request)
    return span ? this.traceparent(span) : undefined
  }

  /**
   * An attempt's spans: `job.run` (child of the trigger request's span), `job.claim` (the claim
   * round that took it, already over), and the steps; each carries job.id, the attempt and the
   * source type.
   */
  startJob(job: Job, claim: {startedAt: number; endedAt: number}): JobTrace {
    const {SpanKind, SpanStatusCode, trace} = this.api
    const attributes = {'job.id': job.id, 'job.attempt': job.attempts, 'job.source_type': job.sourceType}
    const run = this.tracer.startSpan('job.run', {kind: SpanKind.CONSUMER, attributes, startTime: claim.startedAt}, this.parent(job.config[TRACEPARENT_KEY]))
    const inRun = trace.setSpan(this.api.ROOT_CONTEXT, run)
    this.tracer.startSpan('job.claim', {attributes, startTime: claim.startedAt}, inRun).end(claim.endedAt)
    const fail = (span: Span, error: unknown) => {
      const message = error instanceof Error ? error.message : String(error)
      span.setStatus({code: SpanStatusCode.ERROR, message})
      if (error instanceof Error) span.recordException(error)
    }
    return {
      step: async (name, work) => {
        const span = this.tracer.startSpan(name, {attributes}, inRun)
        try {
          return await work()
        } catch (error) {
          fail(span, error)
          throw error
        } finally {
          span.end()
        }
      },
      end: (state, error) => {
        run.setAttribute('job.state', state)
        if (state !== 'succeeded' && error !== undefined) fail(run, error)
        run.end()
      },
    }
  }

  /**
   * Sends what is still buffered and stops the exporter (the service's shutdown), within `graceMs`:
   * an unreachable collector neither holds the shutdown up nor fails it. Resolves to why the
   * spans could not be sent, if they could not.
   */
  async shutdown(graceMs = 3000): Promise<string | undefined> {
    let timer: NodeJS.Timeout | undefined
    const late = new Promise<string>((resolve) => (timer = setTimeout(() => resolve(`the collector at ${this.url} did not take the last spans within ${graceMs} ms`), graceMs)))
    try {
      return await Promise.race([this.flush().then(() => undefined, (error: unknown) => `the last spans could not be sent to ${this.url}: ${(error as Error).message ?? error}`), late])
    } finally {
      clearTimeout(timer)
    }
  }
}

/**
 * Loads the SDK and the OTLP/HTTP exporter (JSON) and returns the service's tracer; undefined, with
 * nothing loaded, when tracing is off. Sampling follows OTEL_TRACES_SAMPLER(_ARG) (default: parent
 * based, always on); the resource's service.name is OTEL_SERVICE_NAME or infra-service, plus
 * OTEL_RESOURCE_ATTRIBUTES.
 */
export async function startTracing(flagEndpoint: string | undefined, version: string, env: NodeJS.ProcessEnv = process.env): Promise<ServiceTracing | undefined> {
  const config = tracingConfig(flagEndpoint, env)
  if (!config) return undefined
  const [api, {NodeTracerProvider, BatchSpanProcessor}, {OTLPTraceExporter}, {resourceFromAttributes, detectResources, envDetector}] = await Promise.all([
    import('@opentelemetry/api'),
    import('@opentelemetry/sdk-trace-node'),
    import('@opentelemetry/exporter-trace-otlp-http'),
    import('@opentelemetry/resources'),
  ])
  const resource = resourceFromAttributes({'service.name': 'infra-service', 'service.version': version}).merge(detectResources({detectors: [envDetector]}))
  const provider = new NodeTracerProvider({resource, spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({url: config.url, timeoutMillis: 5000}))]})
  return new ServiceTracing(api, provider.getTracer('infra-service', version), () => provider.shutdown(), config.url)
}
