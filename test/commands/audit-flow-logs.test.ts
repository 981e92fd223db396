import {mkdirSync, mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {gzipSync} from 'node:zlib'

import {describe, expect, it} from 'vitest'

import {runCli} from '../support/cli.js'
import {HEADER as DAY_HEADER, NAT, privateVpcDay} from '../flowlogs/private-vpc-day.js'

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
    expect(Object.keys(report)).toEqual(['configuration', 'records', 'sources', 'verdict', 'passed'])
    expect(Object.keys(report.records)).toEqual(['coverage', 'natInterfaces', 'findings', 'rejected', 'topTalkersByBytes', 'topTalkersByPackets', 'topError', 'timeline', 'checks', 'direction', 'warnings', 'verdict', 'unproven', 'passed'])
    expect(Object.keys(report.records.direction)).toEqual(['records', 'placedBy', 'decidedWithoutWaiting', 'connections'])
    expect(report.records.findings[0]).toMatchObject({id: 'internet-egress-not-via-nat', severity: 'critical', count: 1, evidence: {'traffic-path': 1}, confidence: 'high'})
    expect(report.sources.inputs).toEqual([path.join(dir, 'leaky', 'a.log')])
    expect(report.verdict).toBe('failed')
  })

  it('writes a self-contained HTML report: verdict, time range, inputs, finding ids, and no false drop in the last minute', async () => {
    // Ten full minutes of 20 records, then the minute the input stops in, with 1.
    const minutes = Array.from({length: 10}, (_, m) => Array.from({length: 20}, (_, k) => rec('eni-app', '10.1.1.1', `10.1.2.${k + 2}`, '1', 1764547200 + m * 60 + k)))
    writeFileSync(path.join(dir, 'steady.log'), `${[HEADER, ...minutes.flat(), rec('eni-app', '10.1.1.1', '10.1.2.2', '1', 1764547200 + 600)].join('\n')}\n`)
    const out = path.join(dir, 'report.html')
    const result = await runCli(['audit', 'flow-logs', '--file', path.join(dir, 'steady.log'), '--file', path.join(dir, 'leaky', 'a.log'), '--format', 'html', '--output', out])
    expect(result.exitCode).toBe(1)
    expect(result.stdout).toContain(`FAILED: report written to ${out}`)
    const html = readFileSync(out, 'utf8')
    expect(html).toMatch(/^<!doctype html>/)
    expect(html).toContain('FAILED: the isolation promise is broken')
    expect(html).toContain('Time range: <strong>2025-12-01T00:00:00Z to 2025-12-01T00:11:00Z</strong>')
    expect(html).toContain(`<code>${path.join(dir, 'steady.log')}</code>`)
    expect(html).toContain(`<code>${path.join(dir, 'leaky', 'a.log')}</code>`)
    expect(html).toContain('<code>internet-egress-not-via-nat</code>')
    expect(html).toContain('traffic-path 1 (high)')
    // The line ends at the last whole minute, every point near the top (20 or 21 records a minute:
    // y = 190 - n/21 * 170 <= 29); the partial minute (1 record, y = 182) is a point apart.
    const line = /<path d="([^"]+)" class="line"/.exec(html)![1].split(' ')
    expect(line).toHaveLength(10)
    expect(line.map((point) => Number(point.split(',')[1])).every((y) => y <= 29)).toBe(true)
    expect(html).toMatch(/<circle cx="990" cy="181\.9\d*" r="4" class="partial">/)
    expect(html).toContain('last minute partial: 1 records, not on the line')
    expect(html).not.toMatch(/<script|src="http/)
  })

  it('never passes on what cannot support a pass: UNPROVEN, exit 3, naming the missing fields and the format to use', async () => {
    writeFileSync(path.join(dir, 'empty.log'), '')
    writeFileSync(path.join(dir, 'garbage.log'), Array.from({length: 53}, (_, i) => `not a flow log line ${i}`).join('\n'))
    // The default version 2 format, private traffic only: nothing wrong in it, and no traffic-path to tell egress by.
    writeFileSync(path.join(dir, 'v2.log'), '2 111111111111 eni-0a1 10.1.1.5 10.1.2.9 49152 5432 6 10 8400 1764547200 1764547260 ACCEPT OK\n')
    const empty = await runCli(['audit', 'flow-logs', '--file', path.join(dir, 'empty.log')])
    expect(empty.exitCode).toBe(3)
    expect(empty.stdout).toContain('UNPROVEN: what was read cannot show that the isolation promise holds.')
    expect(empty.stdout).toContain('- no flow log record was read')
    expect(empty.stdout).not.toContain('PASSED')
    const garbage = await runCli(['audit', 'flow-logs', '--file', path.join(dir, 'garbage.log'), '--json'])
    expect(garbage.exitCode).toBe(3)
    const garbageReport = JSON.parse(garbage.stdout)
    expect(garbageReport).toMatchObject({verdict: 'unproven', passed: false, records: {coverage: {records: 0, malformed: 53}}})
    expect(garbageReport.records.unproven.reasons[0]).toBe('no flow log record was read (only 53 malformed line(s))')
    const v2 = await runCli(['audit', 'flow-logs', '--file', path.join(dir, 'v2.log'), '--json'])
    expect(v2.exitCode).toBe(3)
    const v2Report = JSON.parse(v2.stdout)
    expect(v2Report.verdict).toBe('unproven')
    expect(v2Report.records.unproven.missingFields).toEqual(['traffic-path'])
    expect(v2Report.records.unproven.logFormat).toMatch(/^\$\{version\} .*\$\{tcp-flags\}.*\$\{traffic-path\}$/)
    const text = await runCli(['audit', 'flow-logs', '--file', path.join(dir, 'v2.log')])
    expect(text.exitCode).toBe(3)
    expect(text.stdout).toContain('the internet-egress check could not run on 1 record(s): their format lacks traffic-path (version 5)')
    expect(text.stdout).toContain('fix: deliver flow logs in a custom format with every field through version 5')
  })

  it('follows a connection across files read by different workers (the published TCP flag sequence)', async () => {
    const fixtures = path.join(import.meta.dirname, '..', 'flowlogs', 'fixtures', 'aws-vpc-user-guide')
    const format = JSON.parse(readFileSync(path.join(fixtures, 'formats.json'), 'utf8'))['tcp-flag-sequence.log']
    const published = readFileSync(path.join(fixtures, 'tcp-flag-sequence.log'), 'utf8').trim().split('\n')
    mkdirSync(path.join(dir, 'tcp'), {recursive: true})
    // The first window's four records in one file, the rest in the next: each worker reads one.
    writeFileSync(path.join(dir, 'tcp', '1.log'), `${published.slice(0, 4).join('\n')}\n`)
    writeFileSync(path.join(dir, 'tcp', '2.log'), `${published.slice(4).join('\n')}\n`)
    const result = await runCli(['audit', 'flow-logs', '--file', path.join(dir, 'tcp', '*.log'), '--log-format', format, '--parallel', '2', '--json'])
    expect(result.exitCode).toBe(1)
    const report = JSON.parse(result.stdout)
    expect(report.records.findings.map((f: {id: string; count: number; evidence: object}) => [f.id, f.count, f.evidence])).toEqual([['public-inbound-accepted', 4, {'tcp-flags': 3, pairing: 1}]])
  })

  it('finds only the planted violations in a generated day read as hourly gzip files by two workers, with the NAT gateway given', async () => {
    const lines = privateVpcDay()
    mkdirSync(path.join(dir, 'day'), {recursive: true})
    for (let hour = 0; hour < 24; hour++) {
      // Long flows still running at midnight go to the last hour's file.
      const mine = lines.filter((line) => Math.min(23, Math.floor((Number(line.split(' ', 11)[10]) - 1764547200) / 3600)) === hour)
      writeFileSync(path.join(dir, 'day', `h${String(hour).padStart(2, '0')}.log.gz`), gzipSync(`${[DAY_HEADER, ...mine].join('\n')}\n`))
    }
    const result = await runCli(['audit', 'flow-logs', '--file', path.join(dir, 'day', '*.gz'), '--nat-eni', NAT.eni, '--parallel', '2', '--json'])
    expect(result.exitCode).toBe(1)
    const report = JSON.parse(result.stdout)
    expect(report.records.coverage.records).toBe(lines.length)
    expect(report.records.natInterfaces).toEqual([{interfaceId: NAT.eni, source: 'flag'}])
    expect(report.records.findings.map((f: {id: string; interfaces: {interfaceId: string}[]}) => [f.id, f.interfaces.map((i) => i.interfaceId)])).toEqual([
      ['internet-egress-not-via-nat', ['eni-0web', 'eni-0leaky', 'eni-0nati']],
      ['public-inbound-accepted', ['eni-0web']],
      ['unapproved-exit', ['eni-0nati']],
      ['ssh-rdp-accepted', ['eni-0w2']],
      ['aws-service-via-nat', [NAT.eni]],
      ['nat-gateway-probed', [NAT.eni]],
      ['ssh-rdp-attempted', [NAT.eni]],
    ])
  })

  it('says clearly what is wrong with its input', async () => {
    const none = await runCli(['audit', 'flow-logs', '--file', path.join(dir, 'nothing-*.gz')])
    expect(none.exitCode).toBe(2)
    expect(none.stderr).toContain('no file matches')
    const since = await runCli(['audit', 'flow-logs', '--file', path.join(dir, 'leaky', 'a.log'), '--since', '24h'])
    expect(since.exitCode).toBe(2)
    expect(since.stderr).toContain('--since reads records from S3 and needs --env')
    const format = await runCli(['audit', 'flow-logs', '--file', path.join(dir, 'leaky', 'a.log'), '--log-format', '${version} ${bogus}'])
    expect(format.stderr).toContain('unknown flow log field: bogus')
  })

  it('refuses a NAT gateway id for --nat-eni (records name its interface), exit 2, saying how to find the interface', async () => {
    const result = await runCli(['audit', 'flow-logs', '--file', path.join(dir, 'leaky', 'a.log'), '--nat-eni', 'nat-0123456789abcdef0'])
    expect(result.exitCode).toBe(2)
    expect(result.stdout).toBe('')
    expect(result.stderr).toContain('--nat-eni nat-0123456789abcdef0 is not a network interface id')
    expect(result.stderr).toContain('aws ec2 describe-nat-gateways --nat-gateway-ids nat-0123456789abcdef0')
  })

  it('warns when a NAT interface named with --nat-eni appears in no record', async () => {
    const json = await runCli(['audit', 'flow-logs', '--file', path.join(dir, 'clean', '**', '*.gz'), '--nat-eni', 'eni-0typo', '--json'])
    const report = JSON.parse(json.stdout)
    expect(report.records.warnings).toEqual([expect.stringContaining('NAT gateway interface eni-0typo (from --nat-eni) appears in no record read')])
    const table = await runCli(['audit', 'flow-logs', '--file', path.join(dir, 'clean', '**', '*.gz'), '--nat-eni', 'eni-0typo', '--nat-eni', 'eni-app'])
    expect(table.stdout).toContain('WARNING: NAT gateway interface eni-0typo (from --nat-eni) appears in no record read')
    expect(table.stdout).not.toContain('eni-app (from --nat-eni) appears')
  })

  it('says a header-less file has more fields than the assumed format and names --log-format; checks on no record are not run', async () => {
    // What a custom-format flow log's CloudWatch export or a header-stripped S3 file looks like.
    const file = path.join(dir, 'no-header.log')
    writeFileSync(file, `${privateVpcDay().slice(0, 9).join('\n')}\n`)
    const result = await runCli(['audit', 'flow-logs', '--file', file, '--json'])
    expect(result.exitCode).toBe(3)
    const records = JSON.parse(result.stdout).records
    expect(records.coverage).toMatchObject({records: 0, malformed: 9})
    expect(records.checks.map((check: {status: string}) => check.status)).toEqual(['not-run', 'not-run', 'not-run', 'not-run', 'not-run'])
    expect(records.unproven.reasons).toContain("9 line(s) have more fields (up to 29) than the format read (14; without a header line that is the default version 2 format): if the files have no header line, pass --log-format with the flow log's LogFormat (aws ec2 describe-flow-logs --query 'FlowLogs[].LogFormat')")
    const table = await runCli(['audit', 'flow-logs', '--file', file])
    expect(table.stdout).toContain('internet-egress not run (no record)')
    expect(table.stdout).toContain("fix: pass --log-format with the flow log's LogFormat")
    // With the format given, the same lines are records.
    const given = await runCli(['audit', 'flow-logs', '--file', file, '--log-format', DAY_HEADER, '--json'])
    expect(JSON.parse(given.stdout).records.coverage).toMatchObject({records: 9, malformed: 0})
  })
})
