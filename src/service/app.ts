import {randomUUID} from 'node:crypto'
import {createReadStream} from 'node:fs'

import {AjvCompiler, type BuildCompilerFromPool} from '@fastify/ajv-compiler'
import Fastify, {type FastifyBaseLogger, type FastifyInstance, type FastifyRequest, LogController} from 'fastify'
import type {DestinationStream} from 'pino'

import {createServiceLog} from './logging.js'
import {Metrics} from './metrics.js'
import {SOURCES} from './sources/index.js'
import type {SourceSettings} from './sources/source.js'
import {newJobId} from './store/job-id.js'
import {ROUTE_DOCS, TRIGGER_EXAMPLES} from './openapi.js'
import type {ResultStore} from './results.js'
import {JOB_STATES, type Job, type JobStore, QueueFullError, type Scope, TERMINAL, type Token} from './store/job-store.js'
import {TokenVerifier, hasScope, mayAccess, wellFormed} from './tokens.js'
import {type ServiceTracing, TRACEPARENT_KEY} from './tracing.js'
import type {WorkerPool} from './workers.js'

export interface AppOptions {
  store: JobStore
  workers: WorkerPool
  settings: SourceSettings
  /** Where results are read from (default: the local file the job's result names). */
  results?: ResultStore
  maxAttempts: number
  /** Queued jobs one token may have at once; past it a trigger answers 429 (unlimited when absent). */
  maxQueuedPerToken?: number
  /** Requests per second per token, with bursts of twice that. */
  rateLimitPerSecond: number
  /**
   * Requests without a valid token, per second per client address, with bursts of ten times that:
   * past it they are answered 429 before any token is looked up.
   */
  authFailuresPerSecond: number
  bodyLimitBytes: number
  /**
   * Peers whose X-Forwarded-For is believed (CIDRs: the load balancer's subnets). The client's
   * address is then the nearest one in the header that is not such a peer; from anyone else the
   * header is ignored, so a client cannot pick the address its failures are counted against.
   */
  trustedProxies?: string[]
  logLevel: string
  /** Where log lines go (default: stdout). */
  logDestination?: DestinationStream
  version: string
  /** Spans per request and the trigger's trace context stored with its job; absent when tracing is off. */
  tracing?: ServiceTracing
}

export function jobView(job: Job) {
  return {
    job_id: job.id,
    source_type: job.sourceType,
    status: job.status,
    attempts: job.attempts,
    max_attempts: job.maxAttempts,
    progress: job.progress,
    error: job.error,
    created_at: job.createdAt,
    updated_at: job.updatedAt,
    started_at: job.startedAt,
    finished_at: job.finishedAt,
    cancel_requested: job.cancelRequested,
    result: job.result ? {rows: job.result.rows, bytes: job.result.bytes, sha256: job.result.sha256, content_type: job.result.contentType} : null,
  }
}

/** Refuses a token without the scope (403: the token is valid, this is not its job). */
function need(request: FastifyRequest, scope: Scope): void {
  if (!hasScope(request.token!, scope)) throw new HttpError(403, 'FORBIDDEN', `this token lacks the ${scope} scope (it has ${request.token!.scopes.join(', ')})`)
}

/** What a job may ask for beside its source's own config: limits lower than the server's, never higher. */
function limitProperties(settings: SourceSettings, jobTimeoutMs: number) {
  return {
    max_bytes: {type: 'integer', minimum: 1, maximum: settings.maxResultBytes, description: `stop and fail past this many bytes (server ceiling ${settings.maxResultBytes})`},
    timeout_ms: {type: 'integer', minimum: 100, maximum: jobTimeoutMs, description: `time one attempt may take (server ceiling ${jobTimeoutMs})`},
  }
}

/** One schema per source (a discriminated oneOf): it validates requests and is what /docs shows for each source. */
export function triggerBodySchema(settings: SourceSettings, jobTimeoutMs: number) {
  return {
    type: 'object',
    required: ['source_type', 'config'],
    discriminator: {propertyName: 'source_type'},
    oneOf: Object.values(SOURCES).map((source) => {
      const schema = source.configSchema(settings)
      return {
        type: 'object',
        title: source.type,
        required: ['source_type', 'config'],
        additionalProperties: false,
        properties: {
          source_type: {type: 'string', enum: [source.type]},
          config: {...schema, additionalProperties: false, properties: {...schema.properties, ...limitProperties(settings, jobTimeoutMs)}},
          max_attempts: {type: 'integer', minimum: 1, maximum: 10},
        },
      }
    }),
  }
}

/** Requests per second per client address to the routes without a token (health, metrics, docs). */
const OPEN_ROUTES_PER_SECOND = 20

