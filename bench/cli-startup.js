#!/usr/bin/env node
// Wall-clock benchmarks of the CLI, each beside `aws --version` measured in the same run, so the
// ratio holds on any machine. Targets (issue: provision): synth of one environment under 1 s;
// `infra --help` under half the time of `aws --version`.
import {execFileSync, spawnSync} from 'node:child_process'
import {mkdtempSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

const bin = fileURLToPath(new URL('../bin/run.js', import.meta.url))
const runs = Number(process.env.BENCH_RUNS ?? 7)
const work = mkdtempSync(path.join(os.tmpdir(), 'infra-bench-'))

function median(command, args, env = {}) {
  const times = []
  for (let i = 0; i < runs; i++) {
    const started = process.hrtime.bigint()
    const result = spawnSync(command, args, {stdio: ['ignore', 'pipe', 'pipe'], env: {...process.env, ...env}})
    if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed: ${result.stderr}`)
    times.push(Number(process.hrtime.bigint() - started) / 1e6)
  }
  times.sort((a, b) => a - b)
  return times[Math.floor(times.length / 2)]
}

let awsMs
try {
  execFileSync('aws', ['--version'], {stdio: 'ignore'})
  awsMs = median('aws', ['--version'])
} catch {
  console.log('aws CLI not found: ratios against it are skipped')
}
const helpMs = median('node', [bin, '--help'])
const dryRunMs = median('node', [bin, 'provision', '--env', 'dev', '--dry-run', '--no-validate', '--json', '--work-dir', work])
const synthMs = JSON.parse(execFileSync('node', [bin, 'provision', '--env', 'dev', '--dry-run', '--no-validate', '--json', '--work-dir', work], {encoding: 'utf8'})).synthMs

const row = (name, ms, target) => {
  const ratio = awsMs ? ` = ${(ms / awsMs).toFixed(2)} x aws --version` : ''
  console.log(`${name.padEnd(52)} ${ms.toFixed(0).padStart(6)} ms${ratio}${target ? `   (target: ${target})` : ''}`)
}
console.log(`median of ${runs} runs, ${os.cpus().length} cores, node ${process.version}`)
if (awsMs) row('aws --version (baseline)', awsMs)
row('infra --help', helpMs, '< 0.5 x aws --version')
row('infra provision --env dev --dry-run --no-validate', dryRunMs, 'whole command, synth included')
row('  of which in-process synth (reported by infra)', synthMs, '< 1000 ms')
if (awsMs && helpMs / awsMs >= 0.5) process.exitCode = 1
if (synthMs >= 1000) process.exitCode = 1
