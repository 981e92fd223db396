import {createWriteStream, renameSync} from 'node:fs'
import {Readable} from 'node:stream'
import {pipeline} from 'node:stream/promises'

import {InfraError} from '../errors.js'

export interface JobView {
  job_id: string
  source_type: string
  status: string
  attempts: number
  max_attempts: number
  progress: number
  error: string | null
  created_at: string
  finished_at: string | null
  result: {rows: number | null; bytes: number; sha256: string; content_type: string} | null
}

/** The collection service over HTTP, with every failure turned into one line an operator can act on. */
export class JobsClient {
  constructor(
    readonly endpoint: string,
    private readonly token: string | undefined,
  ) {
    if (!/^https?:\/\//.test(endpoint)) throw new InfraError(`--endpoint ${endpoint} is not an http(s) URL`, 'e.g. http://127.0.0.1:8080', 'BAD_ENDPOINT')
  }

  private async request(method: string, path: string, init: {body?: unknown; headers?: Record<string, string>} = {}): Promise<Response> {
    if (!this.token) throw new InfraError('no service token', 'pass --token, set INFRA_SERVICE_TOKEN, or save one with `infra service token create --name NAME --save`', 'NO_TOKEN')
    let response: Response
    try {
      response = await fetch(new URL(path, this.endpoint), {
        method,
        headers: {authorization: `Bearer ${this.token}`, ...(init.body ? {'content-type': 'application/json'} : {}), ...init.headers},
        body: init.body ? JSON.stringify(init.body) : undefined,
        signal: AbortSignal.timeout(30_000),
      })
    } catch (error) {
      const cause = ((error as {cause?: {code?: string}}).cause?.code ?? (error as Error).name) || 'error'
      throw new InfraError(`cannot reach the collection service at ${this.endpoint} (${cause})`, 'start it with `infra service start`, open a tunnel, or pass --endpoint', 'SERVICE_UNREACHABLE')
    }
    if (response.ok) return response
    const body = (await response.json().catch(() => ({}))) as {error?: {message?: string; field?: string}}
    const message = body.error?.message ?? response.statusText
    if (response.status === 401) throw new InfraError(`the service rejected the token: ${message}`, 'check --token / INFRA_SERVICE_TOKEN, or create a new one', 'UNAUTHORIZED')
    if (response.status === 404) throw new InfraError(message, 'list jobs with `infra jobs list`', 'NOT_FOUND')
    if (response.status === 400) throw new InfraError(`the service refused the request: ${message}`, body.error?.field ? `fix ${body.error.field}` : undefined, 'VALIDATION')
    throw new InfraError(`the service answered ${response.status}: ${message}`, undefined, `HTTP_${response.status}`)
  }

  async trigger(sourceType: string, config: Record<string, unknown>, idempotencyKey?: string): Promise<{job_id: string; status: string; created: boolean}> {
    const response = await this.request('POST', '/api/v1/jobs/trigger', {body: {source_type: sourceType, config}, headers: idempotencyKey ? {'idempotency-key': idempotencyKey} : {}})
    return response.json() as Promise<{job_id: string; status: string; created: boolean}>
  }

  async status(id: string): Promise<JobView> {
    return (await this.request('GET', `/api/v1/jobs/status/${encodeURIComponent(id)}`)).json() as Promise<JobView>
  }

  async list(query: Record<string, string | number | undefined>): Promise<{jobs: JobView[]; next_cursor: string | null}> {
    const params = new URLSearchParams(Object.entries(query).filter(([, v]) => v !== undefined).map(([k, v]) => [k, String(v)] as [string, string]))
    return (await this.request('GET', `/api/v1/jobs?${params}`)).json() as Promise<{jobs: JobView[]; next_cursor: string | null}>
  }

  async cancel(id: string): Promise<JobView> {
    return (await this.request('POST', `/api/v1/jobs/cancel/${encodeURIComponent(id)}`)).json() as Promise<JobView>
  }

  /** Streams the result to a file or stdout; returns what the service says it holds. */
  async result(id: string, output: NodeJS.WritableStream | string): Promise<{bytes: number; sha256: string; rows: string | null}> {
    const response = await this.request('GET', `/api/v1/jobs/result/${encodeURIComponent(id)}`)
    const target = typeof output === 'string' ? createWriteStream(`${output}.partial`) : output
    await pipeline(Readable.fromWeb(response.body as never), target as NodeJS.WritableStream)
    if (typeof output === 'string') renameSync(`${output}.partial`, output)
    return {bytes: Number(response.headers.get('x-result-bytes')), sha256: response.headers.get('x-result-sha256') ?? '', rows: response.headers.get('x-result-rows') || null}
  }

  /** Polls until the job ends; calls back on each change of progress. */
  async wait(id: string, onUpdate: (job: JobView) => void, pollMs = 500): Promise<JobView> {
    let last = ''
    for (;;) {
      const job = await this.status(id)
      const key = `${job.status}:${job.progress}:${job.attempts}`
      if (key !== last) onUpdate(job)
      last = key
      if (['succeeded', 'failed', 'cancelled'].includes(job.status)) return job
      await new Promise((resolve) => setTimeout(resolve, pollMs))
    }
  }
}
