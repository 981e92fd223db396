import {writeFileSync} from 'node:fs'
import path from 'node:path'

import {Ajv} from 'ajv'
import formatsPlugin from 'ajv-formats'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {METRICS_EXAMPLE, TRIGGER_EXAMPLES} from '../../src/service/openapi.js'
import {createToken} from '../../src/service/tokens.js'
import {type TestService, startTestService, waitForJob} from '../support/service.js'

/*
 * /docs (and the OpenAPI document behind it) against the running service: every route Fastify
 * answers is documented, every response has a description and an example that fits its own schema,
 * and the service's real answers fit the schemas documented for them.
 */

type Media = {schema: object; example?: unknown; examples?: Record<string, {value: unknown}>}
type Operation = {summary?: string; security?: unknown[]; requestBody?: {content: Record<string, Media>}; responses: Record<string, {description: string; content?: Record<string, Media>}>}
type Document = {paths: Record<string, Record<string, Operation>>}

/** Routes and methods from Fastify's own route tree (printRoutes), HEAD left out: Fastify adds it to every GET. */
function registeredRoutes(tree: string): string[] {
  const stack: string[] = []
  const routes: string[] = []
  for (const line of tree.split('\n')) {
    const match = /^([│ ]*)[├└]── (\S*) \(([^)]+)\)$/.exec(line.replace(/ {4}|│ {3}/g, '    '))
    if (!match) continue
    const depth = match[1].length / 4
    stack.length = depth
    stack.push(match[2])
    for (const method of match[3].split(', ')) if (method !== 'HEAD') routes.push(`${method} ${stack.join('')}`)
  }
  return routes
}

const examplesOf = (media: Media): unknown[] => (media.example === undefined ? Object.values(media.examples ?? {}).map((e) => e.value) : [media.example])

// ajv-formats is CommonJS with its function as both the module and its `default`.
const addFormats = (formatsPlugin as unknown as {default: (ajv: Ajv) => Ajv}).default

/** A UUID version 7, as src/service/store/job-id.ts makes them. */
const JOB_ID_SHAPE = /^[\da-f]{8}-[\da-f]{4}-7[\da-f]{3}-[89ab][\da-f]{3}-[\da-f]{12}$/

