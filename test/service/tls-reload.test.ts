import {execFileSync} from 'node:child_process'
import {X509Certificate} from 'node:crypto'
import {existsSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, renameSync, rmSync, symlinkSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import tls from 'node:tls'

import {afterAll, describe, expect, it} from 'vitest'

import {type RunningService, startService} from '../../src/service/server.js'
import {TlsReloader, readTlsFiles} from '../../src/service/tls.js'

/** A self-signed pair as cert-manager's selfSigned issuer makes it (ECDSA P-256, the Certificate's privateKey). */
function makePair(commonName: string): {'tls.crt': string; 'tls.key': string} {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'infra-tls-pair-'))
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'tls.key', '-out', 'tls.crt', '-days', '2', '-subj', `/CN=${commonName}`], {cwd: dir, stdio: 'pipe'})
  const pair = {'tls.crt': readFileSync(path.join(dir, 'tls.crt'), 'utf8'), 'tls.key': readFileSync(path.join(dir, 'tls.key'), 'utf8')}
  rmSync(dir, {recursive: true})
  return pair
}

let projections = 0
/**
 * What the kubelet does to a Secret volume when the Secret changes (kubernetes
 * pkg/volume/util/atomic_writer.go, AtomicWriter.Write): the data goes to a new timestamped folder,
 * each key is a symlink `KEY -> ..data/KEY` (made once), `..data_tmp -> NEW` is renamed over
 * `..data` (the one atomic step), then the old folder is removed.
 */
function projectSecret(volume: string, data: Record<string, string>): void {
  const dataLink = path.join(volume, '..data')
  const previous = existsSync(dataLink) ? readlinkSync(dataLink) : undefined
  const stamp = `..${new Date().toISOString().replace(/[-:T]/g, '_').slice(0, 19)}.${projections++}`
  mkdirSync(path.join(volume, stamp))
  for (const [key, value] of Object.entries(data)) writeFileSync(path.join(volume, stamp, key), value, {mode: 0o440})
  for (const key of Object.keys(data)) if (!existsSync(path.join(volume, key)) && !isLink(path.join(volume, key))) symlinkSync(path.join('..data', key), path.join(volume, key))
  symlinkSync(stamp, path.join(volume, '..data_tmp'))
  renameSync(path.join(volume, '..data_tmp'), dataLink)
  if (previous) rmSync(path.join(volume, previous), {recursive: true})
}

const isLink = (file: string) => {
  try {
    readlinkSync(file)
    return true
  } catch {
    return false
  }
}

/** The certificate a new TLS connection is given, by its SHA-256 fingerprint. */
async function servedFingerprint(url: string): Promise<string> {
  const {hostname, port} = new URL(url)
  return new Promise((resolve, reject) => {
    const socket = tls.connect({host: hostname, port: Number(port), rejectUnauthorized: false}, () => {
      resolve(socket.getPeerCertificate().fingerprint256)
      socket.end()
    })
    socket.on('error', reject)
  })
}

const fingerprint = (pair: {'tls.crt': string}) => new X509Certificate(pair['tls.crt']).fingerprint256

