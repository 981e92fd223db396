import {createHash} from 'node:crypto'
import {createWriteStream, renameSync, rmSync} from 'node:fs'
import {Readable, Transform} from 'node:stream'
import {pipeline} from 'node:stream/promises'

import {InfraError} from '../errors.js'
import {pause} from '../process/interrupts.js'

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
      // An https endpoint whose certificate Node does not trust (the pod's self-signed one through a
      // port-forward, a private CA): Node reads extra roots from NODE_EXTRA_CA_CERTS at start.
      const untrusted = /CERT|SELF_SIGNED|UNABLE_TO_(GET_ISSUER|VERIFY)|ALTNAME/.test(cause)
      throw new InfraError(
        `cannot reach the collection service at ${this.endpoint} (${cause})`,
        untrusted ? 'trust its certificate: NODE_EXTRA_CA_CERTS=/path/to/ca.pem infra jobs ... (the pod\'s: ca.crt of the infra-service-tls Secret)' : 'start it with `infra service start`, open a tunnel, or pass --endpoint',
        'SERVICE_UNREACHABLE',
      )
    }
    if (response.ok) return response
    const body = (await response.json().catch(() => ({}))) as {error?: {message?: string; field?: string}}
    const message = body.error?.message ?? response.statusText
    if (response.status === 401) throw new InfraError(`the service rejected the token: ${message}`, 'check --token / INFRA_SERVICE_TOKEN, or create a new one', 'UNAUTHORIZED')
    if (response.status === 404) throw new InfraError(message, 'list jobs with `infra jobs list`', 'NOT_FOUND')
    if (response.status === 400) throw new InfraError(`the service refused the request: ${message}`, body.error?.field ? `fix ${body.error.field}` : undefined, 'VALIDATION')
    if (response.status === 403) throw new InfraError(`the service refused the token: ${message}`, 'use a token created with the scope named (infra service token create --scope ...)', 'FORBIDDEN')
    if (response.status === 429) throw new InfraError(`the service is rate limiting this client: ${message}`, `wait ${response.headers.get('retry-after') ?? 'a few'} s and retry`, 'RATE_LIMITED')
    throw new InfraError(`the service answered ${response.status}: ${message}`, undefined, `HTTP_${response.status}`)
  }

  async trigger(sourceType: string, config: Record<string, unknown>, idempotencyKey?: string): Promise<{job_id: string; status: string; created: boolean}> {
    const response = await this.request('POST', '/api/v1/jobs/trigger', {body: {source_type: sourceType, config}, headers: idempotencyKey ? {'idempotency-key': idempotencyKey} : {}})
    return response.json() as Promise<{job_id: string; status: string; created: boolean}>
  }

  async status(id: string): Promise<JobView> {
    return (await this.request('GET', `/api/v1/jobs/status/${encodeURIComponent(id)}`)).json() as Promise<JobView>
  }

  /** `flags` names the command's flag for each query parameter, so a refusal names what the user typed. */
  async list(query: Record<string, string | number | undefined>, flags: Record<string, string> = {}): Promise<{jobs: JobView[]; next_cursor: string | null}> {
    const params = new URLSearchParams(Object.entries(query).filter(([, v]) => v !== undefined).map(([k, v]) => [k, String(v)] as [string, string]))
    try {
      return (await this.request('GET', `/api/v1/jobs?${params}`)).json() as Promise<{jobs: JobView[]; next_cursor: string | null}>
    } catch (error) {
      const field = error instanceof InfraError && error.code === 'VALIDATION' ? /querystring\/(\w+)|fix (\w+)$/.exec(`${error.message} ${error.fix ?? ''}`) : null
      const flag = field && flags[field[1] ?? field[2]]
      if (!flag) throw error
      throw new InfraError(`${flag} ${query[field[1] ?? field[2]]} was refused by the service`, `check ${flag} (infra jobs list --help)`, 'VALIDATION', 2)
    }
  }

  async cancel(id: string): Promise<JobView> {
    return (await this.request('POST', `/api/v1/jobs/cancel/${encodeURIComponent(id)}`)).json() as Promise<JobView>
  }

  /**
   * Streams the result to a file or stdout, hashing and counting what is written, and checks it
   * against what the service says it holds (bytes, SHA-256, rows of line-delimited results). A file
   * that does not match is deleted and never takes the output's name.
   */
  async result(id: string, output: NodeJS.WritableStream | string): Promise<{bytes: number; sha256: string; rows: number | null}> {
    const response = await this.request('GET', `/api/v1/jobs/result/${encodeURIComponent(id)}`)
    const expected = {bytes: Number(response.headers.get('x-result-bytes')), sha256: response.headers.get('x-result-sha256') ?? '', rows: response.headers.get('x-result-rows') ? Number(response.headers.get('x-result-rows')) : null}
    const partial = typeof output === 'string' ? `${output}.partial` : undefined
    const target = partial ? createWriteStream(partial, {mode: 0o600}) : output
    const hash = createHash('sha256')
    let bytes = 0
    let lines = 0
    const count = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        hash.update(chunk)
        bytes += chunk.length
        for (let at = chunk.indexOf(10); at !== -1; at = chunk.indexOf(10, at + 1)) lines++
        callback(null, chunk)
      },
    })
    try {
      await pipeline(Readable.fromWeb(response.body as never), count, target as NodeJS.WritableStream)
    } catch (error) {
      if (partial) rmSync(partial, {force: true})
      throw new InfraError(`the result of job ${id} was cut off after ${bytes} bytes (${(error as Error).message})`, 'run `infra jobs result` again', 'RESULT_INCOMPLETE')
    }
    const sha256 = hash.digest('hex')
    const problems = [
      bytes !== expected.bytes && `${bytes} bytes arrived, the service holds ${expected.bytes}`,
      sha256 !== expected.sha256 && `SHA-256 ${sha256} differs from the service's ${expected.sha256 || '(none)'}`,
      expected.rows !== null && lines !== expected.rows && `${lines} rows arrived, the service holds ${expected.rows}`,
    ].filter(Boolean)
    if (problems.length) {
      if (partial) rmSync(partial, {force: true})
      throw new InfraError(
        `the result of job ${id} does not match what the service holds: ${problems.join('; ')}`,
        `nothing was kept${partial ? ` (${output} not written)` : ''}; fetch it again, and if it differs again, check what sits between you and the service (proxy, tunnel)`,
        'RESULT_MISMATCH',
        1,
        {expected, received: {bytes, sha256, rows: expected.rows === null ? null : lines}},
      )
    }
    if (partial) renameSync(partial, output as string)
    return {bytes, sha256, rows: expected.rows}
  }

  /** Follows a job to its end, calling back on each change of progress; `signal` stops following (the job runs on), returning undefined. */
  async wait(id: string, onUpdate: (job: JobView) => void, pollMs = 500, signal?: AbortSignal): Promise<JobView | undefined> {
    let last = ''
    while (!signal?.aborted) {
      const job = await this.status(id)
      const key = `${job.status}:${job.progress}:${job.attempts}`
      if (key !== last) onUpdate(job)
      last = key
      if (['succeeded', 'failed', 'cancelled'].includes(job.status)) return job
      await pause(pollMs, signal)
    }
    return undefined
  }
}
