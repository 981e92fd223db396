import {randomBytes} from 'node:crypto'
import {readFileSync} from 'node:fs'
import http from 'node:http'
import https from 'node:https'
import type {AddressInfo} from 'node:net'

/**
 * A stand-in for the five Session Manager calls moto does not have (StartSession,
 * TerminateSession, ResumeSession, DescribeInstanceInformation, DescribeSessions), at the wire:
 * an HTTP endpoint that answers those (AWS JSON 1.1, X-Amz-Target AmazonSSM.*) and relays every
 * other request, of every service, to moto unchanged. infra runs its real SDK code against it.
 */
export interface SsmSessionStandIn {
  endpoint: string
  /** Every call it answered itself, in order, with its request body. */
  calls: {operation: string; body: any}[]
  sessions: Map<string, {target: string; owner: string; reason?: string; document?: string; state: 'Connected' | 'Terminated'; startDate: number}>
  /** Instances that are not online in Systems Manager (every other instance id is Online). */
  offline: Set<string>
  /** Makes ResumeSession fail, as when AWS has dropped the session. */
  refuseResume: boolean
  /** Calls (of any service) to refuse, by operation name, with the error AWS would answer. */
  refusals: Map<string, Refusal>
  /** Every call answered with a refusal, by operation name, in order: the SDK's retries show here. */
  refused: string[]
  /**
   * Access keys that act in an account of their own (key -> account id): their requests reach
   * moto with its x-moto-account-id header, so a test's organization or buckets are not those of
   * moto's default account, which every other test file shares.
   */
  accounts: Map<string, string>
  stop(): Promise<void>
}

/** An AWS error answer: HTTP status, the error code (exception name) and message. */
export interface Refusal {
  status: number
  code: string
  message: string
  /** Organizations' ConstraintViolationException carries a Reason. */
  reason?: string
  /**
   * Refuse only requests whose path, Authorization header (the access key is in it) or body holds
   * this text: tests running side by side each refuse their own calls.
   */
  match?: string
}

/**
 * The operation a request calls, whatever the protocol: JSON (X-Amz-Target "Prefix.Operation"),
 * Query (EC2, STS, Auto Scaling: Action=... in the form body), or REST (EKS: the path).
 */
