import {setImmediate as nextTurn} from 'node:timers/promises'

import pino from 'pino'
import {describe, expect, it} from 'vitest'

import {createServiceLog} from '../../src/service/logging.js'

const capture = () => {
  const writes: string[] = []
  return {writes, target: {write: (chunk: string) => void writes.push(chunk)}, lines: () => writes.join('').split('\n').filter(Boolean).map((line) => JSON.parse(line))}
}

describe('service log', () => {
  it("writes the access line exactly as pino would write the same fields", async () => {
    const ours = capture()
    const log = createServiceLog('info', ours.target)
    const entry = {reqId: 'req-"quoted"\n', method: 'GET', url: '/api/v1/jobs?status=queued&x="\\', status: 200, ms: 1.5, token: 'ci'}
    log.access(entry)
    await nextTurn()
    const reference = capture()
    const {reqId, ...fields} = entry
    pino({level: 'info'}, reference.target).child({reqId}).info(fields, 'request')
    const [mine] = ours.lines()
    const [theirs] = reference.lines()
    expect(Object.keys(mine)).toEqual(Object.keys(theirs))
    expect({...mine, time: 0}).toEqual({...theirs, time: 0})
    log.close()
  })

  it('leaves the token out when there is none', async () => {
    const out = capture()
    const log = createServiceLog('info', out.target)
    log.access({reqId: 'r1', method: 'GET', url: '/health', status: 200, ms: 0.2})
    log.close()
    expect(out.lines()[0]).not.toHaveProperty('token')
  })

  it("writes one turn's lines in one write, in the order they were logged", async () => {
    const out = capture()
    const log = createServiceLog('info', out.target)
    log.logger.info('first')
    log.access({reqId: 'r1', method: 'POST', url: '/api/v1/jobs/trigger', status: 202, ms: 3})
    log.logger.warn('third')
    expect(out.writes).toEqual([])
    await nextTurn()
    expect(out.writes).toHaveLength(1)
    expect(out.lines().map((line) => line.msg)).toEqual(['first', 'request', 'third'])
    log.close()
  })

  it('writes what waits when closed, and nothing below its level', () => {
    const out = capture()
    const log = createServiceLog('warn', out.target)
    log.access({reqId: 'r1', method: 'GET', url: '/', status: 200, ms: 1})
    log.logger.info('hidden')
    log.logger.error('shown')
    log.close()
    expect(out.lines().map((line) => line.msg)).toEqual(['shown'])
    const silent = capture()
    const quiet = createServiceLog('silent', silent.target)
    quiet.access({reqId: 'r1', method: 'GET', url: '/', status: 200, ms: 1})
    quiet.logger.fatal('nothing')
    quiet.close()
    expect(silent.writes).toEqual([])
  })
})
