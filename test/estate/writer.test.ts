import {execFileSync, spawnSync} from 'node:child_process'
import {existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

import {describe, expect, it} from 'vitest'

import {loadEstate} from '../../src/estate/load.js'
import {removeClientEntry, setClientFields, updateEstateFile} from '../../src/estate/writer.js'

const CHILD = fileURLToPath(new URL('./write-clients.ts', import.meta.url))
// The shipped estate file: comments, quoting and order written by a person, not for this test.
const SHIPPED = fileURLToPath(new URL('../../config/estate.yaml', import.meta.url))

function copyOfShipped(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'infra-writer-'))
  const file = path.join(dir, 'estate.yaml')
  writeFileSync(file, readFileSync(SHIPPED, 'utf8'))
  return file
}

const child = (args: string[], env: Record<string, string> = {}) =>
  spawnSync(process.execPath, ['--import', 'tsx', CHILD, ...args], {env: {...process.env, ...env}, encoding: 'utf8', timeout: 60_000})

describe('the estate file writer', () => {
  it('adds a client and keeps every comment, the order and the quoting of the rest', async () => {
    const file = copyOfShipped()
    const before = readFileSync(file, 'utf8')
    await updateEstateFile(file, (doc) => setClientFields(doc, 'globex', {accountId: '012345678901', vpcCidr: '10.64.0.0/16', email: 'aws+globex@acme.example'}))
    const after = readFileSync(file, 'utf8')
    // Everything above clients: is byte for byte the same.
    expect(after.slice(0, before.indexOf('clients:'))).toBe(before.slice(0, before.indexOf('clients:')))
    expect(after.slice(after.indexOf('clients:'))).toBe('clients:\n  globex:\n    accountId: "012345678901"\n    vpcCidr: 10.64.0.0/16\n    email: aws+globex@acme.example\n')
    // The leading zero survives: the id is quoted, not turned into a number.
    expect(loadEstate({file, env: {}}).clients[0].accountId).toBe('012345678901')

    // Changing the entry keeps a comment a person wrote on it; removing it leaves the rest alone.
    writeFileSync(file, after.replace('    accountId: "012345678901"', '    # signed 2026-11-30\n    accountId: "012345678901"'))
    await updateEstateFile(file, (doc) => setClientFields(doc, 'globex', {sizing: 'ha'}))
    expect(readFileSync(file, 'utf8')).toContain('    # signed 2026-11-30\n    accountId: "012345678901"\n    vpcCidr: 10.64.0.0/16\n    email: aws+globex@acme.example\n    sizing: ha\n')
    await updateEstateFile(file, (doc) => removeClientEntry(doc, 'globex'))
    expect(loadEstate({file, env: {}}).clients).toEqual([])
    expect(readFileSync(file, 'utf8').slice(0, before.indexOf('clients:'))).toBe(before.slice(0, before.indexOf('clients:')))
  })

  it('refuses a change that would make the file invalid, and writes nothing', async () => {
    const file = copyOfShipped()
    const before = readFileSync(file, 'utf8')
    await expect(updateEstateFile(file, (doc) => setClientFields(doc, 'overlap', {accountId: '444444444444', vpcCidr: '10.1.0.0/16'}))).rejects.toThrow(
      /clients\.overlap\.vpcCidr 10\.1\.0\.0\/16 overlaps dev's 10\.1\.0\.0\/16/,
    )
    expect(readFileSync(file, 'utf8')).toBe(before)
  })

  it('accepts a pending client without an account id, and counts its CIDR as taken', async () => {
    const file = copyOfShipped()
    await updateEstateFile(file, (doc) => setClientFields(doc, 'initech', {status: 'pending', email: 'aws+initech@acme.example', vpcCidr: '10.64.0.0/16'}))
    const estate = loadEstate({file, env: {}})
    expect(estate.clients).toEqual([])
    expect(estate.pendingClients).toEqual([{name: 'initech', kind: 'client', status: 'pending', vpcCidr: '10.64.0.0/16', region: 'eu-west-1', sizing: 'small', email: 'aws+initech@acme.example'}])
    await expect(updateEstateFile(file, (doc) => setClientFields(doc, 'other', {accountId: '444444444444', vpcCidr: '10.64.0.0/16'}))).rejects.toThrow(/clients\.initech\.vpcCidr 10\.64\.0\.0\/16 overlaps other's 10\.64\.0\.0\/16/)
    writeFileSync(file, readFileSync(file, 'utf8').replace('status: pending', 'status: half-done'))
    expect(() => loadEstate({file, env: {}})).toThrow(/clients\.initech\.status "half-done" is not a client status/)
  })

  it('two processes writing at once both land', () => {
    const file = copyOfShipped()
    const script = `
      const {spawn} = require('node:child_process')
      const run = (prefix, octet) => new Promise((resolve) => spawn(process.execPath, ['--import', 'tsx', ${JSON.stringify(CHILD)}, ${JSON.stringify(file)}, prefix, '8', octet], {stdio: 'inherit'}).on('exit', resolve))
      Promise.all([run('alpha', '70'), run('beta', '80')]).then((codes) => process.exit(codes.every((code) => code === 0) ? 0 : 1))
    `
    execFileSync(process.execPath, ['-e', script], {stdio: 'inherit', timeout: 120_000})
    const names = loadEstate({file, env: {}}).clients.map((client) => client.name).sort()
    expect(names).toEqual([...Array(8).keys()].flatMap((index) => [`alpha-${index}`, `beta-${index}`]).sort())
    expect(existsSync(`${file}.lock`)).toBe(false)
    expect(readFileSync(file, 'utf8')).toContain('# Client VPC ranges')
  })

  it('a crash in the middle of a write leaves the old file whole; the next writer takes over the dead lock', () => {
    const file = copyOfShipped()
    const before = readFileSync(file, 'utf8')
    const crashed = child([file, 'gamma', '1', '90'], {INFRA_TEST_CRASH_AT: 'atomic-write-half'})
    expect(crashed.signal).toBe('SIGKILL')
    // Half of the new file was written, next to the estate, never over it.
    expect(readdirSync(path.dirname(file)).filter((name) => name.includes('.tmp-'))).toHaveLength(1)
    expect(readFileSync(file, 'utf8')).toBe(before)
    expect(() => loadEstate({file, env: {}})).not.toThrow()
    expect(existsSync(`${file}.lock`)).toBe(true)

    const next = child([file, 'delta', '1', '91'])
    expect(next.status).toBe(0)
    expect(loadEstate({file, env: {}}).clients.map((client) => client.name)).toEqual(['delta-0'])
    expect(readdirSync(path.dirname(file)).filter((name) => name.includes('.tmp-') || name.endsWith('.lock'))).toEqual([])
  })
  it('a lock left by a dead process is taken over by one waiter at a time: four writers started on it all land', () => {
    const file = copyOfShipped()
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {encoding: 'utf8'}).stdout
    writeFileSync(`${file}.lock`, dead)
    const script = `
      const {spawn} = require('node:child_process')
      const run = (prefix, octet) => new Promise((resolve) => spawn(process.execPath, ['--import', 'tsx', ${JSON.stringify(CHILD)}, ${JSON.stringify(file)}, prefix, '3', octet], {stdio: 'inherit'}).on('exit', resolve))
      Promise.all([run('a', '60'), run('b', '61'), run('c', '62'), run('d', '63')]).then((codes) => process.exit(codes.every((code) => code === 0) ? 0 : 1))
    `
    execFileSync(process.execPath, ['-e', script], {stdio: 'inherit', timeout: 120_000})
    const names = loadEstate({file, env: {}}).clients.map((client) => client.name).sort()
    expect(names).toEqual(['a', 'b', 'c', 'd'].flatMap((prefix) => [0, 1, 2].map((index) => `${prefix}-${index}`)).sort())
    // No lock, takeover marker or pid file is left behind.
    expect(readdirSync(path.dirname(file)).filter((name) => name.includes('.lock'))).toEqual([])
  })
})
