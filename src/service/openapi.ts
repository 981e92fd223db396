import {JOB_STATES} from './store/job-store.js'

/*
 * What /docs and its OpenAPI document say about each route: summaries, one response schema per
 * status the route really answers, each with a description and an example taken from what the
 * service sends. The response schemas also serialize the answers (fast-json-stringify keeps only
 * the properties a schema names), so each one names every property the service sends; health and
 * readiness keep additionalProperties open so a check added later is never dropped silently.
 */

/** A job id as the service makes them: a UUID version 7 (src/service/store/job-id.ts). */
const JOB_ID = '019af5a2-7c3e-7d41-9b2a-4f6e8c1d2a37'
const REQUEST_ID = '3f1c9a6e-52b4-4d8f-a0e7-1b9c2d3e4f50'

export const ErrorSchema = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message', 'requestId'],
      properties: {
        code: {type: 'string', description: 'stable code to branch on (VALIDATION, UNAUTHORIZED, FORBIDDEN, NOT_FOUND, NOT_FINISHED, ALREADY_ENDED, RATE_LIMITED, QUEUE_FULL, BODY_TOO_LARGE, INTERNAL)'},
        message: {type: 'string', description: 'one line for a person'},
        field: {type: 'string', description: 'the request field at fault, when one is'},
        requestId: {type: 'string', description: 'the x-request-id of this request, to quote when reporting it'},
      },
    },
  },
}

export const JobSchema = {
  type: 'object',
  properties: {
    job_id: {type: 'string', format: 'uuid'},
    source_type: {type: 'string'},
    status: {type: 'string', enum: [...JOB_STATES]},
    attempts: {type: 'integer'},
    max_attempts: {type: 'integer'},
    progress: {type: 'number'},
    error: {type: ['string', 'null']},
    created_at: {type: 'string'},
    updated_at: {type: 'string'},
    started_at: {type: ['string', 'null']},
    finished_at: {type: ['string', 'null']},
    cancel_requested: {type: 'boolean'},
    result: {
      type: ['object', 'null'],
      properties: {rows: {type: ['integer', 'null']}, bytes: {type: 'integer'}, sha256: {type: 'string'}, content_type: {type: 'string'}},
    },
  },
}

const SUCCEEDED_JOB = {
  job_id: JOB_ID,
  source_type: 'file',
  status: 'succeeded',
  attempts: 1,
  max_attempts: 3,
  progress: 1,
  error: null,
  created_at: '2026-12-07T03:10:00.000Z',
  updated_at: '2026-12-07T03:10:00.412Z',
  started_at: '2026-12-07T03:10:00.021Z',
  finished_at: '2026-12-07T03:10:00.412Z',
  cancel_requested: false,
  result: {rows: null, bytes: 18_432, sha256: '9f2c1be0a3d4e5f60718293a4b5c6d7e8f9012a3b4c5d6e7f8091a2b3c4d5e6f7', content_type: 'application/octet-stream'},
}
const CANCELLED_JOB = {...SUCCEEDED_JOB, status: 'cancelled', progress: 0, started_at: null, finished_at: '2026-12-07T03:10:02.000Z', updated_at: '2026-12-07T03:10:02.000Z', cancel_requested: true, result: null}

/** The bodies a trigger accepts, one per source: /docs offers them as the request's examples. */
export const TRIGGER_EXAMPLES = [
  {source_type: 'file', config: {path: 'inventory.txt'}},
  {source_type: 'http', config: {url: 'https://inventory.example.com/hosts.csv', timeout_ms: 5000}},
  {source_type: 'database', config: {connection: 'default', table: 'hosts', columns: ['name', 'address'], limit: 1000}, max_attempts: 5},
  {source_type: 's3', config: {bucket: 'acme-inventory', prefix: 'exports/2026-12-07/', max_objects: 100}},
]

function error(status: number, description: string, code: string, message: string, field?: string) {
  return {[status]: {...ErrorSchema, description, examples: [{error: {code, message, ...(field ? {field} : {}), requestId: REQUEST_ID}}]}}
}

