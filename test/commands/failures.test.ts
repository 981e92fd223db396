import {mkdtempSync, readFileSync} from 'node:fs'
import http from 'node:http'
import type {AddressInfo} from 'node:net'
import os from 'node:os'
import path from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {fromSystemError} from '../../src/errors.js'
import {BIN, runCli} from '../support/cli.js'

const dir = mkdtempSync(path.join(os.tmpdir(), 'infra-failures-'))

/** Runs the CLI in a real pseudo-terminal, so it prompts as it would for a person. */
async function inTerminal(args: string[], keys: (output: string) => string | undefined): Promise<{exitCode: number; output: string}> {
  const pty = await import('@lydell/node-pty')
  const env = Object.fromEntries(Object.entries({...process.env, CI: '', NODE_ENV: 'production'}).filter(([, v]) => v !== undefined)) as Record<string, string>
  const child = pty.spawn(process.execPath, [BIN, ...args], {cols: 120, rows: 30, cwd: process.cwd(), env})
  let output = ''
  let sent = false
  child.onData((data) => {
    output += data
    const answer = sent ? undefined : keys(output)
    if (answer !== undefined) {
      sent = true
      child.write(answer)
    }
  })
  const exitCode = await new Promise<number>((resolve) => child.onExit(({exitCode}) => resolve(exitCode)))
  return {exitCode, output}
}

describe('Node and library errors reach the user as one line with the path or address and a fix', () => {
  it('says the folder of --output does not exist', async () => {
    const target = path.join(dir, 'missing-folder', 'report.sarif')
    const text = await runCli(['audit', 'stacks', '--env', 'dev', '--work-dir', dir, '--format', 'sarif', '--output', target])
    // A path on the command line that names nothing usable is the line's mistake (exit 2).
    expect(text.exitCode).toBe(2)
    expect(text.stderr.trim()).toBe(`Error: no such file or folder: ${target}: check the path; a file can only be written into a folder that exists`)
    const json = await runCli(['audit', 'stacks', '--env', 'dev', '--work-dir', dir, '--output', target, '--json'])
    expect(JSON.parse(json.stdout)).toEqual({
      error: {code: 'FILE_ENOENT', message: `no such file or folder: ${target}`, fix: 'check the path; a file can only be written into a folder that exists', details: null},
    })
  })

  it('says permission is denied, with the path (a file even root may not write)', async () => {
    const readOnly = '/proc/sys/kernel/ostype'
    const result = await runCli(['audit', 'stacks', '--env', 'dev', '--work-dir', dir, '--output', readOnly, '--json'])
    expect(result.exitCode).toBe(2)
    expect(JSON.parse(result.stdout).error).toEqual({code: 'FILE_EACCES', message: `permission denied on ${readOnly}`, fix: 'check its owner and mode, or choose a path you can use', details: null})
  })

  it('says a folder given as --file holds nothing to read, with its path (exit 2: unreadable input, not findings)', async () => {
    // audit stacks reads folders of .tf files; one with none is refused, never audited as empty.
    const result = await runCli(['audit', 'stacks', '--file', dir])
    expect(result.exitCode).toBe(2)
    expect(result.stderr.trim()).toBe(`Error: ${dir} holds no Terraform configuration (no .tf or .tf.json file): pass the folder of the root module, a .tf file, or a plan from \`terraform show -json\``)
    const flow = await runCli(['audit', 'flow-logs', '--file', dir, '--json'])
    expect(flow.exitCode).toBe(2)
    expect(JSON.parse(flow.stdout).error).toMatchObject({code: 'FILE_NOT_FOUND', message: `${dir} holds no flow log file (.log or .log.gz at any depth)`})
  })

  it('a session or tunnel without --reason and without a terminal is a usage error (exit 2), before any AWS call', async () => {
    for (const args of [['tunnel', 'db', '--env', 'dev'], ['session', 'bastion', '--env', 'dev']]) {
      const result = await runCli([...args, '--json'])
      expect(result.exitCode, args.join(' ')).toBe(2)
      expect(JSON.parse(result.stdout).error).toMatchObject({code: 'REASON_REQUIRED', fix: expect.stringContaining('--reason')})
    }
    const blank = await runCli(['tunnel', 'db', '--env', 'dev', '--reason', '   '])
    expect(blank.exitCode).toBe(2)
    expect(blank.stderr.trim()).toBe('Error: a session needs a reason: pass --reason "what you are doing" (it is recorded in CloudTrail)')
  })

  describe('an endpoint that is not AWS', () => {
    let server: http.Server
    let url: string
    beforeAll(async () => {
      // Answers every request as a web server that is not AWS would: a 404 page.
      server = http.createServer((_, response) => response.writeHead(404, {'content-type': 'text/html'}).end('<html><body>Not Found</body></html>'))
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    })
    afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())))

    it('names the endpoint and how to point it elsewhere', async () => {
      const result = await runCli(['audit', 'flow-logs', '--env', 'dev', '--json'], {env: {AWS_ENDPOINT_URL: url, AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE', AWS_SECRET_ACCESS_KEY: 'example', AWS_PROFILE: ''}})
      expect(result.exitCode).toBe(1)
      const {error} = JSON.parse(result.stdout)
      expect(error.code).toBe('AWS_ENDPOINT_NOT_AWS')
      expect(error.message).toContain(`the AWS endpoint ${url} did not answer as AWS STS does`)
      expect(error.fix).toContain('AWS_ENDPOINT_URL')
    })
  })

  it('Ctrl-C at a prompt exits 130 with one line, no ExitPromptError', async () => {
    const result = await inTerminal(['provision', '--dry-run', '--no-validate', '--work-dir', dir], (output) => (output.includes('?') ? '\u0003' : undefined))
    expect(result.exitCode).toBe(130)
    expect(result.output).toContain('Error: cancelled at the prompt (Ctrl-C)')
    expect(result.output).not.toMatch(/ExitPromptError|at .*\.js:\d+/)
  }, 30_000)

  it('maps real Node errors: a missing file, a refused connection, an unknown host', async () => {
    const missing = path.join(dir, 'nope.json')
    expect(catchError(() => readFileSync(missing))?.oneLine()).toBe(`no such file or folder: ${missing}: check the path; a file can only be written into a folder that exists`)
    // fetch wraps the socket's error in `cause`.
    const port = await closedPort()
    const refused = await fetch(`http://127.0.0.1:${port}/`).catch((error: unknown) => error)
    expect(fromSystemError(refused)?.message).toBe(`cannot connect to 127.0.0.1:${port}: connection refused`)
    const notFound = await fetch('http://no-such-host.invalid/').catch((error: unknown) => error)
    expect(fromSystemError(notFound)?.message).toMatch(/^cannot resolve no-such-host\.invalid/)
    expect(fromSystemError(new Error('a bug'))).toBeUndefined()
  })
})

function catchError(action: () => unknown) {
  try {
    action()
  } catch (error) {
    return fromSystemError(error)
  }
  return undefined
}

/** A loopback port nothing listens on: one the system just gave out and took back. */
async function closedPort(): Promise<number> {
  const server = http.createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const {port} = server.address() as AddressInfo
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}
