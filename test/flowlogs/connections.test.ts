import {Readable} from 'node:stream'

import {describe, expect, it} from 'vitest'

import {FlowAnalyzer} from '../../src/flowlogs/analyzer.js'
import {ConnectionKey, Connections, NOT_KNOWN, OPENED_BY_DESTINATION, OPENED_BY_SOURCE} from '../../src/flowlogs/connections.js'
import {analyzeStream} from '../../src/flowlogs/read.js'
import {FIELD} from '../../src/flowlogs/record.js'

/** A record's fields where the parser would leave them: bytes of "iface src dst" and the numbers. */
function keyOf(iface: string, src: string, sport: number, dst: string, dport: number, protocol = 6): ConnectionKey {
  const text = `${iface} ${src} ${dst} `
  const buf = Buffer.from(text, 'latin1')
  const from = new Int32Array(32).fill(-1)
  const to = new Int32Array(32).fill(-1)
  const value = new Float64Array(32).fill(-1)
  let at = 0
  for (const [slot, field] of [[FIELD.interfaceId, iface], [FIELD.srcaddr, src], [FIELD.dstaddr, dst]] as const) {
    from[slot] = at
    to[slot] = at + field.length
    at += field.length + 1
  }
  value[FIELD.srcport] = sport
  value[FIELD.dstport] = dport
  value[FIELD.protocol] = protocol
  return new ConnectionKey().of(buf, from, to, value)
}

describe('the connection table', () => {
  it('answers from either direction of the same connection, and for nothing else', () => {
    const table = new Connections()
    // The workload opened it: seen on its egress record.
    const opening = keyOf('eni-0a', '10.1.5.5', 40001, '52.95.1.2', 443)
    table.note(opening, true)
    const reply = keyOf('eni-0a', '52.95.1.2', 443, '10.1.5.5', 40001)
    expect(table.lookup(reply.bytes, reply.length, reply.hash, reply.sourceIsLower)).toBe(OPENED_BY_DESTINATION)
    const again = keyOf('eni-0a', '10.1.5.5', 40001, '52.95.1.2', 443)
    expect(table.lookup(again.bytes, again.length, again.hash, again.sourceIsLower)).toBe(OPENED_BY_SOURCE)
    // Another interface, protocol, port or address: another connection.
    for (const other of [
      keyOf('eni-0b', '52.95.1.2', 443, '10.1.5.5', 40001),
      keyOf('eni-0a', '52.95.1.2', 443, '10.1.5.5', 40001, 17),
      keyOf('eni-0a', '52.95.1.2', 443, '10.1.5.5', 40002),
      keyOf('eni-0a', '52.95.1.3', 443, '10.1.5.5', 40001),
    ]) expect(table.lookup(other.bytes, other.length, other.hash, other.sourceIsLower)).toBe(NOT_KNOWN)
  })

  it('tells apart two connections whose 32-bit hashes are equal', () => {
    // A birthday search for two different keys with the same hash (the set and the quick filter):
    // interface ids drawn at random, about 2^16 draws expected.
    let state = 12345
    const hex = () => {
      let id = 'eni-'
      for (let i = 0; i < 17; i++) {
        state = (Math.imul(state, 1103515245) + 12345) >>> 0
        id += ((state >>> 16) & 15).toString(16)
      }
      return id
    }
    const seen = new Map<number, string>()
    let pair: [string, string] | undefined
    while (!pair) {
      const iface = hex()
      const key = keyOf(iface, '198.51.100.7', 50001, '10.1.5.5', 8443)
      const known = seen.get(key.hash)
      if (known !== undefined && known !== iface) pair = [known, iface]
      else seen.set(key.hash, iface)
    }
    const a = keyOf(pair[0], '198.51.100.7', 50001, '10.1.5.5', 8443)
    const b = keyOf(pair[1], '198.51.100.7', 50001, '10.1.5.5', 8443)
    expect(a.hash).toBe(b.hash)
    const table = new Connections()
    table.note(a, true)
    expect(table.lookup(a.bytes, a.length, a.hash, a.sourceIsLower)).toBe(OPENED_BY_SOURCE)
    expect(table.lookup(b.bytes, b.length, b.hash, b.sourceIsLower)).toBe(NOT_KNOWN)
  })

  it('holds a bounded number of connections and counts those pushed out; keys too long are counted, not held', () => {
    const table = new Connections()
    const capacity = table.stats().capacity
    for (let n = 0; n < capacity * 2; n++) table.note(keyOf('eni-0a', `10.1.${(n >> 8) & 255}.${n & 255}`, 30000 + (n >> 16), '52.95.1.2', 443), true)
    const stats = table.stats()
    expect(stats.opened).toBe(capacity * 2)
    expect(stats.evicted).toBeGreaterThanOrEqual(capacity)
    const v6 = keyOf('eni-0a', '2001:db8:1234:5678:9abc:def0:1234:5678', 40000, '2001:db8:aaaa:bbbb:cccc:dddd:eeee:ffff', 443)
    expect(v6.length).toBe(-1)
    table.note(v6, true)
    expect(table.stats().tooLong).toBe(1)
    expect(table.lookup(v6.bytes, v6.length, v6.hash, v6.sourceIsLower)).toBe(NOT_KNOWN)
  })
})

const HEADER = 'version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status pkt-srcaddr pkt-dstaddr pkt-dst-aws-service flow-direction traffic-path tcp-flags'
const T = 1764547200
const record = (eni: string, src: string, sport: number, dst: string, dport: number, direction: string, flags: number, start = T) =>
  `5 111111111111 ${eni} ${src} ${dst} ${sport} ${dport} 6 10 1000 ${start} ${start + 59} ACCEPT OK ${src} ${dst} - ${direction} ${direction === 'egress' ? 1 : '-'} ${flags}`

describe('direction when the connection table is full', () => {
  it('a connection pushed out decides nothing: its later window falls to the port rule, then to direction unknown, never critical', async () => {
    const lines = [HEADER]
    // Started outside, on two ephemeral ports: only the SYN or the pairing could call it a finding.
    lines.push(record('eni-0web', '198.51.100.7', 50001, '10.1.3.30', 40001, 'ingress', 2))
    // Then far more connections than the table holds, each opened by a workload.
    for (let n = 0; n < 200_000; n++) lines.push(record(`eni-0w${n % 50}`, `10.1.${(n >> 8) & 255}.${n & 255}`, 32768 + (n % 20000), `52.${(n >> 16) & 255}.1.${n & 255}`, 443, 'egress', 2))
    // The same inbound connection's later window, without flags.
    lines.push(record('eni-0web', '198.51.100.7', 50001, '10.1.3.30', 40001, 'ingress', 0, T + 600))
    const analyzer = new FlowAnalyzer()
    await analyzeStream(Readable.from([Buffer.from(`${lines.join('\n')}\n`)]), analyzer)
    const result = analyzer.result()
    expect(result.findings.map((f) => [f.id, f.count, f.evidence])).toEqual([
      ['public-inbound-accepted', 1, {'tcp-flags': 1}],
      ['public-inbound-direction-unknown', 1, {none: 1}],
    ])
    expect(result.direction).toMatchObject({records: 2, placedBy: {'tcp-flags': 1, pairing: 0, 'port-rule': 0, none: 1}})
    expect(result.direction.connections.opened).toBe(200_001)
    expect(result.direction.connections.evicted).toBeGreaterThan(200_001 - result.direction.connections.capacity)
  })
})
