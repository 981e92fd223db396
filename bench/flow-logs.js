#!/usr/bin/env node
// `infra audit flow-logs` at its defaults (one worker thread per core) beside `zcat` decompressing
// the same files, in the same run, on two layouts of the input:
//   many:  the generated private-VPC day (bench/flow-logs-day.js; BENCH_DAY_RECORDS, default 4 M)
//          in gzip files of 25,000 records with a header line, the way S3 delivers them;
//   large: BENCH_RECORDS (default 20 M) records in 8 gzip files (bench/flow-logs-data.js).
// Target (issue 26): audit at least as fast as zcat alone on both (ratio = zcat seconds / audit
// seconds >= 1), peak memory < 300 MB at 20 M records. The machine may be shared: each layout is
// measured BENCH_REPEAT times (default 3), zcat and audit alternating, medians compared, and the
// load average printed before and after. The first run writes the files (minutes), later runs reuse
// them. BENCH_LAYOUTS=many (or large) runs one layout only.
import {spawnSync} from 'node:child_process'
import {existsSync, mkdirSync, readdirSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

import {writeFlowLogFile} from './flow-logs-data.js'
import {writeScaledDay} from './flow-logs-day.js'

const bin = fileURLToPath(new URL('../bin/run.js', import.meta.url))
const total = Number(process.env.BENCH_RECORDS ?? 20_000_000)
const dayRecords = Number(process.env.BENCH_DAY_RECORDS ?? 4_000_000)
const repeat = Number(process.env.BENCH_REPEAT ?? 3)
const wanted = (process.env.BENCH_LAYOUTS ?? 'many,large').split(',')

async function manyFiles() {
  const dir = path.join(os.tmpdir(), `infra-flow-day-${dayRecords}`)
  if (!existsSync(path.join(dir, 'done'))) {
    mkdirSync(dir, {recursive: true})
    const {lines, files} = await writeScaledDay(dir, {records: dayRecords})
    writeFileSync(path.join(dir, 'done'), `${lines} ${files.length}\n`)
  }
  return readdirSync(dir).filter((name) => name.endsWith('.log.gz')).map((name) => path.join(dir, name))
}

async function largeFiles() {
  const dir = path.join(os.tmpdir(), `infra-bench-flows-${total}`)
  mkdirSync(dir, {recursive: true})
  const files = Array.from({length: 8}, (_, i) => path.join(dir, `part-${String(i).padStart(4, '0')}.log.gz`))
  for (const [i, file] of files.entries()) if (!existsSync(file)) await writeFlowLogFile(file, Math.ceil(total / 8), i + 1)
  return files
}

function timed(command, args) {
  const started = process.hrtime.bigint()
  const result = spawnSync('/usr/bin/time', ['-f', '%M %U %S', command, ...args], {encoding: 'utf8', maxBuffer: 1 << 28})
  const seconds = Number(process.hrtime.bigint() - started) / 1e9
  if (result.status !== 0 && result.status !== 1 && result.status !== 3) throw new Error(`${command} failed: ${result.stderr}`)
  const [peakKb, user, system] = result.stderr.trim().split('\n').at(-1).split(' ').map(Number)
  return {seconds, peakMb: peakKb / 1024, cpuSeconds: user + system, stdout: result.stdout}
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]
const load = () => os.loadavg().map((n) => n.toFixed(2)).join(' ')

for (const [name, files] of [['many', manyFiles], ['large', largeFiles]].filter(([layout]) => wanted.includes(layout))) {
  const paths = await files()
  const loadBefore = load()
  const zcat = []
  const audit = []
  for (let i = 0; i < repeat; i++) {
    zcat.push(timed('sh', ['-c', `zcat ${paths.join(' ')} > /dev/null`]))
    const run = timed('node', [bin, 'audit', 'flow-logs', '--file', path.join(path.dirname(paths[0]), '*.log.gz'), '--json'])
    const coverage = JSON.parse(run.stdout).records.coverage
    audit.push({...run, lines: coverage.records + coverage.nodata + coverage.skipdata})
  }
  const lines = audit[0].lines
  const z = median(zcat.map((r) => r.seconds))
  const a = median(audit.map((r) => r.seconds))
  console.log(`\n${name}: ${lines.toLocaleString('en')} records in ${paths.length} gzip files; ${os.availableParallelism()} cores, node ${process.version}; load average ${loadBefore} before, ${load()} after`)
  console.log(`zcat alone      ${zcat.map((r) => r.seconds.toFixed(2)).join(' ')} s (median ${z.toFixed(2)} s, cpu ${median(zcat.map((r) => r.cpuSeconds)).toFixed(2)} s)`)
  console.log(`audit flow-logs ${audit.map((r) => r.seconds.toFixed(2)).join(' ')} s (median ${a.toFixed(2)} s, cpu ${median(audit.map((r) => r.cpuSeconds)).toFixed(2)} s, ${(lines / a / 1e6).toFixed(2)} M records/s, peak ${Math.max(...audit.map((r) => r.peakMb)).toFixed(0)} MB)`)
  console.log(`${name}: audit is ${(z / a).toFixed(2)} x zcat (>= 1 is the target; medians of ${repeat} alternating runs)`)
}
