#!/usr/bin/env -S node --import tsx
// Development entry: runs the TypeScript sources without a build (needs `npm i -D tsx`).
import {flush, run, settings} from '@oclif/core'

process.env.NODE_ENV = 'development'
settings.debug = true
try {
  await run(process.argv.slice(2), {development: true, root: import.meta.dirname})
  await flush()
} catch (error) {
  // As bin/run.js: errors from before a command ran, in the same shape and exit codes.
  const {formatError, isExitRequest, toInfraError} = await import('../src/output/cli-errors.ts')
  if (isExitRequest(error)) {
    process.exitCode = error.oclif.exit
  } else {
    const infraError = toInfraError(error)
    const json = process.argv.slice(2).includes('--json')
    ;(json ? process.stdout : process.stderr).write(`${formatError(infraError, json)}\n`)
    process.exitCode = infraError.exitCode
  }
}
