import {mkdtempSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import {describe, expect, it} from 'vitest'

import {runCli} from '../support/cli.js'
import {type TerminalAnswer, type TerminalRun, inTerminal as inTerminalPty, stripAnsi} from '../support/pty.js'

/**
 * The built CLI as a person meets it: a real pseudo-terminal of a given width. Colour and width
 * come from the terminal (process.stdout), so only a pseudo-terminal can show them. No AWS
 * credentials: nothing here calls AWS.
 */
function inTerminal(args: string[], options: {cols?: number; env?: Record<string, string>; keys?: TerminalAnswer[]} = {}): Promise<TerminalRun> {
  const env = {AWS_EC2_METADATA_DISABLED: 'true', AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '', ...options.env}
  return inTerminalPty(args, {cols: options.cols ?? 100, rows: 40, env, answers: options.keys, timeoutMs: 60_000})
}

const lineWidths = (text: string) => stripAnsi(text).split(/\r?\n/).map((line) => [...line].length)

describe('output at a terminal', () => {
  it('fits every table to a 100-column terminal and colours severities; --wide and a pipe show every cell whole', async () => {
    const narrow = await inTerminal(['audit', 'rules'], {cols: 100})
    expect(narrow.exitCode).toBe(0)
    expect(Math.max(...lineWidths(narrow.output))).toBeLessThanOrEqual(100)
    expect(narrow.output).toContain('\u001B[31mhigh')
    expect(narrow.output).toMatch(/--wide shows all/)

    const env = await inTerminal(['env', 'list'], {cols: 100})
    expect(Math.max(...lineWidths(env.output))).toBeLessThanOrEqual(100)
    expect(stripAnsi(env.output)).toContain('111111111111')

    const wide = await inTerminal(['audit', 'rules', '--wide'], {cols: 100})
    expect(Math.max(...lineWidths(wide.output))).toBeGreaterThan(100)

    const piped = await runCli(['audit', 'rules'])
    expect(piped.stdout).not.toContain('\u001B[')
    expect(Math.max(...lineWidths(piped.stdout))).toBeGreaterThan(100)
  })

  it('has no colour with NO_COLOR or --no-color', async () => {
    for (const run of [inTerminal(['audit', 'rules'], {env: {NO_COLOR: '1'}}), inTerminal(['audit', 'rules', '--no-color'])]) {
      const {output, exitCode} = await run
      expect(exitCode).toBe(0)
      expect(output).not.toMatch(/\u001B\[(1|2|3\d)m/)
    }
  })

  it('offers the estate\'s environments as a picker when --env is missing, and takes the one chosen', async () => {
    // --no-validate: what is under test is the picker, not terraform (test/provision runs that).
    const work = mkdtempSync(path.join(os.tmpdir(), 'infra-picker-'))
    const picked = await inTerminal(['provision', '--dry-run', '--no-validate', '--work-dir', work], {keys: [{after: /Environment:/, send: '\u001B[B'}, {after: /❯ test/, send: '\r'}]})
    const screen = stripAnsi(picked.output)
    expect(screen).toMatch(/dev\s+111111111111 eu-west-1/)
    expect(screen).toMatch(/prod\s+333333333333 eu-west-1 \(protected\)/)
    // The dry run then synthesizes the chosen environment.
    expect(screen).toMatch(/\btest\b.*222222222222|222222222222.*\btest\b/s)
  })
})

describe('log lines at a terminal', () => {
  it('logs --file shows readable lines at a terminal and JSON when piped', async () => {
    const {writeFileSync} = await import('node:fs')
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'infra-log-lines-')), 'service.log')
    const job = '0b7c2f7e-1111-4222-8333-444455556666'
    writeFileSync(
      file,
      [
        {level: 30, time: Date.UTC(2026, 11, 7, 9, 30, 0), pid: 7, hostname: 'pod-a', jobId: job, attempt: 1, msg: 'job claimed'},
        {level: 50, time: Date.UTC(2026, 11, 7, 9, 30, 2), pid: 7, hostname: 'pod-a', jobId: job, err: 'source timed out', msg: 'job failed'},
      ]
        .map((line) => JSON.stringify(line))
        .join('\n') + '\n',
    )
    const shown = stripAnsi((await inTerminal(['logs', '--file', file, '--job', job])).output)
    expect(shown).toMatch(/INFO.*job claimed/)
    expect(shown).toMatch(/ERROR.*job failed/)
    expect(shown).not.toContain('"level":30')
    const piped = await runCli(['logs', '--file', file, '--job', job])
    expect(piped.stdout.trim().split('\n').map((line) => JSON.parse(line).msg)).toEqual(['job claimed', 'job failed'])
  })
})
