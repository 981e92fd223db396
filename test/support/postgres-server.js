// Plain JavaScript, so bench/service.js uses the same server as the tests (types: postgres-server.d.ts).
import {execFileSync, spawn} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import {chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {createServer} from 'node:net'
import os from 'node:os'
import path from 'node:path'

import pg from 'pg'


/** Where PostgreSQL 15's binaries are on this machine (PG_BIN overrides). */
const BIN = process.env.PG_BIN ?? '/usr/local/bin'

/** A TCP port free on loopback right now. */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const {port} = server.address()
      server.close(() => resolve(port))
    })
  })
}

/** What is missing to run PostgreSQL here, or undefined when nothing is. */
export function postgresMissing() {
  for (const binary of ['initdb', 'postgres']) if (!existsSync(path.join(BIN, binary))) return `${path.join(BIN, binary)} is missing: install PostgreSQL 15 (or set PG_BIN to its bin folder)`
  if (process.getuid?.() === 0) {
    try {
      execFileSync('id', ['-u', 'postgres'], {stdio: 'ignore'})
    } catch {
      return 'PostgreSQL refuses to run as root and there is no postgres user: useradd --system postgres'
    }
  }
  return undefined
}

/**
 * A real PostgreSQL server in a temporary folder on a free loopback port. Its binaries refuse root,
 * so as root it runs as the unprivileged postgres user (runuser); the folder goes when it stops.
 */
export async function startPostgres(options = {}) {
  const missing = postgresMissing()
  if (missing) throw new Error(missing)
  const asRoot = process.getuid?.() === 0
  const home = mkdtempSync(path.join(os.tmpdir(), 'infra-pg-'))
  const dataDir = path.join(home, 'data')
  const socketDir = path.join(home, 'sock')
  mkdirSync(socketDir)
  chmodSync(home, 0o755)
  const as = (command, args) => (asRoot ? ['runuser', ['-u', 'postgres', '--', command, ...args]] : [command, args])
  if (asRoot) {
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim())
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim())
    chownSync(home, uid, gid)
    chownSync(socketDir, uid, gid)
  }
  const [initCommand, initArgs] = as(path.join(BIN, 'initdb'), ['-D', dataDir, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--no-locale'])
  execFileSync(initCommand, initArgs, {stdio: 'pipe'})
  const tlsArgs = []
  let caFile
  if (options.tls) {
    // A CA made for this run signs a certificate for the name "localhost" only (not 127.0.0.1):
    // verify-full against 127.0.0.1 must then fail, and verify-ca pass.
    const tls = path.join(home, 'tls')
    mkdirSync(tls)
    const openssl = (...args) => execFileSync('openssl', args, {cwd: tls, stdio: 'pipe'})
    openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=infra test CA')
    openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost')
    writeFileSync(path.join(tls, 'san.ext'), 'subjectAltName=DNS:localhost\n')
    openssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.crt', '-days', '2', '-extfile', 'san.ext')
    chmodSync(path.join(tls, 'server.key'), 0o600)
    if (asRoot) {
      const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim())
      chownSync(path.join(tls, 'server.key'), uid, -1)
      chownSync(path.join(tls, 'server.crt'), uid, -1)
    }
    tlsArgs.push('-c', 'ssl=on', '-c', `ssl_cert_file=${path.join(tls, 'server.crt')}`, '-c', `ssl_key_file=${path.join(tls, 'server.key')}`)
    caFile = path.join(tls, 'ca.pem')
  }
  const port = await freePort()
  const [command, args] = as(path.join(BIN, 'postgres'), ['-D', dataDir, '-p', String(port), '-k', socketDir, '-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=200', '-c', 'log_min_messages=fatal', ...tlsArgs])
  const admin = `postgres://postgres@127.0.0.1:${port}/postgres`
  let server
  /** Starts the postmaster on the folder and port, and waits until it takes connections. */
  const launch = async () => {
    server = spawn(command, args, {stdio: ['ignore', 'ignore', 'pipe']})
    let log = ''
    server.stderr?.on('data', (chunk) => {
      log = (log + chunk).slice(-4000)
    })
    const deadline = Date.now() + 60_000
    for (;;) {
      const client = new pg.Client(admin)
      try {
        await client.connect()
        await client.end()
        break
      } catch (error) {
        await client.end().catch(() => {})
        if (server.exitCode !== null || Date.now() > deadline) {
          server.kill('SIGKILL')
          throw new Error(`PostgreSQL did not start on port ${port}: ${error.message}\n${log}`)
        }
        await new Promise((resolve) => setTimeout(resolve, 200))
      }
    }
  }
  /** Stops the postmaster, keeping its folder: open sessions are ended (fast mode), as in a failover. */
  const halt = async () => {
    if (server.exitCode !== null) return
    const exited = new Promise((resolve) => server.once('exit', resolve))
    // pg_ctl signals the postmaster itself (runuser in between may not pass signals on); fast
    // mode ends open sessions instead of waiting for them.
    const [stopCommand, stopArgs] = as(path.join(BIN, 'pg_ctl'), ['stop', '-D', dataDir, '-m', 'fast', '-w', '-t', '30'])
    try {
      execFileSync(stopCommand, stopArgs, {stdio: 'pipe'})
    } catch {
      server.kill('SIGKILL')
    }
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 10_000))])
  }
  await launch()
  return {
    port,
    caFile,
    async createDatabase(name = `infra_${randomBytes(6).toString('hex')}`) {
      const client = new pg.Client(admin)
      await client.connect()
      try {
        await client.query(`CREATE DATABASE ${name}`)
      } finally {
        await client.end()
      }
      return `postgres://postgres@127.0.0.1:${port}/${name}?sslmode=disable`
    },
    /** An outage: the server stops (sessions ended) and comes back on the same port and data. */
    halt,
    resume: launch,
    async stop() {
      await halt()
      rmSync(home, {recursive: true, force: true})
    },
  }
}
