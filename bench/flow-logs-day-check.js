#!/usr/bin/env node
// The generated private-VPC day at full size (4 M records by default, DAY_RECORDS sets it), written
// as S3 delivers it (gzip files of 25,000 records), read by `infra audit flow-logs` at its
// defaults: prints how each kind of evidence placed the public inbound records, what the
// connection table could not hold, and checks that every critical finding names only planted
// interfaces and that every planted violation is found. Exit 1 when either fails.
// The first run writes the files (a few minutes), later runs reuse them.
import {spawnSync} from 'node:child_process'
import {existsSync, mkdirSync, readdirSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

import {PLANTED_FINDINGS, PLANTED_INTERFACES, writeScaledDay} from './flow-logs-day.js'

const records = Number(process.env.DAY_RECORDS ?? 4_000_000)
const dir = path.join(os.tmpdir(), `infra-flow-day-${records}`)
if (!existsSync(path.join(dir, 'done'))) {
  mkdirSync(dir, {recursive: true})
  const {files, lines} = await writeScaledDay(dir, {records})
  writeFileSync(path.join(dir, 'done'), `${lines} ${files.length}\n`)
}
const files = readdirSync(dir).filter((name) => name.endsWith('.log.gz'))
const bin = fileURLToPath(new URL('../bin/run.js', import.meta.url))
const started = Date.now()
const run = spawnSync('node', [bin, 'audit', 'flow-logs', '--file', path.join(dir, '*.log.gz'), '--json'], {encoding: 'utf8', maxBuffer: 1 << 28})
const report = JSON.parse(run.stdout)
const result = report.records
console.log(`${result.coverage.records.toLocaleString('en')} records in ${files.length} gzip files, read in ${((Date.now() - started) / 1000).toFixed(1)} s, exit ${run.status}`)
console.log('direction of public inbound records:', JSON.stringify(result.direction))
const innocent = result.findings.filter((f) => f.severity === 'critical').flatMap((f) => f.interfaces.filter((i) => !PLANTED_INTERFACES.has(i.interfaceId)).map((i) => `${f.id} ${i.interfaceId} (${i.count} records, evidence ${JSON.stringify(f.evidence)})`))
const missed = PLANTED_FINDINGS.filter(([id, eni]) => !result.findings.some((f) => f.id === id && f.interfaces.some((i) => i.interfaceId === eni)))
for (const f of result.findings) console.log(`  ${f.severity.padEnd(8)} ${f.id.padEnd(34)} ${String(f.count).padStart(8)} records  ${JSON.stringify(f.evidence)}  ${f.interfaces.slice(0, 4).map((i) => i.interfaceId).join(' ')}`)
console.log(`innocent interfaces in critical findings: ${innocent.length ? innocent.join('; ') : 'none'}`)
console.log(`planted violations missed: ${missed.length ? missed.map(([id, eni]) => `${id} ${eni}`).join('; ') : 'none'}`)
process.exitCode = innocent.length || missed.length ? 1 : 0