const rateLimited = (who: string) => error(429, 'Too many requests; the retry-after header says how many seconds to wait.', 'RATE_LIMITED', `too many requests ${who}; retry in 1 s`)
const unauthorized = error(401, 'No bearer token, or one that is not valid or was revoked (www-authenticate: Bearer).', 'UNAUTHORIZED', 'a bearer token is required (infra service token create)')
const forbidden = (scope: string) => error(403, `The token is valid but lacks the ${scope} scope.`, 'FORBIDDEN', `this token lacks the ${scope} scope (it has jobs:read)`)
const badJobId = error(400, 'The job id is not a UUID.', 'VALIDATION', 'params/job_id must match format "uuid"')
const noJob = error(404, 'No such job, or another token\'s job (answered alike: an id says nothing).', 'NOT_FOUND', `no job ${JOB_ID}`)
const internal = error(500, 'The service failed; the message never carries details: quote the request id.', 'INTERNAL', 'internal error; quote the request id when reporting it')
const tokenErrors = {...unauthorized, ...rateLimited('for this token'), ...internal}

const checks = (example: Record<string, string>) => ({
  type: 'object',
  additionalProperties: true,
  properties: {
    database: {type: 'string', description: '"ok", or "failing: " and the store\'s error'},
    workers: {type: 'string', description: '"ok", "stalled: ..." when the claim loop is silent, or the pool\'s state (stopping while draining)'},
  },
  examples: [example],
})

const health = (description: string, status: 'ok' | 'unhealthy', check: Record<string, string>) => ({
  description,
  type: 'object',
  additionalProperties: true,
  properties: {
    status: {type: 'string', enum: ['ok', 'unhealthy']},
    checks: checks(check),
    workers: {type: 'object', additionalProperties: true, properties: {busy: {type: 'integer'}, concurrency: {type: 'integer'}}},
    version: {type: 'string'},
  },
  examples: [{status, checks: check, workers: {busy: 1, concurrency: 4}, version: '1.4.0'}],
})

const ready = (description: string, status: 'ready' | 'not ready', check: Record<string, string>) => ({
  description,
  type: 'object',
  additionalProperties: true,
  properties: {status: {type: 'string', enum: ['ready', 'not ready']}, checks: checks(check)},
  examples: [{status, checks: check}],
})

/** Lines as src/service/metrics.ts writes them (test/service/openapi.test.ts checks they are among /metrics' own). */
export const METRICS_EXAMPLE = '# HELP infra_queue_depth Jobs waiting to run.\n# TYPE infra_queue_depth gauge\ninfra_queue_depth 0\n# HELP infra_jobs_running Jobs running in this process.\n# TYPE infra_jobs_running gauge\ninfra_jobs_running 0\n'

const FAILING = {database: 'failing: no answer within 1.5 s', workers: 'ok'}
const OK = {database: 'ok', workers: 'ok'}
const OPEN = {tags: ['operations'], security: []}
const JOBS = {tags: ['jobs']}