/** Token buckets by key: a steady rate per second and bursts up to `burst`. */
class RateLimiter {
  private readonly buckets = new Map<string, {tokens: number; at: number}>()

  constructor(
    private readonly rate: number,
    private readonly burst: number,
  ) {}

  private refill(key: string) {
    const now = Date.now()
    const bucket = this.buckets.get(key) ?? {tokens: this.burst, at: now}
    bucket.tokens = Math.min(this.burst, bucket.tokens + ((now - bucket.at) / 1000) * this.rate)
    bucket.at = now
    // Bounded memory under a flood of addresses: full buckets are the default anyway.
    if (this.buckets.size > 100_000) for (const [k, b] of this.buckets) if (b.tokens >= this.burst) this.buckets.delete(k)
    this.buckets.set(key, bucket)
    return bucket
  }

  /** Seconds to wait before the next request is allowed (0: allowed now), without taking one. */
  wait(key: string): number {
    const bucket = this.refill(key)
    return bucket.tokens < 1 ? Math.ceil((1 - bucket.tokens) / this.rate) : 0
  }

  /** Takes one; returns the seconds to wait when there was none to take. */
  take(key: string): number {
    const wait = this.wait(key)
    if (wait === 0) this.buckets.get(key)!.tokens -= 1
    return wait
  }
}

class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message)
  }
}

declare module 'fastify' {
  interface FastifyRequest {
    token?: Token
  }
}

const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-resource-policy': 'same-origin',
}
const API_HEADERS = {...SECURITY_HEADERS, 'content-security-policy': "default-src 'none'; frame-ancestors 'none'", 'cache-control': 'no-store'}

/**
 * The client's x-request-id when it is a plain id (8-64 letters, digits, '_', '.', '-'), else a new
 * UUID: only a checked id is logged and echoed back (no markup, no 6 KB header in every log line).
 */
export function requestIdOf(request: {headers: Record<string, string | string[] | undefined>}): string {
  const given = request.headers['x-request-id']
  return typeof given === 'string' && /^[\w.-]{8,64}$/.test(given) ? given : randomUUID()
}

/**
 * The token of an `Authorization: Bearer TOKEN` header. The scheme name is case-insensitive (RFC
 * 7235 §2.1, RFC 6750 §2.1): `bearer`, `BEARER` and `Bearer` are the same; one or more spaces follow it.
 */
export function bearerToken(header: string | undefined): string | undefined {
  const match = header === undefined ? null : /^bearer +(\S+) *$/i.exec(header)
  return match ? match[1] : undefined
}

const compilers = AjvCompiler()
/**
 * Validation without type coercion for bodies: JSON has types, and "100", 12345 or ["a.txt"] where
 * the schema says integer or string are refused (400), not converted. Query strings, path
 * parameters and headers are text by nature, so they are still converted (`?limit=50` is 50).
 */
const validatorFactory: BuildCompilerFromPool = (externalSchemas, options) => {
  const shared = {...(options?.customOptions as object | undefined), removeAdditional: false, allErrors: false, discriminator: true}
  const bodies = compilers(externalSchemas, {...options, mode: undefined, customOptions: {...shared, coerceTypes: false}})
  const text = compilers(externalSchemas, {...options, mode: undefined, customOptions: {...shared, coerceTypes: 'array'}})
  return (route) => (route.httpPart === 'body' ? bodies : text)(route)
}