async function until(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 5000): Promise<number> {
  const start = Date.now()
  while (Date.now() - start < timeoutMs) {
    if (await check()) return Date.now() - start
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error(`not within ${timeoutMs} ms: ${what}`)
}

describe('a renewed TLS certificate in the Secret volume', () => {
  let service: RunningService | undefined
  afterAll(async () => service?.stop(0))

  it('is served to new connections within seconds; a broken or missing new pair keeps the old one serving', async () => {
    const volume = mkdtempSync(path.join(os.tmpdir(), 'infra-tls-volume-'))
    const [first, renewed, third] = [makePair('first'), makePair('renewed'), makePair('third')]
    projectSecret(volume, first)
    const logs: string[] = []
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'infra-tls-data-'))
    service = await startService({
      tls: readTlsFiles(path.join(volume, 'tls.crt'), path.join(volume, 'tls.key')),
      // The rounds are the fallback; a minute, so what is seen here is the folder's watch.
      tlsReloadMs: 60_000,
      host: '127.0.0.1',
      port: 0,
      dataDir,
      concurrency: 1,
      jobTimeoutMs: 10_000,
      maxAttempts: 1,
      logLevel: 'info',
      logDestination: {write: (line: string) => void logs.push(line)},
      version: 'test',
      settings: {fileRoot: dataDir, connections: {}, allowPrivateHttp: false, httpTimeoutMs: 5000, maxResultBytes: 1 << 20, maxRows: 100},
    })
    expect(service.url).toMatch(/^https:/)
    expect(await servedFingerprint(service.url)).toBe(fingerprint(first))

    // cert-manager renewed (rotationPolicy: Always: a new key too) and the kubelet swapped ..data.
    projectSecret(volume, renewed)
    const tookMs = await until('the renewed certificate is served', async () => (await servedFingerprint(service!.url)) === fingerprint(renewed))
    expect(tookMs).toBeLessThan(5000)
    const reloaded = logs.map((line) => JSON.parse(line)).find((line) => line.msg?.startsWith('TLS certificate reloaded'))
    expect(reloaded).toMatchObject({level: 30, certificate: {fingerprint256: fingerprint(renewed), serial: new X509Certificate(renewed['tls.crt']).serialNumber}, previous: {fingerprint256: fingerprint(first)}})

    // A certificate with another pair's key: logged, and the renewed pair keeps serving.
    projectSecret(volume, {'tls.crt': third['tls.crt'], 'tls.key': renewed['tls.key']})
    await until('the mismatched pair is logged', () => logs.some((line) => /still serving/.test(line) && /not a usable pair/.test(line)))
    expect(await servedFingerprint(service.url)).toBe(fingerprint(renewed))
    // A Secret without its key (tls.key -> ..data/tls.key leads nowhere): the same.
    projectSecret(volume, {'tls.crt': third['tls.crt']})
    await until('the unreadable pair is logged', () => logs.some((line) => /still serving/.test(line) && /cannot be read: ENOENT/.test(line)))
    expect(await servedFingerprint(service.url)).toBe(fingerprint(renewed))
    const warning = JSON.parse(logs.find((line) => /cannot be read/.test(line))!)
    expect(warning).toMatchObject({level: 40, certificate: {fingerprint256: fingerprint(renewed)}})

    // The next good pair is served again.
    projectSecret(volume, third)
    await until('the third certificate is served', async () => (await servedFingerprint(service!.url)) === fingerprint(third))
  })
})

describe('the TLS files read again on the interval', () => {
  it('pick up a change the watch cannot see (the watched folder itself replaced)', async () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'infra-tls-remount-'))
    const [first, second] = [makePair('first'), makePair('second')]
    for (const [name, pair] of [['one', first], ['two', second]] as const) {
      mkdirSync(path.join(root, name))
      for (const [key, value] of Object.entries(pair)) writeFileSync(path.join(root, name, key), value)
    }
    // The watch is on the folder `mount` led to at start ("one"); renaming another link over
    // `mount` changes what the paths read without an event in that folder.
    symlinkSync('one', path.join(root, 'mount'))
    const files = {certFile: path.join(root, 'mount', 'tls.crt'), keyFile: path.join(root, 'mount', 'tls.key')}
    const server = tls.createServer({cert: first['tls.crt'], key: first['tls.key']}, (socket) => socket.end())
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const url = `https://127.0.0.1:${(server.address() as {port: number}).port}`
    const logged: string[] = []
    const log = {info: (_fields: object, message: string) => void logged.push(message), warn: (_fields: object, message: string) => void logged.push(message)}
    const reloader = new TlsReloader(server, files, {cert: Buffer.from(first['tls.crt']), key: Buffer.from(first['tls.key'])}, log, {intervalMs: 300, settleMs: 50})
    try {
      reloader.start()
      expect(await servedFingerprint(url)).toBe(fingerprint(first))
      symlinkSync('two', path.join(root, 'mount.new'))
      renameSync(path.join(root, 'mount.new'), path.join(root, 'mount'))
      await until('the second certificate is served', async () => (await servedFingerprint(url)) === fingerprint(second), 3000)
      expect(logged).toEqual(['TLS certificate reloaded: new connections get it'])
    } finally {
      reloader.stop()
      server.close()
    }
  })
})
