import {fileURLToPath} from 'node:url'

import {execa} from 'execa'

export const BIN = fileURLToPath(new URL('../../bin/run.js', import.meta.url))

export interface CliResult {
  exitCode: number
  stdout: string
  stderr: string
}

/** Runs the built CLI as a user would: a child process, no TTY, and only the environment given. */
export async function runCli(args: string[], options: {env?: Record<string, string | undefined>; cwd?: string; timeoutMs?: number} = {}): Promise<CliResult> {
  const result = await execa('node', [BIN, ...args], {
    reject: false,
    cwd: options.cwd,
    env: {CI: '', ...options.env},
    extendEnv: true,
    stdin: 'ignore',
    timeout: options.timeoutMs ?? 120_000,
  })
  return {exitCode: result.exitCode ?? -1, stdout: String(result.stdout), stderr: String(result.stderr)}
}
