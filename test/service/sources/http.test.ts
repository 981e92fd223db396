import http from 'node:http'
import type {AddressInfo} from 'node:net'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {forbiddenReason} from '../../../src/service/sources/address-policy.js'
import {MAX_REDIRECTS, httpSource, pinnedLookup} from '../../../src/service/sources/http.js'
import type {SourceSettings} from '../../../src/service/sources/source.js'
import {type TestService, startTestService, waitForJob} from '../../support/service.js'

/**
 * A real HTTP server on every local address (IPv6 and IPv4 on one dual-stack socket): with the
 * default settings no spelling of a local, private or metadata address may ever reach it.
 */
let server: http.Server
let port: number
let hits = 0
beforeAll(async () => {
  server = http.createServer((request, response) => {
    hits++
    const hop = /^\/hop\/(\d+)$/.exec(request.url ?? '')
    if (hop) return response.writeHead(302, {location: Number(hop[1]) > 0 ? `/hop/${Number(hop[1]) - 1}` : '/ok'}).end('moved')
    if (request.url === '/loop') return response.writeHead(301, {location: '/loop'}).end()
    if (request.url === '/no-location') return response.writeHead(302).end('redirect body')
    if (request.url === '/to-unresolvable') return response.writeHead(307, {location: 'http://no-such-host.invalid/'}).end()
    if (request.url === '/to-file') return response.writeHead(302, {location: 'file:///etc/passwd'}).end()
    response.writeHead(200, {'content-type': 'text/plain'}).end('reached')
  })
  await new Promise<void>((resolve) => server.listen({port: 0, host: '::', ipv6Only: false}, resolve))
  port = (server.address() as AddressInfo).port
})
afterAll(() => new Promise((resolve) => server.close(resolve)))

const settings = (allowPrivateHttp: boolean): SourceSettings => ({fileRoot: '/nonexistent', connections: {}, allowPrivateHttp, httpTimeoutMs: 3000, maxResultBytes: 1 << 20, maxRows: 1000})

async function collect(url: string, allowPrivateHttp = false): Promise<string> {
  const chunks: Buffer[] = []
  await httpSource.run(
    {url},
    {
      signal: AbortSignal.timeout(5000),
      limits: {maxBytes: 1 << 20, maxRows: 1000, timeoutMs: 5000},
      progress: () => {},
      write: async (chunk) => void chunks.push(Buffer.from(chunk)),
    },
    settings(allowPrivateHttp),
  )
  return Buffer.concat(chunks).toString()
}

// Each row: a spelling of an address that is not globally routable. Most lead to the server above.
const SPELLINGS: [string, string][] = [
  ['dotted IPv4 loopback', 'http://127.0.0.1:PORT/'],
  ['decimal IPv4', 'http://2130706433:PORT/'],
  ['octal IPv4', 'http://0177.0.0.1:PORT/'],
  ['octal IPv4, one number', 'http://017700000001:PORT/'],
  ['hex IPv4', 'http://0x7f.0.0.1:PORT/'],
  ['hex IPv4, one number', 'http://0x7f000001:PORT/'],
  ['short IPv4', 'http://127.1:PORT/'],
  ['IPv4 with a trailing dot', 'http://127.0.0.1.:PORT/'],
  ['unspecified IPv4 (this host)', 'http://0.0.0.0:PORT/'],
  ['IPv6 loopback', 'http://[::1]:PORT/'],
  ['IPv6 unspecified', 'http://[::]:PORT/'],
  ['IPv4-mapped IPv6, dotted', 'http://[::ffff:127.0.0.1]:PORT/'],
  ['IPv4-mapped IPv6, hex', 'http://[::ffff:7f00:1]:PORT/'],
  ['IPv4-mapped IPv6, uncompressed', 'http://[0:0:0:0:0:ffff:127.0.0.1]:PORT/'],
  ['IPv4-compatible IPv6', 'http://[::127.0.0.1]:PORT/'],
  ['NAT64 well-known prefix', 'http://[64:ff9b::127.0.0.1]:PORT/'],
  ['NAT64 well-known prefix, hex', 'http://[64:ff9b::7f00:1]:PORT/'],
  ['NAT64 local-use prefix', 'http://[64:ff9b:1::7f00:1]:PORT/'],
  ['6to4 of loopback', 'http://[2002:7f00:1::1]:PORT/'],
  ['6to4 of the metadata service', 'http://[2002:a9fe:a9fe::1]/'],
  ['Teredo with a loopback client', 'http://[2001:0:4136:e378:8000:63bf:80ff:fffe]:PORT/'],
  ['metadata service', 'http://169.254.169.254/latest/meta-data/'],
  ['metadata service, IPv4-mapped', 'http://[::ffff:169.254.169.254]/latest/meta-data/'],
  ['metadata service, decimal', 'http://2852039166/latest/meta-data/'],
  ['EC2 IPv6 metadata service', 'http://[fd00:ec2::254]/latest/meta-data/'],
  ['private 10/8 (the dev VPC)', 'http://10.1.0.5:PORT/'],
  ['private 172.16/12', 'http://172.31.255.1/'],
  ['private 192.168/16', 'http://192.168.1.1/'],
  ['carrier-grade NAT', 'http://100.64.0.1/'],
  ['IPv6 link-local', 'http://[fe80::1]:PORT/'],
  ['IPv6 unique local', 'http://[fc00::1]:PORT/'],
  ['multicast', 'http://224.0.0.1/'],
  ['broadcast', 'http://255.255.255.255/'],
  ['name resolving to loopback', 'http://localhost:PORT/'],
  ['name with a trailing dot', 'http://localhost.:PORT/'],
  ['name in capitals', 'http://LOCALHOST:PORT/'],
]

