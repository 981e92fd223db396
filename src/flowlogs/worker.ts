import v8 from 'node:v8'
import vm from 'node:vm'
import {parentPort, workerData} from 'node:worker_threads'

import {FlowAnalyzer} from './analyzer.js'
import {analyzeFiles} from './read.js'

/** Analyzes a share of the files on its own core and hands back the bounded aggregates. */
const {files, fields, topN, watch} = workerData as {files: string[]; fields?: string[]; topN: number; watch: string[]}
// The NAT interfaces named: the worker notes which of them its records carry.
const analyzer = new FlowAnalyzer({topN, watchInterfaces: watch})
/**
 * Each small file is inflated whole into one buffer (about 5 MB for S3's files of 25,000 records),
 * external memory V8 would collect only after some 64 MB of it, all held meanwhile in this thread's
 * malloc arena. A young-generation collection after each file frees it at once: the buffer is dead
 * by then and still young (read.ts reads small files only when their turn comes). Node offers no
 * other handle on the collector than the gc function of --expose-gc, which a worker cannot take as
 * an option; a minor collection of this small heap costs well under a millisecond.
 */
function collectYoung(): () => void {
  v8.setFlagsFromString('--expose-gc')
  const gc = vm.runInNewContext('gc') as (options: {type: 'minor'}) => void
  return () => gc({type: 'minor'})
}

try {
  await analyzeFiles(files, analyzer, fields, collectYoung())
  const state = analyzer.serialize()
  // The connection table's arrays move to the main thread rather than being copied.
  const table = state.connections
  parentPort!.postMessage({ok: true, state}, [table.keys, table.lengths, table.hashes, table.states, table.stamps].map((array) => array.buffer as ArrayBuffer))
} catch (error) {
  const err = error as Error & {fix?: string; code?: string; exitCode?: number}
  parentPort!.postMessage({ok: false, message: err.message, fix: err.fix, code: err.code, exitCode: err.exitCode})
}
