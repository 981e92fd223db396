import {parentPort, workerData} from 'node:worker_threads'

import {FlowAnalyzer} from './analyzer.js'
import {analyzeFiles} from './read.js'

/** Analyzes a share of the files on its own core and hands back the bounded aggregates. */
const {files, fields, topN} = workerData as {files: string[]; fields?: string[]; topN: number}
const analyzer = new FlowAnalyzer({topN})
try {
  await analyzeFiles(files, analyzer, fields)
  parentPort!.postMessage({ok: true, state: analyzer.serialize()})
} catch (error) {
  const err = error as Error & {fix?: string; code?: string; exitCode?: number}
  parentPort!.postMessage({ok: false, message: err.message, fix: err.fix, code: err.code, exitCode: err.exitCode})
}