/** The collection service's HTTP API: Fastify, with its schemas serving validation and OpenAPI alike. */
export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const {store, workers} = options
  const metrics = new Metrics()
  const log = createServiceLog(options.logLevel, options.logDestination)
  const app = Fastify({
    loggerInstance: log.logger as FastifyBaseLogger,
    // One structured line per request (written in onResponse) instead of Fastify's two.
    logController: new LogController({disableRequestLogging: true}),
    bodyLimit: options.bodyLimitBytes,
    // Fastify's trustProxy with a CIDR list (proxy-addr): request.ip walks X-Forwarded-For from the
    // right past trusted hops only. Without a list, the TCP peer is the client.
    trustProxy: options.trustedProxies?.length ? options.trustedProxies : false,
    // Off: with a header name set, Fastify takes the header's value as the id without calling
    // genReqId (fastify lib/req-id-gen-factory.js), so any text would be logged and echoed.
    requestIdHeader: false,
    genReqId: requestIdOf,
    schemaController: {compilersFactory: {buildValidator: validatorFactory}},
  })

  const {default: swagger} = await import('@fastify/swagger')
  const {default: swaggerUi} = await import('@fastify/swagger-ui')
  await app.register(swagger, {
    openapi: {
      info: {title: 'infra collection service', version: options.version, description: 'Trigger data collection jobs and fetch their results.'},
      components: {securitySchemes: {bearer: {type: 'http', scheme: 'bearer'}}},
      security: [{bearer: []}],
    },
  })
  await app.register(swaggerUi, {routePrefix: '/docs'})

  const perToken = new RateLimiter(options.rateLimitPerSecond, options.rateLimitPerSecond * 2)
  const perAddress = new RateLimiter(options.authFailuresPerSecond, Math.max(1, options.authFailuresPerSecond * 10))
  const perAddressOpen = new RateLimiter(OPEN_ROUTES_PER_SECOND, OPEN_ROUTES_PER_SECOND * 10)

  // First, so the request span covers the token check and every answer, refusals included.
  options.tracing?.instrument(app)
  const tokens = new TokenVerifier(store)
  const open = new Set(['/health', '/ready', '/live', '/metrics'])
  // Callback-style hooks: an async hook costs a promise per request on the hot path.
  app.addHook('onRequest', (request, reply, done) => {
    ;(request as FastifyRequest & {startedAt: number}).startedAt = performance.now()
    const url = request.url.split('?')[0]
    const docs = url.startsWith('/docs')
    // Security headers go on every answer, errors included; the interactive docs need their scripts.
    reply.headers(docs ? SECURITY_HEADERS : API_HEADERS)
    reply.header('x-request-id', request.id)
    if (docs || open.has(url)) {
      // Open routes still cost work (a database ping, the counts for /metrics): limited per address
      // too, generously enough for probes and scrapers.
      const wait = perAddressOpen.take(request.ip)
      if (wait === 0) return done()
      reply.header('retry-after', String(wait))
      return done(new HttpError(429, 'RATE_LIMITED', `too many requests from this address; retry in ${wait} s`))
    }
    const header = request.headers.authorization
    const presented = bearerToken(header)
    const admit = (token: Token | undefined) => {
      if (!token) {
        // A failure costs the address one of its allowance.
        perAddress.take(request.ip)
        reply.header('www-authenticate', 'Bearer')
        return done(new HttpError(401, 'UNAUTHORIZED', header ? 'the bearer token is not valid or was revoked' : 'a bearer token is required (infra service token create)'))
      }
      const wait = perToken.take(token.id)
      if (wait > 0) {
        reply.header('retry-after', String(wait))
        return done(new HttpError(429, 'RATE_LIMITED', `too many requests for this token; retry in ${wait} s`))
      }
      request.token = token
      done()
    }
    // A token seen within the last second is admitted without waiting on the store.
    const cached = tokens.cached(presented)
    if (cached) return admit(cached)
    // An address that failed too often is refused, except for a well-formed token that proves
    // valid: another client's failures behind the same address (a NAT, a proxy not trusted) never
    // lock out a token holder. A malformed or missing token costs no store read either way.
    const wait = perAddress.wait(request.ip)
    const limited = () => {
      reply.header('retry-after', String(wait))
      return done(new HttpError(429, 'RATE_LIMITED', `too many requests without a valid token from this address; retry in ${wait} s`))
    }
    if (!wellFormed(presented)) return wait > 0 ? limited() : admit(undefined)
    tokens.verify(presented).then((token) => (token || wait === 0 ? admit(token) : limited()), done)
  })
  app.addHook('onClose', (_instance, done) => {
    log.close()
    done()
  })
  app.addHook('onResponse', (request, reply, done) => {
    const started = (request as FastifyRequest & {startedAt?: number}).startedAt ?? performance.now()
    const seconds = (performance.now() - started) / 1000
    metrics.request(request.routeOptions.url ?? 'unmatched', request.method, reply.statusCode, seconds)
    log.access({reqId: request.id, method: request.method, url: request.url, status: reply.statusCode, ms: Math.round(seconds * 1e4) / 10, token: request.token?.name})
    done()
  })
  app.setErrorHandler((error: Error & {statusCode?: number; validation?: {keyword?: string; instancePath?: string; params?: {missingProperty?: string; additionalProperty?: string; tag?: string}}[]; validationContext?: string; code?: string}, request, reply) => {
    if (error instanceof HttpError) return reply.status(error.statusCode).send({error: {code: error.code, message: error.message, ...(error.field ? {field: error.field} : {}), requestId: request.id}})
    if (error.validation) {
      const first = error.validation[0]
      if (first?.keyword === 'discriminator') {
        return reply.status(400).send({error: {code: 'VALIDATION', message: `body/source_type must be one of ${Object.keys(SOURCES).join(', ')}`, field: 'source_type', requestId: request.id}})
      }
      const field = [first?.instancePath?.replace(/^\//, '').replaceAll('/', '.'), first?.params?.missingProperty ?? first?.params?.additionalProperty].filter(Boolean).join('.') || undefined
      // The message names the field as the client knows it, not the query string or body path alone.
      const message = first?.keyword === 'additionalProperties' ? `${error.validationContext ?? 'body'}${first.instancePath ?? ''} has an unknown property ${first.params?.additionalProperty}` : error.message
      return reply.status(400).send({error: {code: 'VALIDATION', message, ...(field ? {field} : {}), requestId: request.id}})
    }
    const status = error.statusCode && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500
    if (status === 500) request.log.error({err: error}, 'request failed')
    // Client errors keep their message (malformed JSON, body too large); server errors never leak.
    const message = status === 500 ? 'internal error; quote the request id when reporting it' : error.message
    return reply.status(status).send({error: {code: status === 413 ? 'BODY_TOO_LARGE' : status === 500 ? 'INTERNAL' : (error.code ?? 'BAD_REQUEST'), message, requestId: request.id}})
  })
  app.setNotFoundHandler((request, reply) => reply.status(404).send({error: {code: 'NOT_FOUND', message: `no route ${request.method} ${request.url.split('?')[0]}`, requestId: request.id}}))

  // Probes give up after 2 s (the Deployment's timeoutSeconds): a database that does not answer
  // (a failover in progress, a dropped route) is reported failing before that, not left hanging.
  const checkDatabase = async () => {
    let timer: NodeJS.Timeout | undefined
    try {
      await Promise.race([store.ping(), new Promise((_resolve, reject) => {
        timer = setTimeout(() => reject(new Error('no answer within 1.5 s')), 1500)
      })])
      return 'ok'
    } catch (error) {
      return `failing: ${(error as Error).message}`
    } finally {
      clearTimeout(timer)
    }
  }
  // The workers' claim loop runs every poll interval; one silent for much longer is stuck.
  const stalledAfterMs = Math.max(5000, workers.options.pollMs * 20)
  const checkWorkers = () => {
    const state = workers.state
    if (state !== 'running') return state
    const age = Date.now() - workers.lastTickAt
    return workers.lastTickAt && age > stalledAfterMs ? `stalled: no claim round for ${Math.round(age / 1000)} s` : 'ok'
  }
  // Health in full: the process, its database and its workers (503 while any fails or it drains).
  app.get('/health', {schema: ROUTE_DOCS.health}, async (_request, reply) => {
    const checks = {database: await checkDatabase(), workers: checkWorkers()}
    const healthy = checks.database === 'ok' && checks.workers === 'ok'
    return reply.status(healthy ? 200 : 503).send({status: healthy ? 'ok' : 'unhealthy', checks, workers: {busy: workers.busy, concurrency: workers.options.concurrency}, version: options.version})
  })
  // Liveness for the kubelet: the process answers. Not the database: restarting every replica
  // during a database failover would not bring it back, and a restart with the database still
  // away ends in CrashLoopBackOff. Nor draining: the pod is on its way out already.
  app.get('/live', {schema: ROUTE_DOCS.live}, async () => ({status: 'alive'}))
  // Readiness: send work here only while the workers run and the store answers; never while draining.
  app.get('/ready', {schema: ROUTE_DOCS.ready}, async (_request, reply) => {
    const checks = {database: await checkDatabase(), workers: checkWorkers()}
    const ready = checks.database === 'ok' && checks.workers === 'ok'
    return reply.status(ready ? 200 : 503).send({status: ready ? 'ready' : 'not ready', checks})
  })
  app.get('/metrics', {schema: ROUTE_DOCS.metrics}, async (_request, reply) => reply.type('text/plain; version=0.0.4').send(metrics.render(await store.countsByState(), workers.busy)))
  workers.onAttemptFinished(({job, state, seconds}) => metrics.job(job.sourceType, state, seconds))

  app.post(
    '/api/v1/jobs/trigger',
    {
      schema: {
        ...ROUTE_DOCS.trigger,
        headers: {type: 'object', properties: {'idempotency-key': {type: 'string', minLength: 1, maxLength: 128}}},
        body: {...triggerBodySchema(options.settings, workers.options.jobTimeoutMs), examples: TRIGGER_EXAMPLES},
      },
    },
    async (request, reply) => {
      need(request, 'jobs:write')
      const body = request.body as {source_type: string; config: Record<string, unknown>; max_attempts?: number}
      const problem = SOURCES[body.source_type].validate(body.config, options.settings)
      if (problem) throw new HttpError(400, 'VALIDATION', problem, problem.split(' ')[0])
      const key = request.headers['idempotency-key'] as string | undefined
      const traceparent = options.tracing?.traceparentOf(request)
      let accepted
      try {
        accepted = await store.create({
          id: newJobId(),
          sourceType: body.source_type,
          config: traceparent ? {...body.config, [TRACEPARENT_KEY]: traceparent} : body.config,
          maxAttempts: body.max_attempts ?? options.maxAttempts,
          idempotencyKey: key,
          tokenId: request.token!.id,
          maxQueuedPerToken: options.maxQueuedPerToken,
        })
      } catch (error) {
        if (!(error instanceof QueueFullError)) throw error
        // Room comes back as the token's jobs start; one token cannot queue without limit.
        reply.header('retry-after', '10')
        throw new HttpError(429, 'QUEUE_FULL', error.message)
      }
      const {job, created} = accepted
      if (created) workers.wake()
      return reply.status(202).header('location', `/api/v1/jobs/status/${job.id}`).send({job_id: job.id, status: job.status, created})
    },
  )

  const idParams = {type: 'object', required: ['job_id'], properties: {job_id: {type: 'string', format: 'uuid'}}}
  // Another token's job is answered like a job that does not exist: its id says nothing.
  const findJob = async (request: FastifyRequest, scope: Scope) => {
    need(request, scope)
    const id = (request.params as {job_id: string}).job_id
    const job = await store.get(id)
    if (!job || !mayAccess(request.token!, job)) throw new HttpError(404, 'NOT_FOUND', `no job ${id}`)
    return job
  }

  app.get('/api/v1/jobs/status/:job_id', {schema: {...ROUTE_DOCS.status, params: idParams}}, async (request) =>
    jobView(await findJob(request, 'jobs:read')),
  )

  app.get('/api/v1/jobs/result/:job_id', {schema: {...ROUTE_DOCS.result, params: idParams}}, async (request, reply) => {
    const job = await findJob(request, 'jobs:read')
    if (job.status !== 'succeeded' || !job.result) {
      throw new HttpError(409, 'NOT_FINISHED', TERMINAL.has(job.status) ? `job ${job.id} ended ${job.status}${job.error ? `: ${job.error}` : ''}; it has no result` : `job ${job.id} is ${job.status}; poll its status until it succeeds`)
    }
    return reply
      .type(job.result.contentType)
      .header('x-result-sha256', job.result.sha256)
      .header('x-result-bytes', String(job.result.bytes))
      .header('x-result-rows', job.result.rows === null ? '' : String(job.result.rows))
      .send(options.results ? await options.results.open(job.result.path) : createReadStream(job.result.path))
  })

  app.post('/api/v1/jobs/cancel/:job_id', {schema: {...ROUTE_DOCS.cancel, params: idParams}}, async (request) => {
    const job = await findJob(request, 'jobs:write')
    if (TERMINAL.has(job.status)) throw new HttpError(409, 'ALREADY_ENDED', `job ${job.id} already ended ${job.status}`)
    return jobView((await store.cancel(job.id))!)
  })

  app.get(
    '/api/v1/jobs',
    {
      schema: {
        ...ROUTE_DOCS.list,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            status: {type: 'string', enum: [...JOB_STATES]},
            source_type: {type: 'string', enum: Object.keys(SOURCES)},
            created_after: {type: 'string', format: 'date-time'},
            created_before: {type: 'string', format: 'date-time'},
            limit: {type: 'integer', minimum: 1, maximum: 500, default: 50},
            cursor: {type: 'string', pattern: '^[A-Za-z0-9_-]{1,200}$'},
          },
        },
      },
    },
    async (request) => {
      need(request, 'jobs:read')
      const q = request.query as {status?: Job['status']; source_type?: string; created_after?: string; created_before?: string; limit: number; cursor?: string}
      const tokenId = request.token!.scopes.includes('admin') ? undefined : request.token!.id
      let page
      try {
        page = await store.list({status: q.status, sourceType: q.source_type, createdAfter: q.created_after && new Date(q.created_after).toISOString(), createdBefore: q.created_before && new Date(q.created_before).toISOString(), limit: q.limit, cursor: q.cursor, tokenId})
      } catch {
        throw new HttpError(400, 'VALIDATION', 'cursor is not one this service issued', 'cursor')
      }
      return {jobs: page.jobs.map(jobView), next_cursor: page.nextCursor}
    },
  )

  app.get('/openapi.json', {schema: ROUTE_DOCS.openapi}, async () => app.swagger())
  open.add('/openapi.json')
  return app
}
