import {parentPort, workerData} from 'node:worker_threads'

import {FlowAnalyzer} from './analyzer.js'
import {analyzeFiles} from './read.js'

/** Analyzes a share of the files on its own core and hands back the bounded aggregates. */
const {files, fields, topN, watch} = workerData as {files: string[]; fields?: string[]; topN: number; watch: string[]}
// The NAT interfaces named: the worker notes which of them its records carry.
const analyzer = new FlowAnalyzer({topN, watchInterfaces: watch})
try {
  await analyzeFiles(files, analyzer, fields)
  const state = analyzer.serialize()
  // The connection table's arrays move to the main thread rather than being copied.
  const table = state.connections
  parentPort!.postMessage({ok: true, state}, [table.keys, table.lengths, table.hashes, table.states, table.stamps].map((array) => array.buffer as ArrayBuffer))
} catch (error) {
  const err = error as Error & {fix?: string; code?: string; exitCode?: number}
  parentPort!.postMessage({ok: false, message: err.message, fix: err.fix, code: err.code, exitCode: err.exitCode})
}
