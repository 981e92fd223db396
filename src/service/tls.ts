import {type FSWatcher, readFileSync, watch} from 'node:fs'
import {X509Certificate, createHash} from 'node:crypto'
import path from 'node:path'
import {type Server as TlsServer, createSecureContext} from 'node:tls'

import {InfraError} from '../errors.js'

/** A PEM certificate (chain) and its private key, with the files they came from when they came from files. */
export interface TlsPair {
  cert: Buffer
  key: Buffer
  certFile?: string
  keyFile?: string
}

/** Both files or neither: HTTPS with the pair, plain HTTP without. A bad pair is a usage error, said before anything is opened. */
export function readTlsFiles(certFile: string | undefined, keyFile: string | undefined): TlsPair | undefined {
  if (!certFile && !keyFile) return undefined
  if (!certFile || !keyFile) {
    throw new InfraError(`--tls-${certFile ? 'cert' : 'key'} was given without --tls-${certFile ? 'key' : 'cert'}`, 'pass both (INFRA_SERVICE_TLS_CERT and INFRA_SERVICE_TLS_KEY), or neither for plain HTTP', 'BAD_FLAG', 2)
  }
  const read = (flag: string, file: string) => {
    try {
      return readFileSync(path.resolve(file))
    } catch (error) {
      throw new InfraError(`--${flag} ${file} cannot be read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, 'name a readable PEM file (in the pod: the TLS Secret\'s mount)', 'BAD_FLAG', 2)
    }
  }
  const pair = {cert: read('tls-cert', certFile), key: read('tls-key', keyFile), certFile: path.resolve(certFile), keyFile: path.resolve(keyFile)}
  try {
    checkPair(pair)
  } catch (error) {
    throw new InfraError(`--tls-cert ${certFile} / --tls-key ${keyFile} are not a usable pair: ${(error as Error).message}`, 'pass the PEM certificate and its own private key (tls.crt and tls.key of one Secret)', 'BAD_FLAG', 2)
  }
  return pair
}

/** Throws unless both are PEM and the key is the certificate's (OpenSSL's "key values mismatch"). */
function checkPair(pair: {cert: Buffer; key: Buffer}): void {
  createSecureContext({cert: pair.cert, key: pair.key})
}

/** What a log line says of a certificate: enough to tell two apart and see when it ends. */
export function describeCertificate(cert: Buffer): {serial: string; fingerprint256: string; validTo: string} {
  const x509 = new X509Certificate(cert)
  return {serial: x509.serialNumber, fingerprint256: x509.fingerprint256, validTo: new Date(x509.validTo).toISOString()}
}

export interface TlsReloadLog {
  info(fields: object, message: string): void
  warn(fields: object, message: string): void
}

/**
 * Keeps the listener's certificate what the files say. cert-manager renews the Certificate
 * (rotationPolicy: Always, a new key each time) and the kubelet projects the new Secret into the
 * pod by writing a new timestamped folder and renaming a `..data_tmp` symlink over `..data`, which
 * tls.crt and tls.key point through (kubernetes pkg/volume/util/atomic_writer.go, "Consumers of
 * the target directory can monitor the ..data symlink using inotify"): both files change at once,
 * in one rename in their folder. So the folders of both files are watched (inotify on Linux), and,
 * because a watch can miss events (a remounted volume, a file system without inotify), the files
 * are read again every `intervalMs` as well. A changed pair goes to tls.Server#setSecureContext:
 * connections made from then on get it, open ones keep theirs. A pair that cannot be read, is not
 * PEM or does not match (a writer that has replaced one file and not yet the other) is logged and
 * the pair in use keeps serving; the next change or round tries again.
 */
export class TlsReloader {
  private current: {cert: Buffer; key: Buffer}
  private readonly watchers: FSWatcher[] = []
  private timer?: NodeJS.Timeout
  private settle?: NodeJS.Timeout
  /** The last refused pair's files, so one bad pair is logged once, not every round. */
  private refused?: string

  constructor(
    private readonly server: TlsServer,
    private readonly files: {certFile: string; keyFile: string},
    initial: {cert: Buffer; key: Buffer},
    private readonly log: TlsReloadLog,
    private readonly options: {intervalMs: number; settleMs: number},
  ) {
    this.current = {cert: initial.cert, key: initial.key}
  }

  start(): void {
    for (const folder of new Set([path.dirname(this.files.certFile), path.dirname(this.files.keyFile)])) {
      try {
        const watcher = watch(folder, {persistent: false}, () => this.changed())
        // A folder that goes away (the volume unmounted) stops the watch; the rounds go on.
        watcher.on('error', () => watcher.close())
        this.watchers.push(watcher)
      } catch (error) {
        this.log.warn({err: error, folder}, 'cannot watch the TLS files\' folder; re-reading them on the interval only')
      }
    }
    this.timer = setInterval(() => this.reload(), this.options.intervalMs)
    this.timer.unref()
  }

  stop(): void {
    for (const watcher of this.watchers) watcher.close()
    clearInterval(this.timer)
    clearTimeout(this.settle)
  }

  /** A rename in the folder comes as several events (..data_tmp made, renamed, the old folder removed): read once they settle. */
  private changed(): void {
    clearTimeout(this.settle)
    this.settle = setTimeout(() => this.reload(), this.options.settleMs)
    this.settle.unref()
  }

  /** Reads the pair again; serves it if it changed and is usable. Whether the served pair changed. */
  reload(): boolean {
    let next: {cert: Buffer; key: Buffer}
    try {
      next = {cert: readFileSync(this.files.certFile), key: readFileSync(this.files.keyFile)}
    } catch (error) {
      return this.refuse(`cannot be read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, 'unreadable')
    }
    if (next.cert.equals(this.current.cert) && next.key.equals(this.current.key)) {
      this.refused = undefined
      return false
    }
    try {
      checkPair(next)
    } catch (error) {
      return this.refuse(`are not a usable pair: ${(error as Error).message}`, createHash('sha256').update(next.cert).update(next.key).digest('hex'))
    }
    this.server.setSecureContext({cert: next.cert, key: next.key})
    const before = describeCertificate(this.current.cert)
    this.current = next
    this.refused = undefined
    this.log.info({previous: before, certificate: describeCertificate(next.cert)}, 'TLS certificate reloaded: new connections get it')
    return true
  }

  private refuse(why: string, what: string): false {
    if (this.refused !== what) {
      this.log.warn({certFile: this.files.certFile, keyFile: this.files.keyFile, certificate: describeCertificate(this.current.cert)}, `the TLS files ${why}; still serving the certificate in use`)
    }
    this.refused = what
    return false
  }
}