describe('the http source refuses every spelling of a non-public address', () => {
  it.each(SPELLINGS)('%s: %s', async (_name, template) => {
    const url = template.replace('PORT', String(port))
    const before = hits
    await expect(collect(url)).rejects.toThrow(/refused/)
    expect(hits).toBe(before)
    // Address literals are refused at trigger time too (400), names when the job runs.
    const problem = httpSource.validate({url}, settings(false))
    if (/localhost/i.test(url)) expect(problem).toBeUndefined()
    else expect(problem).toMatch(/private, loopback and metadata addresses are refused/)
  })

  it('never reached the server', () => {
    expect(hits).toBe(0)
  })

  it('lets globally routable addresses through, in the same spellings', () => {
    for (const address of ['8.8.8.8', '1.1.1.1', '2606:4700:4700::1111', '::ffff:8.8.8.8', '64:ff9b::8.8.8.8', '2002:808:808::1', '2a05:d018::1']) {
      expect(forbiddenReason(address), address).toBeUndefined()
    }
    expect(forbiddenReason('::ffff:a9fe:a9fe')).toBe('IPv4-mapped of 169.254.169.254, link-local (instance metadata)')
  })
})

describe('with --allow-private-http', () => {
  it('reaches a named host on Node 20 (family autoselection asks the lookup for all addresses)', async () => {
    expect(await collect(`http://localhost:${port}/`, true)).toBe('reached')
    expect(await collect(`http://[::1]:${port}/`, true)).toBe('reached')
  })

  it('follows up to a few redirects, and never stores a 3xx as a result', async () => {
    expect(await collect(`http://localhost:${port}/hop/${MAX_REDIRECTS - 1}`, true)).toBe('reached')
    await expect(collect(`http://localhost:${port}/hop/${MAX_REDIRECTS}`, true)).rejects.toThrow(`redirected more than ${MAX_REDIRECTS} times`)
    await expect(collect(`http://localhost:${port}/loop`, true)).rejects.toThrow('redirected more than')
    await expect(collect(`http://localhost:${port}/no-location`, true)).rejects.toThrow('answered 302 without a redirect target')
    await expect(collect(`http://localhost:${port}/to-file`, true)).rejects.toThrow('redirected to a file: URL')
    // Each hop's host goes through the same resolve-and-check step as the first (not Node's own lookup).
    await expect(collect(`http://localhost:${port}/to-unresolvable`, true)).rejects.toThrow(/^no-such-host\.invalid does not resolve \(/)
  })
})

describe('pinnedLookup', () => {
  const checked = [
    {address: '127.0.0.1', family: 4 as const},
    {address: '::1', family: 6 as const},
  ]
  const call = (options: object) => new Promise<unknown[]>((resolve) => (pinnedLookup(checked) as any)('evil.example', options, (...args: unknown[]) => resolve(args)))

  it('answers `all: true` with an array of only the checked addresses, one address otherwise', async () => {
    expect(await call({all: true})).toEqual([null, [{address: '127.0.0.1', family: 4}, {address: '::1', family: 6}]])
    expect(await call({all: true, family: 6})).toEqual([null, [{address: '::1', family: 6}]])
    expect(await call({})).toEqual([null, '127.0.0.1', 4])
    expect(await call({family: 'IPv6'})).toEqual([null, '::1', 6])
  })
})

describe('through the service', () => {
  let open: TestService
  beforeAll(async () => {
    open = await startTestService({allowPrivateHttp: true})
  })
  afterAll(() => open.service.stop())

  it('collects from a host name when the service allows private addresses', async () => {
    const queued = await open.call('POST', '/api/v1/jobs/trigger', {body: {source_type: 'http', config: {url: `http://localhost:${port}/`}}})
    const job = await waitForJob(open, queued.body.job_id)
    expect(job).toMatchObject({status: 'succeeded', result: {bytes: 7}})
    expect((await open.call('GET', `/api/v1/jobs/result/${job.job_id}`)).text).toBe('reached')
  })

  it('fails a redirect loop without retrying, and stores nothing', async () => {
    const queued = await open.call('POST', '/api/v1/jobs/trigger', {body: {source_type: 'http', config: {url: `http://localhost:${port}/loop`}}})
    const job = await waitForJob(open, queued.body.job_id)
    expect(job).toMatchObject({status: 'failed', attempts: 1, result: null})
  })
})
