import {spawn} from 'node:child_process'

import {outputSettings} from './terminal.js'

/**
 * Shows text through a pager when a person reads it at a terminal and it is taller than the
 * screen, as git and terraform's own users expect: $PAGER (run by the shell, as git runs it), else
 * `less -R`; LESS defaults to FRX as in git (quit when it fits, keep colours, leave the text on the
 * screen after quitting, so the plan stays visible above the question that follows). Piped output,
 * PAGER=cat or an empty PAGER, and a pager that cannot start all print the text as it is.
 */
export async function showPaged(text: string, out: NodeJS.WritableStream & {isTTY?: boolean; rows?: number} = process.stdout, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const body = text.endsWith('\n') ? text : `${text}\n`
  const rows = out.isTTY ? out.rows : undefined
  const pager = env.PAGER === undefined ? 'less -R' : env.PAGER.trim()
  if (!rows || body.split('\n').length - 1 <= rows - 1 || pager === '' || pager === 'cat') {
    out.write(body)
    return
  }
  const shown = await new Promise<boolean>((resolve) => {
    const child = spawn('/bin/sh', ['-c', pager], {stdio: ['pipe', 'inherit', 'inherit'], env: {...env, LESS: env.LESS ?? 'FRX'}})
    child.on('error', () => resolve(false))
    child.on('close', (code) => resolve(code === 0))
    // A pager quit early closes its input: what it did not read is not an error.
    child.stdin.on('error', () => undefined)
    child.stdin.end(body)
  })
  if (!shown) out.write(body)
}

/** Colour as every command decides it (--no-color, NO_COLOR, FORCE_COLOR, a terminal): src/output/terminal.ts. */
export function colourOn(): boolean {
  return outputSettings().color
}
