import {describe, expect, it} from 'vitest'

import {type AnalysisResult, FlowAnalyzer} from '../../src/flowlogs/analyzer.js'
import {FlowLineParser} from '../../src/flowlogs/record.js'
// @ts-expect-error: a JavaScript module shared with the bench, without type declarations
import {DAY_FIELDS, PLANTED_FINDINGS, PLANTED_INTERFACES, scaledDay} from '../../bench/flow-logs-day.js'

/**
 * Reads a generated day the way `audit flow-logs` reads S3's delivery files: files of `perFile`
 * records dealt to `workers` analyzers in contiguous runs (as the CLI deals files to worker threads), each
 * handing its state over to be merged, with nothing told about the NAT gateway.
 */
async function analyzeDay(options: {records: number; seed: number; plant: boolean; workloads?: number}, workers = 2, perFile = 25_000): Promise<AnalysisResult> {
  const parser = new FlowLineParser(DAY_FIELDS.split(' '))
  const analyzers = Array.from({length: workers}, () => new FlowAnalyzer())
  let file: string[] = []
  let files = 0
  const flush = () => {
    if (file.length === 0) return
    const buf = Buffer.from(`${file.join('\n')}\n`, 'latin1')
    // Contiguous runs of files per worker, as the CLI deals them (the day's size is approximate).
    parser.scanLines(buf, 0, buf.length, analyzers[Math.min(workers - 1, Math.floor((files++ * workers) / Math.ceil(options.records / perFile)))])
    file = []
  }
  for (const minute of scaledDay(options) as Iterable<string[]>) {
    for (const line of minute) {
      file.push(line)
      if (file.length >= perFile) {
        flush()
        // Let the test runner's messages through between files.
        await new Promise(setImmediate)
      }
    }
  }
  flush()
  const merged = new FlowAnalyzer()
  for (const analyzer of analyzers) merged.merge(structuredClone(analyzer.serialize()))
  return merged.result()
}

const criticalInterfaces = (result: AnalysisResult) => result.findings.filter((f) => f.severity === 'critical').flatMap((f) => f.interfaces.map((i) => i.interfaceId))

describe('a day of a private VPC at scale, with long flows, NAT replies and many short connections', () => {
  it('names no innocent interface in any critical finding, and finds every planted violation', {timeout: 240_000}, async () => {
    const result = await analyzeDay({records: 1_000_000, seed: 11, plant: true})
    expect(result.coverage.records).toBeGreaterThan(950_000)
    expect(result.coverage.malformed).toBe(0)
    // Every kind of evidence is at work: flags, pairing (long flows' later windows, across files
    // and workers), the port rule (UDP answers); each record placed once.
    const placed = result.direction.placedBy
    expect(Math.min(placed['tcp-flags'], placed.pairing, placed['port-rule']), JSON.stringify(result.direction)).toBeGreaterThan(1000)
    expect(placed['tcp-flags'] + placed.pairing + placed['port-rule'] + placed.none).toBe(result.direction.records)
    expect(result.direction.connections.opened).toBeGreaterThan(5000)
    expect(criticalInterfaces(result).filter((eni) => !PLANTED_INTERFACES.has(eni))).toEqual([])
    for (const [id, eni] of PLANTED_FINDINGS as [string, string][]) {
      expect(result.findings.find((f) => f.id === id)?.interfaces.map((i) => i.interfaceId), `${id} ${eni}`).toContain(eni)
    }
    // Later windows without flags of flows started inside: replies by the port rule, or undecided (medium), never critical.
    expect(result.direction.placedBy['port-rule']).toBeGreaterThan(0)
    expect(result.verdict).toBe('failed')
  })
})

describe('property: traffic with no violation gives no critical finding', () => {
  // Random days (size, workloads, seed, how the files are dealt to workers) without anything planted.
  const cases = Array.from({length: 10}, (_, n) => ({seed: 1000 + n * 7919, records: 20_000 + ((n * 37_813) % 100_000), workloads: 5 + ((n * 13) % 400), workers: 1 + (n % 3), perFile: [5_000, 25_000, 60_000][n % 3]}))
  it.each(cases)('seed $seed, $records records, $workloads workloads, $workers worker(s), $perFile per file', {timeout: 120_000}, async ({seed, records, workloads, workers, perFile}) => {
    const result = await analyzeDay({records, seed, plant: false, workloads}, workers, perFile)
    expect(result.findings.filter((f) => f.severity === 'critical').map((f) => [f.id, f.interfaces])).toEqual([])
    expect(result.verdict).toBe('passed')
  })
})
