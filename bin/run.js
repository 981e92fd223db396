#!/usr/bin/env node
// The pinned AWS SDK supports Node 20; its warning about future releases is not the operator's concern.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true'

const {flush, run} = await import('@oclif/core')
try {
  await run(process.argv.slice(2), import.meta.url)
  await flush()
} catch (error) {
  // Commands report their own errors (the base command); what arrives here failed before a command
  // ran (an unknown command, a broken install) or is an exit request. Same shape, same exit codes.
  const {formatError, isExitRequest, toInfraError} = await import('../dist/output/cli-errors.js')
  if (isExitRequest(error)) {
    process.exitCode = error.oclif.exit
  } else {
    const infraError = toInfraError(error)
    const json = process.argv.slice(2).includes('--json')
    ;(json ? process.stdout : process.stderr).write(`${formatError(infraError, json)}\n`)
    process.exitCode = infraError.exitCode
  }
}
