import http from 'node:http'
import https from 'node:https'
import type {AddressInfo} from 'node:net'

export interface HoldingProxy {
  endpoint: string
  /** Resolves when the first request `hold` picks has arrived (and is being held). */
  held: Promise<void>
  /**
   * Resolves once the held request, after its caller gave up on it, has been carried out by the
   * target anyway: what AWS does with a call it had already received when the client cancelled.
   */
  carriedOut: Promise<{status: number; body: string}>
  close(): Promise<void>
}

/**
 * A pass-through proxy in front of moto that holds one request until its caller hangs up, then
 * sends it on. It makes "a call in flight when terraform was interrupted" happen at a chosen
 * call instead of whenever the timing falls; moto does the work, the proxy only delays.
 * Host headers are kept, so request signatures still verify.
 */
export async function startHoldingProxy(options: {
  target: string
  tls: {cert: Buffer; key: Buffer}
  ca: Buffer
  hold: (request: http.IncomingMessage, body: string) => boolean
}): Promise<HoldingProxy> {
  const target = new URL(options.target)
  let markHeld!: () => void
  const held = new Promise<void>((resolve) => (markHeld = resolve))
  let markCarriedOut!: (value: {status: number; body: string}) => void
  const carriedOut = new Promise<{status: number; body: string}>((resolve) => (markCarriedOut = resolve))
  let holding = false

  const forward = (request: http.IncomingMessage, body: Buffer): Promise<{status: number; headers: http.IncomingHttpHeaders; body: Buffer}> =>
    new Promise((resolve, reject) => {
      const outgoing = https.request(
        {hostname: target.hostname, port: target.port, path: request.url, method: request.method, headers: request.headers, ca: options.ca},
        (response) => {
          const chunks: Buffer[] = []
          response.on('data', (chunk: Buffer) => chunks.push(chunk))
          response.on('end', () => resolve({status: response.statusCode ?? 502, headers: response.headers, body: Buffer.concat(chunks)}))
        },
      )
      outgoing.on('error', reject)
      outgoing.end(body)
    })

  const server = https.createServer({cert: options.tls.cert, key: options.tls.key, keepAliveTimeout: 1000}, (request, response) => {
    const chunks: Buffer[] = []
    request.on('data', (chunk: Buffer) => chunks.push(chunk))
    request.on('end', async () => {
      const body = Buffer.concat(chunks)
      if (!holding && options.hold(request, body.toString())) {
        holding = true
        markHeld()
        // Held until the caller hangs up: then the target carries the call out all the same.
        response.on('close', async () => {
          const answer = await forward(request, body).catch((error: Error) => ({status: 0, headers: {}, body: Buffer.from(error.message)}))
          markCarriedOut({status: answer.status, body: answer.body.toString()})
        })
        return
      }
      try {
        const answer = await forward(request, body)
        response.writeHead(answer.status, answer.headers)
        response.end(answer.body)
      } catch (error) {
        response.writeHead(502)
        response.end((error as Error).message)
      }
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const {port} = server.address() as AddressInfo
  return {
    endpoint: `https://127.0.0.1:${port}`,
    held,
    carriedOut,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
