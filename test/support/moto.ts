import {type ChildProcess, execFileSync, spawn} from 'node:child_process'
import {mkdtempSync, readFileSync} from 'node:fs'
import https from 'node:https'
import os from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

import {freePort} from './net.js'

export interface MotoServer {
  endpoint: string
  /** The same moto over plain HTTP, for requests our TLS-only bucket policies must deny. */
  plainEndpoint: string
  /** The self-signed certificate moto serves; pass it as AWS_CA_BUNDLE and NODE_EXTRA_CA_CERTS. */
  caBundle: string
  stop(): Promise<void>
}

const LAUNCHER = fileURLToPath(new URL('./moto_server.py', import.meta.url))


/**
 * Starts moto over TLS on a free loopback port, and on a second port over plain HTTP. TLS because
 * our buckets deny plain HTTP, as they must (moto_server.py evaluates aws:SecureTransport from
 * the listener a request came in on); the certificate is made here for 127.0.0.1 and trusted
 * through AWS_CA_BUNDLE.
 */
export async function startMoto(options: {launcher?: string; env?: Record<string, string>} = {}): Promise<MotoServer> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'infra-moto-'))
  const cert = path.join(dir, 'cert.pem')
  const key = path.join(dir, 'key.pem')
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '2',
    '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'], {stdio: 'ignore'})
  const port = await freePort()
  const plainPort = await freePort()
  const python = process.env.INFRA_TEST_PYTHON ?? 'python3'
  const child: ChildProcess = spawn(python, [options.launcher ?? LAUNCHER, '-H', '127.0.0.1', '-p', String(port), '-c', cert, '-k', key, '--plain-port', String(plainPort)], {
    stdio: ['ignore', 'ignore', 'pipe'],
    detached: false,
    env: {...process.env, ...options.env},
  })
  let stderr = ''
  child.stderr?.on('data', (chunk) => (stderr = (stderr + chunk).slice(-4000)))
  const endpoint = `https://127.0.0.1:${port}`
  const deadline = Date.now() + 30_000
  for (;;) {
    if (child.exitCode !== null) throw new Error(`moto exited with ${child.exitCode}: ${stderr}`)
    if (await answers(endpoint, readFileSync(cert))) break
    if (Date.now() > deadline) throw new Error(`moto did not start on ${endpoint}: ${stderr}`)
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
  return {
    endpoint,
    plainEndpoint: `http://127.0.0.1:${plainPort}`,
    caBundle: cert,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve()
        child.once('exit', () => resolve())
        child.kill('SIGTERM')
      }),
  }
}

/** Whether an HTTPS server answers at all, trusting only the given certificate. */
function answers(endpoint: string, ca: Buffer): Promise<boolean> {
  return new Promise((resolve) => {
    const request = https.get(`${endpoint}/moto-api/`, {ca, timeout: 2000}, (response) => {
      response.resume()
      resolve(true)
    })
    request.on('error', () => resolve(false))
    request.on('timeout', () => request.destroy())
  })
}
