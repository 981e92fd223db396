import {spawnSync} from 'node:child_process'
import {existsSync, mkdtempSync, readFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import {type ResultPromise, execa} from 'execa'
import {afterAll, describe, expect, it} from 'vitest'

import {BIN} from '../support/cli.js'
import {freePort} from '../support/net.js'

/**
 * Two service containers on one data volume. In a container node is pid 1, so each process here
 * runs as pid 1 of a pid namespace of its own (unshare(1), as a container runtime makes one), on
 * one shared data folder: the pid cannot tell them apart, only the kernel's lock can. Where pid
 * namespaces cannot be made (no CAP_SYS_ADMIN), they run as plain processes and the pid-1 file
 * left behind is written by the test.
 */
const pidNamespaces = spawnSync('unshare', ['--pid', '--fork', '--kill-child', 'true']).status === 0

describe('one service per SQLite data folder', () => {
  const started: ResultPromise[] = []
  afterAll(() => {
    for (const child of started) child.kill('SIGKILL')
  })

  const start = async (dataDir: string) => {
    const port = await freePort()
    const command = [process.execPath, BIN, 'service', 'start', '--port', String(port), '--data-dir', dataDir, '--log-level', 'silent', '--json']
    const child = pidNamespaces
      ? execa('unshare', ['--pid', '--fork', '--kill-child', ...command], {reject: false})
      : execa(command[0], command.slice(1), {reject: false})
    started.push(child)
    return {child, url: `http://127.0.0.1:${port}`}
  }

  /** The service's own pid, as this (the host's) namespace sees it: the one SIGKILL must reach. */
  const servicePid = (child: ResultPromise) => {
    if (!pidNamespaces) return child.pid!
    const children = readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim().split(' ')
    return Number(children[0])
  }

  it('refuses a second live one (both pid 1), and takes over once the first is killed with SIGKILL', {timeout: 60_000}, async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'infra-owner-'))
    const first = await start(dataDir)
    const listening = JSON.parse(await firstLine(first.child))
    expect(listening.pid).toBe(pidNamespaces ? 1 : first.child.pid)
    expect((await fetch(`${first.url}/ready`)).status).toBe(200)

    const second = await start(dataDir)
    // Refused at once; a second owner would come up and serve instead (what this guards against).
    const refused = await Promise.race([second.child, new Promise<never>((_resolve, reject) => setTimeout(() => reject(new Error('the second service started on the same data folder')), 15_000))])
    expect(refused.exitCode).toBe(1)
    expect(JSON.parse(refused.stdout).error).toMatchObject({code: 'DATABASE_IN_USE', message: expect.stringContaining(`in use by the infra service with pid ${listening.pid} on ${os.hostname()}`)})
    // The first one still serves, alone.
    expect((await fetch(`${first.url}/ready`)).status).toBe(200)

    process.kill(servicePid(first.child), 'SIGKILL')
    await first.child
    // What the killed container left: its details (pid 1) and the lock file, no lock.
    const info = path.join(dataDir, 'jobs.db.owner')
    expect(existsSync(path.join(dataDir, 'jobs.db.lock'))).toBe(true)
    expect(JSON.parse(readFileSync(info, 'utf8')).pid).toBe(listening.pid)
    const third = await start(dataDir)
    const restarted = JSON.parse(await firstLine(third.child))
    expect((await fetch(`${third.url}/ready`)).status).toBe(200)
    expect(JSON.parse(readFileSync(info, 'utf8')).pid).toBe(restarted.pid)
    process.kill(servicePid(third.child), 'SIGTERM')
    expect((await third.child).exitCode).toBe(0)
    // A clean stop leaves no details behind (the lock file stays; it holds nothing).
    expect(existsSync(info)).toBe(false)
  })
})

/** The first line on stdout: with --json, `service start` says where it listens once it does. */
async function firstLine(child: ResultPromise): Promise<string> {
  let text = ''
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      text += chunk.toString()
      if (text.includes('\n')) resolve(text.split('\n')[0])
    })
    child.then((result) => reject(new Error(`service start ended first: ${result.stderr}`)), reject)
  })
}
