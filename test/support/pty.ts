import pty from '@lydell/node-pty'

import {BIN} from './cli.js'

/** An answer typed at a terminal: `send` is written once the output so far matches `after`. */
export interface TerminalAnswer {
  after: RegExp
  send: string
}

export interface TerminalOptions {
  cols?: number
  rows?: number
  cwd?: string
  /** Over the process's environment and the terminal defaults below. */
  env?: Record<string, string>
  /** Typed in order, each once, as its prompt shows. */
  answers?: TerminalAnswer[]
  timeoutMs?: number
}

export interface TerminalRun {
  exitCode: number
  /** Everything the terminal showed, escape sequences included. */
  output: string
  /** The output as it stood when each answer was typed: what was on screen before that question. */
  asked: string[]
}

/**
 * The built CLI as a person meets it: a real pseudo-terminal (node-pty), so that colour, width and
 * prompts come from the terminal as they would. CI is empty (a terminal is not CI), a long output
 * goes through PAGER=cat rather than a pager waiting for a key, and colour is decided by the
 * terminal alone unless a test sets NO_COLOR or FORCE_COLOR (an empty FORCE_COLOR still forces, so
 * an inherited one is removed).
 */
export function inTerminal(args: string[], options: TerminalOptions = {}): Promise<TerminalRun> {
  const timeoutMs = options.timeoutMs ?? 120_000
  const env = {...process.env, CI: '', TERM: 'xterm-256color', PAGER: 'cat', ...options.env} as Record<string, string>
  for (const name of ['NO_COLOR', 'FORCE_COLOR']) if (!options.env?.[name]) delete env[name]
  return new Promise((resolve, reject) => {
    const terminal = pty.spawn(process.execPath, [BIN, ...args], {cols: options.cols ?? 100, rows: options.rows ?? 40, cwd: options.cwd, env})
    const answers = [...(options.answers ?? [])]
    const asked: string[] = []
    let output = ''
    const timer = setTimeout(() => {
      terminal.kill()
      reject(new Error(`no exit within ${timeoutMs / 1000} s; output:\n${output}`))
    }, timeoutMs)
    terminal.onData((data) => {
      output += data
      // At most one answer a chunk of output, as a person types once the prompt shows.
      if (answers.length > 0 && answers[0].after.test(output)) {
        asked.push(output)
        terminal.write(answers.shift()!.send)
      }
    })
    terminal.onExit(({exitCode}) => {
      clearTimeout(timer)
      resolve({exitCode, output, asked})
    })
  })
}

/** The text a person reads: colours and cursor movements out. */
export const stripAnsi = (text: string) => text.replace(/\u001B\[[0-9;?]*[A-Za-z]/g, '')
