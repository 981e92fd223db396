#!/usr/bin/env node
// Flow log analysis throughput and memory, beside `zcat` decompressing the same files in the
// same run, on two layouts of the input:
//   large: 20 M records in 8 gzip files (BENCH_RECORDS sets the total);
//   many:  120 gzip files of 40,000 records (BENCH_MANY_FILES, BENCH_MANY_RECORDS), the way S3
//          delivers them: one object per five-minute window per account and region.
// Targets (issues: audit flow-logs, many files): >= 1.5 M records/s on one core with every finding
// computed; with both cores, faster than zcat alone on either layout; peak memory < 300 MB.
// --parallel 1 is one analysis thread; zlib inflates beside it on libuv's pool, so it can use more
// than one core: the CPU-seconds column says how much. The first run writes the files (a minute or
// two), later runs reuse them. BENCH_LAYOUTS=many (or large) runs one layout only.
import {spawnSync} from 'node:child_process'
import {existsSync, mkdirSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

import {writeFlowLogFile} from './flow-logs-data.js'

const bin = fileURLToPath(new URL('../bin/run.js', import.meta.url))
const total = Number(process.env.BENCH_RECORDS ?? 20_000_000)
const manyFiles = Number(process.env.BENCH_MANY_FILES ?? 120)
const manyRecords = Number(process.env.BENCH_MANY_RECORDS ?? 40_000)
const layouts = [
  {name: 'large', files: 8, perFile: Math.ceil(total / 8), dir: `infra-bench-flows-${total}`},
  {name: 'many', files: manyFiles, perFile: manyRecords, dir: `infra-bench-flows-${manyFiles}x${manyRecords}`},
].filter((layout) => (process.env.BENCH_LAYOUTS ?? 'large,many').split(',').includes(layout.name))

function timed(command, args) {
  const started = process.hrtime.bigint()
  const result = spawnSync('/usr/bin/time', ['-f', '%M %U %S', command, ...args], {encoding: 'utf8', maxBuffer: 1 << 28})
  const seconds = Number(process.hrtime.bigint() - started) / 1e9
  if (result.status !== 0 && result.status !== 1 && result.status !== 3) throw new Error(`${command} failed: ${result.stderr}`)
  const [peakKb, user, system] = result.stderr.trim().split('\n').at(-1).split(' ').map(Number)
  return {seconds, peakMb: peakKb / 1024, cpuSeconds: user + system, stdout: result.stdout}
}

// CPU seconds count every thread (zlib inflates on its own): records per CPU second is the per-core rate.
const row = (name, r, extra = '') =>
  console.log(`${name.padEnd(34)} ${r.seconds.toFixed(2).padStart(7)} s ${(r.lines / r.seconds / 1e6).toFixed(2).padStart(6)} M records/s  cpu ${r.cpuSeconds.toFixed(2).padStart(5)} s = ${(r.lines / r.cpuSeconds / 1e6).toFixed(2)} M/cpu-s  peak ${r.peakMb.toFixed(0).padStart(4)} MB${extra}`)

for (const layout of layouts) {
  const dir = path.join(os.tmpdir(), layout.dir)
  mkdirSync(dir, {recursive: true})
  const paths = Array.from({length: layout.files}, (_, i) => path.join(dir, `part-${String(i).padStart(4, '0')}.log.gz`))
  for (const [i, file] of paths.entries()) if (!existsSync(file)) await writeFlowLogFile(file, layout.perFile, i + 1)

  const zcat = timed('sh', ['-c', `zcat ${paths.join(' ')} > /dev/null`])
  const run = (parallel) => {
    const result = timed('node', [bin, 'audit', 'flow-logs', '--file', path.join(dir, '*.log.gz'), '--parallel', String(parallel), '--json'])
    const report = JSON.parse(result.stdout)
    const lines = report.records.coverage.records + report.records.coverage.nodata + report.records.coverage.skipdata
    return {...result, lines, rate: lines / result.seconds}
  }
  const one = run(1)
  const two = run(2)
  const zcatRate = one.lines / zcat.seconds
  console.log(`\n${layout.name}: ${one.lines.toLocaleString('en')} records in ${layout.files} gzip files, ${os.cpus().length} cores, node ${process.version}`)
  row('zcat (decompress only, baseline)', {...zcat, lines: one.lines})
  row('infra audit flow-logs --parallel 1', one, `  = ${(one.rate / 1.5e6).toFixed(2)} x target 1.5 M/s, ${(one.rate / zcatRate).toFixed(2)} x zcat`)
  row('infra audit flow-logs --parallel 2', two, `  = ${(two.rate / zcatRate).toFixed(2)} x zcat`)
  console.log(`peak memory ${Math.max(one.peakMb, two.peakMb).toFixed(0)} MB (target < 300 MB)`)
}
