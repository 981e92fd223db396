import {closeSync, existsSync, fsyncSync, linkSync, openSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeSync} from 'node:fs'
import path from 'node:path'

import {InfraError} from '../errors.js'

/**
 * Test hook: when INFRA_TEST_CRASH_AT names this point, the process dies here as a kill would
 * (no cleanup, no finally blocks), so tests can prove a crash at that moment loses nothing.
 */
export function crashPoint(name: string, env = process.env): void {
  if (env.INFRA_TEST_CRASH_AT === name) process.kill(process.pid, 'SIGKILL')
}

/**
 * Replaces a file so that a reader (or a crash) sees the old content or the new, never a mix:
 * write a temporary file next to it, fsync it, rename it over the original, fsync the folder.
 */
export function writeFileAtomic(file: string, text: string): void {
  const dir = path.dirname(file)
  const temp = path.join(dir, `.${path.basename(file)}.tmp-${process.pid}-${Date.now().toString(36)}`)
  const fd = openSync(temp, 'w', 0o644)
  try {
    const bytes = Buffer.from(text)
    const half = Math.floor(bytes.length / 2)
    writeSync(fd, bytes, 0, half)
    crashPoint('atomic-write-half')
    writeSync(fd, bytes, half)
    fsyncSync(fd)
  } catch (error) {
    closeSync(fd)
    rmSync(temp, {force: true})
    throw error
  }
  closeSync(fd)
  renameSync(temp, file)
  // The rename itself lives in the folder's entry: sync it so it survives a power cut.
  try {
    const dirFd = openSync(dir, 'r')
    try {
      fsyncSync(dirFd)
    } finally {
      closeSync(dirFd)
    }
  } catch {
    // Some file systems refuse fsync on a folder; the rename is still atomic.
  }
}

/** Removes temporary files a crashed writer of this file left behind (their process is gone). */
export function removeStaleTemps(file: string): void {
  const prefix = `.${path.basename(file)}.tmp-`
  const dir = path.dirname(file)
  for (const name of readdirSync(dir)) {
    if (!name.startsWith(prefix)) continue
    const pid = Number(name.slice(prefix.length).split('-')[0])
    if (Number.isInteger(pid) && !processAlive(pid)) rmSync(path.join(dir, name), {force: true})
  }
}

export interface LockOptions {
  /** How long to wait for another writer before giving up. */
  timeoutMs?: number
}

/**
 * Runs fn holding an exclusive lock on file (a `<file>.lock` holding our pid, created whole with
 * link(2), which fails when the lock exists), so concurrent writers take turns and each one's
 * change lands. A lock whose process is dead is taken over by one waiter at a time (see
 * takeOverStaleLock): never unlinked and re-created, so a waiter can never remove a lock that
 * another waiter has just taken.
 */
export async function withFileLock<T>(file: string, fn: () => T | Promise<T>, options: LockOptions = {}): Promise<T> {
  const lock = `${file}.lock`
  const deadline = Date.now() + (options.timeoutMs ?? 30_000)
  let wait = 10
  for (;;) {
    if (createLock(lock)) break
    const holder = readPid(lock)
    // Dead holder, or a lock left empty by an older infra killed between creating and writing it.
    const stale = holder === undefined ? existsSync(lock) && lockAgeMs(lock) > 10_000 : !processAlive(holder)
    if (stale && takeOverStaleLock(lock, holder)) break
    if (Date.now() > deadline) {
      throw new InfraError(
        `${file} is locked by another infra process (pid ${holder ?? 'unknown'})`,
        `wait for it to finish; if no infra is running, remove ${lock}`,
        'ESTATE_LOCKED',
      )
    }
    await new Promise((resolve) => setTimeout(resolve, wait + Math.random() * wait))
    wait = Math.min(wait * 2, 200)
  }
  try {
    return await fn()
  } finally {
    if (readPid(lock) === process.pid) rmSync(lock, {force: true})
  }
}

/** A file holding our pid, written and synced before it is put in place. */
function ownPidFile(lock: string, purpose: string): string {
  const temp = `${lock}.${purpose}-${process.pid}-${Math.random().toString(36).slice(2)}`
  const fd = openSync(temp, 'wx', 0o644)
  try {
    writeSync(fd, String(process.pid))
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
  return temp
}

/** Puts our lock in place unless one exists: link(2) is atomic and refuses an existing name. */
function createLock(lock: string): boolean {
  const temp = ownPidFile(lock, 'new')
  try {
    linkSync(temp, lock)
    return true
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
    return false
  } finally {
    rmSync(temp, {force: true})
  }
}

/**
 * Replaces a stale lock with ours. Waiters take turns through `<lock>.takeover` (created with
 * link(2) too); the one holding it re-reads the lock and, only while it still names the dead
 * holder, renames its own pid file over it: the lock is never absent, so no other waiter can slip
 * in between, and a lock another waiter took in the meantime is left alone. A takeover marker
 * whose own process died (a crash in these few lines) is cleared after 10 s.
 */
function takeOverStaleLock(lock: string, staleHolder: number | undefined): boolean {
  const marker = `${lock}.takeover`
  const mine = ownPidFile(lock, 'takeover')
  try {
    linkSync(mine, marker)
  } catch (error) {
    rmSync(mine, {force: true})
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
    const owner = readPid(marker)
    if ((owner === undefined || !processAlive(owner)) && lockAgeMs(marker) > 10_000) rmSync(marker, {force: true})
    return false
  }
  rmSync(mine, {force: true})
  try {
    if (readPid(lock) !== staleHolder || (staleHolder === undefined && !existsSync(lock))) return false
    renameSync(ownPidFile(lock, 'replace'), lock)
    return true
  } finally {
    rmSync(marker, {force: true})
  }
}

function lockAgeMs(lock: string): number {
  try {
    return Date.now() - statSync(lock).mtimeMs
  } catch {
    return 0
  }
}

function readPid(lock: string): number | undefined {
  try {
    const pid = Number(readFileSync(lock, 'utf8').trim())
    return Number.isInteger(pid) && pid > 0 ? pid : undefined
  } catch {
    return undefined
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}
