import {describe, expect, it} from 'vitest'

import {CommandOutputFilter, exitCodeOf} from '../../src/ssm/command-status.js'

const ID = 'op-0123456789abcdef0'
/** What session-manager-plugin prints for AWS-StartNonInteractiveCommand with separateOutputStream=true. */
const printed = (output: string, status?: number) =>
  `\nStarting session with SessionId: ${ID}\n${output}${status === undefined ? '' : `EXIT_CODE: ${status}`}\n\nExiting session with sessionId: ${ID}.\n\n`

function run(text: string, cuts: number[]): {output: string; status: number | undefined} {
  const out: Buffer[] = []
  const filter = new CommandOutputFilter(ID, (bytes) => out.push(bytes))
  const bytes = Buffer.from(text)
  let from = 0
  for (const cut of [...cuts, bytes.length]) {
    filter.push(bytes.subarray(from, cut))
    from = cut
  }
  const status = filter.end()
  return {output: Buffer.concat(out).toString(), status}
}

describe('the remote status from the plugin\'s output', () => {
  const cases: [string, string, number | undefined][] = [
    ['lines', 'one\ntwo\n', 0],
    ['no final newline', 'partial', 3],
    ['nothing printed', '', 7],
    ['a signal (-1)', 'killed\n', -1],
    ['text that looks like the ending', 'EXIT_CODE: 9 is what I print\n\nExiting session soon\n', 2],
    ['multi-byte characters', 'naïve – café ✓\n', 0],
    ['an agent older than 3.1.1511.0', 'out\n', undefined],
  ]
  it.each(cases)('%s: output relayed without the banners, status read, wherever the chunks split', (_name, output, status) => {
    const text = printed(output, status)
    for (let cut = 0; cut <= Buffer.byteLength(text); cut++) {
      expect(run(text, [cut]), `cut at ${cut}`).toEqual({output, status})
    }
    // One byte at a time.
    expect(run(text, [...Array(Buffer.byteLength(text)).keys()])).toEqual({output, status})
  })

  it('relays output as it comes, holding back only what could be the ending', () => {
    const out: string[] = []
    const filter = new CommandOutputFilter(ID, (bytes) => out.push(bytes.toString()))
    filter.push(Buffer.from(`\nStarting session with SessionId: ${ID}\nprogress 1\nprogress 2\nEXIT_`))
    expect(out.join('')).toBe('progress 1\nprogress 2\n')
    filter.push(Buffer.from('CODE: 0\n\nExiting session with sessionId: '))
    expect(out.join('')).toBe('progress 1\nprogress 2\n')
    filter.push(Buffer.from(`${ID}.\n\n`))
    expect(filter.end()).toBe(0)
    expect(out.join('')).toBe('progress 1\nprogress 2\n')
  })

  it('maps the agent\'s -1 (killed by a signal) and out-of-range values to 1', () => {
    expect([0, 7, 255, -1, 256].map(exitCodeOf)).toEqual([0, 7, 255, 1, 1])
  })
})