export function operationOf(method: string, url: string, headers: http.IncomingHttpHeaders, body: Buffer): {operation: string; protocol: 'json' | 'rest-json' | 'ec2' | 'query' | 'rest-xml' | 's3-head'} {
  const target = String(headers['x-amz-target'] ?? '')
  if (target) return {operation: target.slice(target.indexOf('.') + 1), protocol: 'json'}
  // S3 (path-style, as infra addresses an emulator): the credential scope names the service.
  if (/\/s3\/aws4_request/.test(String(headers.authorization ?? ''))) {
    const segments = url.split('?')[0].split('/').filter(Boolean)
    if (method === 'HEAD') return {operation: segments.length > 1 ? 'HeadObject' : 'HeadBucket', protocol: 's3-head'}
    return {operation: `S3 ${method} ${segments.length > 1 ? 'object' : 'bucket'}`, protocol: 'rest-xml'}
  }
  const action = /(?:^|&)Action=([A-Za-z]+)/.exec(body.toString())?.[1]
  if (action) return {operation: action, protocol: /\/ec2\//.test(String(headers.authorization ?? '')) ? 'ec2' : 'query'}
  const path = url.split('?')[0]
  if (method === 'GET' && /^\/clusters\/[^/]+$/.test(path)) return {operation: 'DescribeCluster', protocol: 'rest-json'}
  if (method === 'GET' && path === '/clusters') return {operation: 'ListClusters', protocol: 'rest-json'}
  return {operation: `${method} ${path}`, protocol: 'rest-json'}
}

/**
 * The error body and headers AWS sends in each protocol, as the SDK parses them:
 * JSON 1.1 {"__type", "message"} (SSM, Organizations, CloudWatch Logs); REST-JSON
 * x-amzn-ErrorType and {"message"} (EKS); EC2's <Response><Errors><Error>; the Query APIs'
 * <ErrorResponse><Error><Type>Sender</Type> (STS, Auto Scaling); S3's <Error><Code>; and S3's
 * HEAD requests, which carry no body at all, only the status: "if the HEAD request generates an
 * error, it returns a generic code, such as 400 Bad Request, 403 Forbidden, 404 Not Found ...
 * It's not possible to retrieve the exact exception" (the note in @aws-sdk/client-s3
 * dist-types/commands/HeadObjectCommand.d.ts; HeadBucketCommand.d.ts says the same), and S3
 * throttles with 503 Slow Down (the SlowDown entry of S3's error list, models_0.d.ts).
 */
export function refusalAnswer(protocol: ReturnType<typeof operationOf>['protocol'], refusal: Refusal): {status: number; headers: Record<string, string>; body: string} {
  const requestId = randomBytes(16).toString('hex')
  switch (protocol) {
    case 'json':
      return {status: refusal.status, headers: {'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': requestId}, body: JSON.stringify({__type: refusal.code, message: refusal.message, ...(refusal.reason ? {Reason: refusal.reason} : {})})}
    case 'rest-json':
      return {status: refusal.status, headers: {'content-type': 'application/json', 'x-amzn-errortype': refusal.code, 'x-amzn-requestid': requestId}, body: JSON.stringify({message: refusal.message})}
    case 'ec2':
      return {status: refusal.status, headers: {'content-type': 'text/xml'}, body: `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>${refusal.code}</Code><Message>${refusal.message}</Message></Error></Errors><RequestID>${requestId}</RequestID></Response>`}
    case 'query':
      return {status: refusal.status, headers: {'content-type': 'text/xml'}, body: `<ErrorResponse><Error><Type>${refusal.status >= 500 ? 'Receiver' : 'Sender'}</Type><Code>${refusal.code}</Code><Message>${refusal.message}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`}
    case 'rest-xml':
      return {status: refusal.status, headers: {'content-type': 'application/xml', 'x-amz-request-id': requestId}, body: `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${refusal.code}</Code><Message>${refusal.message}</Message><RequestId>${requestId}</RequestId></Error>`}
    case 's3-head':
      return {status: refusal.status, headers: {'x-amz-request-id': requestId}, body: ''}
  }
}

const OWN_OPERATIONS = new Set(['StartSession', 'TerminateSession', 'ResumeSession', 'DescribeInstanceInformation', 'DescribeSessions'])

export async function startSsmSessionStandIn(motoEndpoint: string, caBundle: string): Promise<SsmSessionStandIn> {
  const ca = readFileSync(caBundle)
  const moto = new URL(motoEndpoint)
  let counter = 0
  const standIn: SsmSessionStandIn = {endpoint: '', calls: [], sessions: new Map(), offline: new Set(), refuseResume: false, refusals: new Map(), refused: [], accounts: new Map(), stop: async () => undefined}

  const relay = (method: string, path: string, headers: http.IncomingHttpHeaders, body: Buffer): Promise<{status: number; headers: http.IncomingHttpHeaders; body: Buffer}> =>
    new Promise((resolve, reject) => {
      const request = https.request({host: moto.hostname, port: moto.port, method, path, headers: {...headers, host: moto.host}, ca}, (response) => {
        const chunks: Buffer[] = []
        response.on('data', (chunk) => chunks.push(chunk))
        response.on('end', () => resolve({status: response.statusCode ?? 500, headers: response.headers, body: Buffer.concat(chunks)}))
      })
      request.on('error', reject)
      request.end(body)
    })

  /** The caller's ARN as moto knows its access key: the session's Owner, as AWS records it. */
  const callerArn = async (headers: http.IncomingHttpHeaders): Promise<string> => {
    const body = Buffer.from('Action=GetCallerIdentity&Version=2011-06-15')
    // moto routes by the credential scope's service: the same key, scoped to STS.
    const authorization = String(headers.authorization ?? '').replace(/\/ssm\/aws4_request/, '/sts/aws4_request')
    const answer = await relay('POST', '/', {authorization, ...(headers['x-amz-security-token'] ? {'x-amz-security-token': headers['x-amz-security-token']} : {}), 'content-type': 'application/x-www-form-urlencoded', 'content-length': String(body.length)}, body)
    return /<Arn>([^<]+)<\/Arn>/.exec(answer.body.toString())?.[1] ?? 'unknown'
  }

  const answer = async (operation: string, body: any, headers: http.IncomingHttpHeaders): Promise<[number, unknown]> => {
    const handle = (id: string) => ({SessionId: id, TokenValue: randomBytes(24).toString('base64'), StreamUrl: `wss://ssmmessages.eu-west-1.amazonaws.com/v1/data-channel/${id}?role=publish_subscribe`})
    switch (operation) {
      case 'StartSession': {
        const id = `standin-${++counter}-${randomBytes(4).toString('hex')}`
        standIn.sessions.set(id, {target: body.Target, owner: await callerArn(headers), reason: body.Reason, document: body.DocumentName, state: 'Connected', startDate: Date.now() / 1000})
        return [200, handle(id)]
      }
      case 'ResumeSession': {
        const session = standIn.sessions.get(body.SessionId)
        if (!session || session.state !== 'Connected' || standIn.refuseResume) return [400, {__type: 'DoesNotExistException', message: `session ${body.SessionId} cannot be resumed`}]
        return [200, handle(body.SessionId)]
      }
      case 'TerminateSession': {
        const session = standIn.sessions.get(body.SessionId)
        if (session) session.state = 'Terminated'
        return [200, {SessionId: body.SessionId}]
      }
      case 'DescribeInstanceInformation': {
        const ids: string[] = (body.Filters ?? []).find((f: any) => f.Key === 'InstanceIds')?.Values ?? []
        return [200, {InstanceInformationList: ids.map((id) => ({InstanceId: id, PingStatus: standIn.offline.has(id) ? 'ConnectionLost' : 'Online', ResourceType: 'EC2Instance'}))}]
      }
      case 'DescribeSessions': {
        const owner = (body.Filters ?? []).find((f: any) => f.key === 'Owner')?.value
        const active = body.State === 'Active'
        const list = [...standIn.sessions.entries()]
          .filter(([, s]) => (active ? s.state === 'Connected' : s.state === 'Terminated') && (!owner || s.owner === owner))
          .map(([id, s]) => ({SessionId: id, Target: s.target, Status: s.state, StartDate: s.startDate, Owner: s.owner, Reason: s.reason, DocumentName: s.document}))
        return [200, {Sessions: list}]
      }
    }
    return [400, {__type: 'InvalidAction'}]
  }

  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = []
    request.on('data', (chunk) => chunks.push(chunk))
    request.on('end', async () => {
      const body = Buffer.concat(chunks)
      try {
        const called = operationOf(request.method ?? 'GET', request.url ?? '/', request.headers, body)
        const candidate = standIn.refusals.get(called.operation)
        const refusal = candidate?.match && !`${request.url}\n${request.headers.authorization ?? ''}\n${body}`.includes(candidate.match) ? undefined : candidate
        if (refusal) {
          standIn.refused.push(called.operation)
          const answer = refusalAnswer(called.protocol, refusal)
          response.writeHead(answer.status, answer.headers)
          response.end(answer.body)
          return
        }
        const target = String(request.headers['x-amz-target'] ?? '')
        const operation = target.startsWith('AmazonSSM.') ? target.slice('AmazonSSM.'.length) : ''
        if (OWN_OPERATIONS.has(operation)) {
          const parsed = JSON.parse(body.toString() || '{}')
          standIn.calls.push({operation, body: parsed})
          const [status, payload] = await answer(operation, parsed, request.headers)
          response.writeHead(status, {'content-type': 'application/x-amz-json-1.1'})
          response.end(JSON.stringify(payload))
          return
        }
        const key = /Credential=([^/]+)\//.exec(String(request.headers.authorization ?? ''))?.[1] ?? ''
        const account = standIn.accounts.get(key)
        const relayed = await relay(request.method ?? 'GET', request.url ?? '/', account ? {...request.headers, 'x-moto-account-id': account} : request.headers, body)
        const headers = {...relayed.headers}
        delete headers['transfer-encoding']
        headers['content-length'] = String(relayed.body.length)
        response.writeHead(relayed.status, headers)
        response.end(relayed.body)
      } catch (error) {
        response.writeHead(500, {'content-type': 'application/json'})
        response.end(JSON.stringify({__type: 'StandInError', message: String(error)}))
      }
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  standIn.endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  standIn.stop = () => new Promise((resolve) => server.close(() => resolve()))
  return standIn
}
