import {mkdirSync, mkdtempSync, symlinkSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import {describe, expect, it} from 'vitest'

import {expandFiles} from '../../src/flowlogs/sources.js'

describe('expandFiles', () => {
  // An S3 download of flow logs, as `aws s3 sync` lays it out, with the debris a real folder has.
  const root = mkdtempSync(path.join(os.tmpdir(), 'infra-globs-'))
  const day = path.join(root, 'AWSLogs/111111111111/vpcflowlogs/eu-west-1/2026/11/30')
  mkdirSync(day, {recursive: true})
  mkdirSync(path.join(root, 'AWSLogs/111111111111/vpcflowlogs/eu-west-1/2026/11/29'), {recursive: true})
  const files = ['a.log.gz', 'b.log.gz', 'notes.txt'].map((name) => path.join(day, name))
  for (const file of files) writeFileSync(file, '')
  writeFileSync(path.join(root, 'AWSLogs/111111111111/vpcflowlogs/eu-west-1/2026/11/29/c.log.gz'), '')
  symlinkSync(path.join(root, 'gone.log.gz'), path.join(day, 'dangling.log.gz'))
  symlinkSync(root, path.join(day, 'loop'))

  it('matches * and ? within one folder name, without reading the folders below', () => {
    expect(expandFiles([path.join(day, '*.log.gz')])).toEqual([files[0], files[1]])
    expect(expandFiles(['?.log.gz'], day)).toEqual([files[0], files[1]])
    // One level: the day folders' files, not anything deeper.
    expect(expandFiles([path.join(root, 'AWSLogs/111111111111/vpcflowlogs/eu-west-1/2026/11/*/*.gz')]).map((file) => path.basename(file))).toEqual(['c.log.gz', 'a.log.gz', 'b.log.gz'])
    expect(() => expandFiles([path.join(root, 'AWSLogs/*.gz')])).toThrow(/no file matches/)
  })

  it('matches ** at any depth, zero folders included, and does not follow folder links round a loop', () => {
    expect(expandFiles([path.join(root, '**/*.log.gz')]).map((file) => path.basename(file)).sort()).toEqual(['a.log.gz', 'b.log.gz', 'c.log.gz'])
    expect(expandFiles([path.join(day, '**/a.log.gz')])).toEqual([files[0]])
    expect(expandFiles([path.join(root, 'AWSLogs/**')])).toHaveLength(4)
  })

  it('takes a folder as the flow log files below it, at any depth, leaving other files and dangling links out', () => {
    expect(expandFiles([root]).map((file) => path.basename(file))).toEqual(['c.log.gz', 'a.log.gz', 'b.log.gz'])
    expect(expandFiles(['.'], day)).toEqual([files[0], files[1]])
    const empty = mkdtempSync(path.join(os.tmpdir(), 'infra-globs-empty-'))
    writeFileSync(path.join(empty, 'notes.txt'), '')
    expect(() => expandFiles([empty])).toThrow(expect.objectContaining({code: 'FILE_NOT_FOUND', exitCode: 2, message: `${empty} holds no flow log file (.log or .log.gz at any depth)`}))
  })

  it('says a pattern at the root matches nothing instead of walking the machine or tripping on a dangling link', () => {
    const started = performance.now()
    expect(() => expandFiles(['/infra-no-such-flow-logs-*.gz'])).toThrow(expect.objectContaining({code: 'FILE_NOT_FOUND', exitCode: 2}))
    expect(performance.now() - started).toBeLessThan(1000)
    expect(() => expandFiles([path.join(day, 'dangling*')])).toThrow(/no file matches/)
  })

  it('passes plain paths through for the reader to report', () => {
    expect(expandFiles(['x.log'], root)).toEqual([path.join(root, 'x.log')])
  })
})
