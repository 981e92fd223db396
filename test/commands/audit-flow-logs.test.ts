import {mkdirSync, mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {gzipSync} from 'node:zlib'

import {describe, expect, it} from 'vitest'

import {runCli} from '../support/cli.js'

const dir = mkdtempSync(path.join(os.tmpdir(), 'infra-flow-cli-'))
const HEADER = 'version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status flow-direction traffic-path pkt-srcaddr pkt-dstaddr pkt-dst-aws-service'
const rec = (eni: string, src: string, dst: string, path: string, start = 1764547200) => `5 111111111111 ${eni} ${src} ${dst} 40000 443 6 5 500 ${start} ${start + 60} ACCEPT OK egress ${path} ${src} ${dst} -`
mkdirSync(path.join(dir, 'clean', '2026', '11'), {recursive: true})
mkdirSync(path.join(dir, 'leaky'), {recursive: true})
for (let i = 0; i < 3; i++) {
  writeFileSync(path.join(dir, 'clean', '2026', '11', `part-${i}.log.gz`), gzipSync(`${HEADER}\n${rec('eni-app', '10.1.1.1', '10.1.2.2', '1', 1764547200 + i * 60)}\n`))
}
writeFileSync(path.join(dir, 'leaky', 'a.log'), `${HEADER}\n${rec('eni-app', '10.1.1.1', '93.184.216.34', '8')}\n`)

describe('infra audit flow-logs on local files', () => {
  it('passes clean files found by a glob, read by worker threads', async () => {
    const result = await runCli(['audit', 'flow-logs', '--file', path.join(dir, 'clean', '**', '*.gz'), '--parallel', '2'])
    expect(result.stderr).toBe('')
    expect(result.exitCode).toBe(0)
    expect(result.stdout).toContain('Records: 3 read from 3 file(s)')
    expect(result.stdout).toContain('PASSED')
  })

  it('fails with exit 1 on internet egress outside NAT, with a stable JSON shape', async () => {
    const result = await runCli(['audit', 'flow-logs', '--file', path.join(dir, 'leaky', 'a.log'), '--json'])
    expect(result.exitCode).toBe(1)
    const report = JSON.parse(result.stdout)
    expect(Object.keys(report)).toEqual(['configuration', 'records', 'sources', 'passed'])
    expect(Object.keys(report.records)).toEqual(['coverage', 'natInterfaces', 'findings', 'rejected', 'topTalkersByBytes', 'topTalkersByPackets', 'topError', 'timeline', 'passed'])
    expect(report.records.findings[0]).toMatchObject({id: 'internet-egress-not-via-nat', severity: 'critical', count: 1})
  })

  it('writes a self-contained HTML report with charts', async () => {
    const out = path.join(dir, 'report.html')
    const result = await runCli(['audit', 'flow-logs', '--file', path.join(dir, 'clean', '**', '*.gz'), '--file', path.join(dir, 'leaky', 'a.log'), '--format', 'html', '--output', out])
    expect(result.exitCode).toBe(1)
    const html = readFileSync(out, 'utf8')
    expect(html).toMatch(/^<!doctype html>/)
    expect(html).toContain('<svg')
    expect(html).toContain('Traffic over time')
    expect(html).toContain('internet gateway')
    expect(html).not.toMatch(/<script|src="http/)
  })

  it('says clearly what is wrong with its input', async () => {
    const none = await runCli(['audit', 'flow-logs', '--file', path.join(dir, 'nothing-*.gz')])
    expect(none.exitCode).toBe(1)
    expect(none.stderr).toContain('no file matches')
    const since = await runCli(['audit', 'flow-logs', '--file', path.join(dir, 'leaky', 'a.log'), '--since', '24h'])
    expect(since.stderr).toContain('--since reads records from S3 and needs --env')
    const format = await runCli(['audit', 'flow-logs', '--file', path.join(dir, 'leaky', 'a.log'), '--log-format', '${version} ${bogus}'])
    expect(format.stderr).toContain('unknown flow log field: bogus')
  })
})
