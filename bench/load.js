#!/usr/bin/env node
// One load run in a process of its own, so that no run inherits the load generator's heap or
// timers from the one before. Reads {"url": ..., "seconds": 8, "connections": 32, "paths": [...]}
// on stdin and prints {rps, p50, p99, errors, non2xx, timeouts}. With `paths`, each request takes the next one.
import {readFileSync} from 'node:fs'

import autocannon from 'autocannon'

const {seconds, connections, paths, ...options} = JSON.parse(readFileSync(0, 'utf8'))
let next = 0
const result = await autocannon({
  connections,
  duration: seconds,
  ...options,
  ...(paths ? {requests: [{setupRequest: (request) => ({...request, path: paths[next++ % paths.length]})}]} : {}),
})
process.stdout.write(JSON.stringify({rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, errors: result.errors + result.non2xx, non2xx: result.non2xx, timeouts: result.timeouts}))