/** The documentation part of each route's schema, spread into the route's schema in app.ts. */
export const ROUTE_DOCS = {
  health: {
    ...OPEN,
    summary: 'Liveness: the process, its database and its workers (no token)',
    response: {200: health('Alive: the database answers and the workers claim work.', 'ok', OK), 503: health('Unhealthy: a check failed, or the service is draining (workers: stopping).', 'unhealthy', FAILING), ...rateLimited('from this address')},
  },
  live: {
    ...OPEN,
    summary: 'Liveness for the kubelet: the process answers; the database and draining are not checked (no token)',
    response: {200: {description: 'The process answers.', type: 'object', additionalProperties: true, properties: {status: {type: 'string', enum: ['alive']}}, examples: [{status: 'alive'}]}, ...rateLimited('from this address')},
  },
  ready: {
    ...OPEN,
    summary: 'Readiness: send work here only while the workers run and the store answers (no token)',
    response: {200: ready('Ready for work.', 'ready', OK), 503: ready('Not ready: draining, or a check failed.', 'not ready', {database: 'ok', workers: 'stopping'}), ...rateLimited('from this address')},
  },
  metrics: {
    ...OPEN,
    summary: 'Prometheus metrics in the text exposition format 0.0.4 (no token)',
    response: {
      200: {
        description: 'The metrics, as text/plain; version=0.0.4.',
        content: {'text/plain': {schema: {type: 'string'}, example: METRICS_EXAMPLE}},
      },
      ...rateLimited('from this address'),
    },
  },
  openapi: {
    ...OPEN,
    summary: 'This OpenAPI document (also at /docs/json; no token)',
    response: {200: {description: 'The OpenAPI document of this service.', type: 'object', additionalProperties: true, examples: [{openapi: '3.0.3', info: {title: 'infra collection service', version: '1.4.0'}, paths: {}}]}, ...rateLimited('from this address')},
  },
  trigger: {
    ...JOBS,
    summary: 'Queue a collection job (jobs:write)',
    description: 'The same idempotency-key from the same token answers the job it created first (created: false). The location header names the status URL.',
    response: {
      202: {
        description: 'Queued (created: true), or the job an earlier request with the same idempotency-key created (created: false).',
        type: 'object',
        properties: {job_id: {type: 'string', format: 'uuid'}, status: {type: 'string', enum: [...JOB_STATES]}, created: {type: 'boolean'}},
        examples: [{job_id: JOB_ID, status: 'queued', created: true}],
      },
      400: {
        ...ErrorSchema,
        description: 'The body is not one of the sources\' schemas or its config names something the service refuses (VALIDATION, with the field), or it is not JSON (Fastify\'s own code).',
        examples: [
          {error: {code: 'VALIDATION', message: 'config.path must be relative to the file root and must not climb out of it', field: 'config.path', requestId: REQUEST_ID}},
          {error: {code: 'FST_ERR_CTP_INVALID_JSON_BODY', message: "Body is not valid JSON but content-type is set to 'application/json'", requestId: REQUEST_ID}},
        ],
      },
      ...forbidden('jobs:write'),
      ...error(413, 'The body is larger than the service\'s --body-limit.', 'BODY_TOO_LARGE', 'Request body is too large'),
      ...tokenErrors,
      429: {...rateLimited('for this token')[429], description: 'Too many requests for this token (RATE_LIMITED), or the token has its quota of queued jobs (QUEUE_FULL); retry-after says when to retry.'},
    },
  },
  status: {
    ...JOBS,
    summary: 'A job and its progress (jobs:read; own jobs unless admin)',
    response: {200: {...JobSchema, description: 'The job.', examples: [SUCCEEDED_JOB]}, ...badJobId, ...forbidden('jobs:read'), ...noJob, ...tokenErrors},
  },
  result: {
    ...JOBS,
    summary: 'The collected data, once the job succeeded (jobs:read; own jobs unless admin)',
    response: {
      200: {
        description: 'The data as collected: application/octet-stream for file and http, application/x-ndjson (one JSON object a line) for database and s3. Headers x-result-sha256, x-result-bytes and x-result-rows describe it.',
        content: {
          'application/octet-stream': {schema: {type: 'string', format: 'binary'}},
          'application/x-ndjson': {schema: {type: 'string'}, example: '{"name":"web-1","address":"10.1.4.12"}\n{"name":"web-2","address":"10.1.4.13"}\n'},
        },
      },
      ...badJobId,
      ...forbidden('jobs:read'),
      ...noJob,
      ...error(409, 'The job has not succeeded: it is still queued or running, or it ended failed or cancelled.', 'NOT_FINISHED', `job ${JOB_ID} is running; poll its status until it succeeds`),
      ...tokenErrors,
    },
  },
  cancel: {
    ...JOBS,
    summary: 'Cancel a queued or running job (jobs:write; own jobs unless admin)',
    response: {
      200: {...JobSchema, description: 'The job after the request: cancelled when it was queued; still running with cancel_requested true until its worker stops.', examples: [CANCELLED_JOB]},
      ...badJobId,
      ...forbidden('jobs:write'),
      ...noJob,
      ...error(409, 'The job already ended (succeeded, failed or cancelled).', 'ALREADY_ENDED', `job ${JOB_ID} already ended succeeded`),
      ...tokenErrors,
    },
  },
  list: {
    ...JOBS,
    summary: 'Jobs, newest first, with filters and a cursor (jobs:read; own jobs unless admin)',
    response: {
      200: {
        description: 'One page of jobs; next_cursor is null on the last page.',
        type: 'object',
        properties: {jobs: {type: 'array', items: JobSchema}, next_cursor: {type: ['string', 'null']}},
        examples: [{jobs: [SUCCEEDED_JOB], next_cursor: null}],
      },
      ...error(400, 'A filter is not valid, or the cursor is not one this service issued.', 'VALIDATION', 'cursor is not one this service issued', 'cursor'),
      ...forbidden('jobs:read'),
      ...tokenErrors,
    },
  },
}
