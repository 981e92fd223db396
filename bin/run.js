#!/usr/bin/env node
// The pinned AWS SDK supports Node 20; its warning about future releases is not the operator's concern.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true'

const {flush, run} = await import('@oclif/core')
try {
  await run(process.argv.slice(2), import.meta.url)
  await flush()
} catch (error) {
  // Commands report their own errors (the base command); the rest (an unknown command, a broken
  // install, an exit request) gets the same shape and exit codes here.
  const {reportOutsideCommand} = await import('../dist/output/cli-errors.js')
  reportOutsideCommand(error, process.argv.slice(2))
}