describe('the OpenAPI document and /docs', () => {
  let t: TestService
  let doc: Document
  const ajv = new Ajv({strict: false, allErrors: true})
  addFormats(ajv)

  beforeAll(async () => {
    t = await startTestService()
    const response = await t.call('GET', '/docs/json', {token: null})
    expect(response.status).toBe(200)
    doc = response.body
  })
  afterAll(() => t.service.stop())

  const operation = (method: string, route: string) => doc.paths[route.replaceAll(/:(\w+)/g, '{$1}')]?.[method.toLowerCase()]
  const schemaOf = (method: string, route: string, status: number, type = 'application/json') => operation(method, route).responses[String(status)]?.content?.[type]?.schema

  /** The real answer fits the schema documented for its route and status, and its error code is the documented example's. */
  function expectDocumented(method: string, route: string, answer: {status: number; body: any}) {
    const schema = schemaOf(method, route, answer.status)
    expect(schema, `${method} ${route} answered ${answer.status}, which it does not document`).toBeDefined()
    const validate = ajv.compile(schema!)
    expect(validate(answer.body), `${method} ${route} ${answer.status}: ${ajv.errorsText(validate.errors)}`).toBe(true)
    if (answer.body?.error) {
      const documented = examplesOf(operation(method, route).responses[String(answer.status)].content!['application/json']) as {error: {code: string}}[]
      expect(documented.map((e) => e.error.code)).toContain(answer.body.error.code)
    }
  }

  it('documents every route Fastify answers, the docs UI aside; /openapi.json is the same document', async () => {
    const routes = registeredRoutes(t.service.app.printRoutes({commonPrefix: false}))
    const api = routes.filter((route) => !route.split(' ')[1].startsWith('/docs'))
    // The parse found the tree: the five job routes, /health, /live, /ready, /metrics and /openapi.json at least.
    expect(api.length).toBeGreaterThanOrEqual(10)
    for (const route of api) {
      const [method, url] = route.split(' ')
      expect(operation(method, url), `${route} is not in the OpenAPI document`).toBeDefined()
    }
    const documented = Object.entries(doc.paths).flatMap(([url, methods]) => Object.keys(methods).map((m) => `${m.toUpperCase()} ${url.replaceAll(/{(\w+)}/g, ':$1')}`))
    expect(documented.sort()).toEqual(api.sort())
    for (const open of ['/health', '/live', '/ready', '/metrics', '/openapi.json']) expect(operation('GET', open).security).toEqual([])
    expect((await t.call('GET', '/openapi.json', {token: null})).body).toEqual(doc)
  })

  it('describes every response and gives each one an example that fits its own schema', () => {
    for (const [url, methods] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(methods)) {
        expect(op.summary, `${method} ${url}`).toBeTruthy()
        for (const [status, response] of Object.entries(op.responses)) {
          const where = `${method.toUpperCase()} ${url} ${status}`
          expect(response.description, where).toBeTruthy()
          expect(response.description, where).not.toBe('Default Response')
          for (const [type, media] of Object.entries(response.content ?? {})) {
            if ((media.schema as {format?: string}).format === 'binary') continue
            const examples = examplesOf(media)
            expect(examples.length, `${where} ${type} has no example`).toBeGreaterThan(0)
            const validate = ajv.compile(media.schema)
            for (const example of examples) expect(validate(example), `${where}: ${ajv.errorsText(validate.errors)}`).toBe(true)
            const body = example0(examples)
            if (typeof body === 'object' && body && 'job_id' in body) expect(String(body.job_id)).toMatch(JOB_ID_SHAPE)
          }
        }
      }
    }
  })

  it('offers one trigger example per source, each accepted by the body schema', () => {
    const body = operation('POST', '/api/v1/jobs/trigger').requestBody!.content['application/json']
    expect(examplesOf(body)).toEqual(TRIGGER_EXAMPLES)
    expect(TRIGGER_EXAMPLES[0]).toEqual({source_type: 'file', config: {path: 'inventory.txt'}})
    expect(TRIGGER_EXAMPLES.map((e) => e.source_type).sort()).toEqual(['database', 'file', 'http', 's3'])
    const validate = ajv.compile(body.schema)
    for (const example of TRIGGER_EXAMPLES) expect(validate(example), ajv.errorsText(validate.errors)).toBe(true)
  })

  it('answers as documented: the real bodies fit the schemas of their status, nothing dropped', async () => {
    writeFileSync(path.join(t.fileRoot, 'inventory.txt'), 'web-1 10.1.4.12\n')
    const health = await t.call('GET', '/health', {token: null})
    expectDocumented('GET', '/health', health)
    expect(Object.keys(health.body).sort()).toEqual(['checks', 'status', 'version', 'workers'])
    expectDocumented('GET', '/ready', await t.call('GET', '/ready', {token: null}))
    expectDocumented('GET', '/live', await t.call('GET', '/live', {token: null}))
    const metrics = await t.call('GET', '/metrics', {token: null})
    expect(metrics.status).toBe(200)
    expect(metrics.headers.get('content-type')).toContain('text/plain')
    for (const line of METRICS_EXAMPLE.trim().split('\n')) expect(metrics.text.split('\n')).toContain(line)

    // The documented file example, as is: queued, then succeeded with its result.
    const trigger = await t.call('POST', '/api/v1/jobs/trigger', {body: TRIGGER_EXAMPLES[0]})
    expect(trigger.status).toBe(202)
    expectDocumented('POST', '/api/v1/jobs/trigger', trigger)
    expect(trigger.body.job_id).toMatch(JOB_ID_SHAPE)
    const job = await waitForJob(t, trigger.body.job_id)
    expect(job.status).toBe('succeeded')
    const status = await t.call('GET', `/api/v1/jobs/status/${job.job_id}`)
    expectDocumented('GET', '/api/v1/jobs/status/:job_id', status)
    // Every property the service sends survives the response schema, null ones included.
    expect(Object.keys(status.body).sort()).toEqual(Object.keys((examplesOf(operation('GET', '/api/v1/jobs/status/{job_id}').responses['200'].content!['application/json'])[0]) as object).sort())
    expect(status.body.error).toBeNull()
    expect(status.body.result).toMatchObject({rows: null, bytes: 16, content_type: 'application/octet-stream'})
    const result = await t.call('GET', `/api/v1/jobs/result/${job.job_id}`)
    expect(result.status).toBe(200)
    expect(result.text).toBe('web-1 10.1.4.12\n')
    expect(Object.keys(operation('GET', '/api/v1/jobs/result/{job_id}').responses['200'].content!)).toContain(result.headers.get('content-type'))
    const list = await t.call('GET', '/api/v1/jobs?limit=1')
    expectDocumented('GET', '/api/v1/jobs', list)
    expect(list.body.jobs[0]).toEqual(status.body)

    // A job that fails: no result (409), and it cannot be cancelled (409).
    const failing = await t.call('POST', '/api/v1/jobs/trigger', {body: {source_type: 'file', config: {path: 'missing.txt'}, max_attempts: 1}})
    await waitForJob(t, failing.body.job_id)
    expectDocumented('GET', '/api/v1/jobs/result/:job_id', await t.call('GET', `/api/v1/jobs/result/${failing.body.job_id}`))
    const cancel = await t.call('POST', `/api/v1/jobs/cancel/${failing.body.job_id}`)
    expect(cancel.status).toBe(409)
    expectDocumented('POST', '/api/v1/jobs/cancel/:job_id', cancel)

    // Refusals: 400 (bad body, bad id, bad cursor), 401, 403, 404, 413.
    const refusals: [string, string, Awaited<ReturnType<TestService['call']>>, number][] = []
    const {token: reader} = await createToken(t.service.store, 'reader', ['jobs:read'])
    const {token: writer} = await createToken(t.service.store, 'writer', ['jobs:write'])
    const unknown = '019af5a2-7c3e-7d41-9b2a-4f6e8c1d2a37'
    refusals.push(
      ['POST', '/api/v1/jobs/trigger', await t.call('POST', '/api/v1/jobs/trigger', {body: {source_type: 'file', config: {path: '../etc/passwd'}}}), 400],
      ['POST', '/api/v1/jobs/trigger', await t.call('POST', '/api/v1/jobs/trigger', {raw: '{bad'}), 400],
      ['POST', '/api/v1/jobs/trigger', await t.call('POST', '/api/v1/jobs/trigger', {body: TRIGGER_EXAMPLES[0], token: null}), 401],
      ['POST', '/api/v1/jobs/trigger', await t.call('POST', '/api/v1/jobs/trigger', {body: TRIGGER_EXAMPLES[0], token: reader}), 403],
      ['POST', '/api/v1/jobs/trigger', await t.call('POST', '/api/v1/jobs/trigger', {raw: JSON.stringify({source_type: 'file', config: {path: 'x'.repeat(1 << 20)}})}), 413],
      ['GET', '/api/v1/jobs/status/:job_id', await t.call('GET', '/api/v1/jobs/status/not-a-uuid'), 400],
      ['GET', '/api/v1/jobs/status/:job_id', await t.call('GET', `/api/v1/jobs/status/${unknown}`), 404],
      ['GET', '/api/v1/jobs/status/:job_id', await t.call('GET', `/api/v1/jobs/status/${unknown}`, {token: writer}), 403],
      ['GET', '/api/v1/jobs/result/:job_id', await t.call('GET', `/api/v1/jobs/result/${unknown}`), 404],
      ['POST', '/api/v1/jobs/cancel/:job_id', await t.call('POST', `/api/v1/jobs/cancel/${unknown}`, {token: reader}), 403],
      ['GET', '/api/v1/jobs', await t.call('GET', '/api/v1/jobs?cursor=forged'), 400],
      ['GET', '/api/v1/jobs', await t.call('GET', '/api/v1/jobs', {token: null}), 401],
    )
    for (const [method, route, answer, expected] of refusals) {
      expect(answer.status, `${method} ${route}: ${answer.text}`).toBe(expected)
      expect(answer.body.error.requestId).toBe(answer.headers.get('x-request-id'))
      expectDocumented(method, route, answer)
    }
  })
})

const example0 = (examples: unknown[]) => examples[0] as Record<string, unknown> | string | undefined
