#!/usr/bin/env -S node --import tsx
// Development entry: runs the TypeScript sources without a build (needs `npm i -D tsx`).
import {flush, run, settings} from '@oclif/core'

process.env.NODE_ENV = 'development'
settings.debug = true
try {
  await run(process.argv.slice(2), {development: true, root: import.meta.dirname})
  await flush()
} catch (error) {
  // Commands report their own errors (the base command); the rest (an unknown command, a broken
  // install, an exit request) gets the same shape and exit codes here.
  const {reportOutsideCommand} = await import('../src/output/cli-errors.ts')
  reportOutsideCommand(error, process.argv.slice(2))
}
