import {describe, expect, it} from 'vitest'

import {DEFAULT_FIELDS, FIELD_VERSIONS, parseFormat} from '../../src/flowlogs/fields.js'
import {FIELD, FlowLineParser, type LineSink} from '../../src/flowlogs/record.js'
import {SCAN_WASM} from '../../src/flowlogs/scan-wasm.js'

const parse = (fields: string[] | string, line: string) => {
  const parser = typeof fields === 'string' ? FlowLineParser.forFormat(fields) : new FlowLineParser(fields)
  const outcome = parser.parse(line)
  return {outcome, record: {...parser.record}}
}

describe('flow log formats', () => {
  it('knows every field of versions 2 to 8 and reads LogFormat and header spellings', () => {
    expect(Object.values(FIELD_VERSIONS).sort()).toEqual(expect.arrayContaining([2, 3, 4, 5, 7, 8]))
    expect(parseFormat('${version} ${account-id} ${reject-reason}')).toEqual(['version', 'account-id', 'reject-reason'])
    expect(parseFormat('version srcaddr  dstaddr')).toEqual(['version', 'srcaddr', 'dstaddr'])
    expect(() => parseFormat('${version} ${nonsense}')).toThrow('unknown flow log field: nonsense')
  })
})

describe('FlowLineParser', () => {
  it('reads the default version 2 format', () => {
    const {outcome, record} = parse(DEFAULT_FIELDS, '2 123456789012 eni-0a1 10.0.1.5 10.0.2.9 49152 443 6 10 8400 1764547200 1764547260 ACCEPT OK')
    expect(outcome).toBe('record')
    expect(record).toMatchObject({accountId: '123456789012', interfaceId: 'eni-0a1', srcaddr: '10.0.1.5', dstaddr: '10.0.2.9', srcport: 49152, dstport: 443, protocol: 6, packets: 10, bytes: 8400, start: 1764547200, end: 1764547260, action: 'ACCEPT', logStatus: 'OK'})
  })

  it('reads version 3, 4, 5 and 8 fields in any order', () => {
    const fields = ['traffic-path', 'flow-direction', 'pkt-dst-aws-service', 'pkt-dstaddr', 'pkt-srcaddr', 'tcp-flags', 'vpc-id', 'interface-id', 'action', 'reject-reason', 'az-id', 'srcaddr', 'dstaddr']
    const {outcome, record} = parse(fields, '8 egress AMAZON 52.1.2.3 10.0.1.5 2 vpc-9 eni-nat ACCEPT - euw1-az1 10.0.224.7 52.1.2.3')
    expect(outcome).toBe('record')
    expect(record).toMatchObject({trafficPath: 8, flowDirection: 'egress', pktDstAwsService: 'AMAZON', pktDstaddr: '52.1.2.3', pktSrcaddr: '10.0.1.5', vpcId: 'vpc-9', interfaceId: 'eni-nat', action: 'ACCEPT', srcaddr: '10.0.224.7'})
    expect(record.rejectReason).toBeUndefined()
    const rejected = parse(['action', 'reject-reason'], 'REJECT BPA')
    expect(rejected.record).toMatchObject({action: 'REJECT', rejectReason: 'BPA'})
  })

  it('treats "-" as absent, not as a value', () => {
    const {record} = parse(['interface-id', 'srcaddr', 'dstport', 'pkt-dst-aws-service'], 'eni-1 - - -')
    expect(record).toMatchObject({interfaceId: 'eni-1', srcaddr: undefined, dstport: undefined, pktDstAwsService: undefined})
  })

  it('accepts millisecond timestamps', () => {
    expect(parse(['start', 'end'], '1764547200123 1764547260999').record).toMatchObject({start: 1764547200, end: 1764547260})
  })

  it('counts NODATA and SKIPDATA records as coverage, not traffic', () => {
    expect(parse(DEFAULT_FIELDS, '2 123456789012 eni-1 - - - - - - - 1764547200 1764547260 - NODATA').outcome).toBe('nodata')
    expect(parse(DEFAULT_FIELDS, '2 123456789012 eni-1 - - - - - - - 1764547200 1764547260 - SKIPDATA').outcome).toBe('skipdata')
  })

  it('recognizes the header line and tolerates CRs and extra blanks', () => {
    expect(parse(DEFAULT_FIELDS, DEFAULT_FIELDS.join(' ')).outcome).toBe('header')
    expect(parse(['srcaddr', 'dstport'], ' 10.0.0.1\t 443 \r').record).toMatchObject({srcaddr: '10.0.0.1', dstport: 443})
  })

  it('calls a wrong field count or a non-numeric number malformed', () => {
    expect(parse(['srcaddr', 'dstport'], '10.0.0.1').outcome).toBe('malformed')
    expect(parse(['srcaddr', 'dstport'], '10.0.0.1 443 extra').outcome).toBe('malformed')
    expect(parse(['srcaddr', 'dstport'], '10.0.0.1 https').outcome).toBe('malformed')
    expect(parse(['srcaddr', 'dstport'], '').outcome).toBe('malformed')
  })
})

const good = '5 111111111111 eni-1 10.1.1.1 10.1.2.2 1024 443 6 3 300 1764547200 1764547260 ACCEPT OK vpc-1 subnet-1 i-1 2 IPv4 10.1.1.1 10.1.2.2 eu-west-1 euw1-az1 - - - - egress 1'
const goodFields = good.split(' ').map((_, i) => Object.keys(FIELD_VERSIONS)[i])

/** Random, truncated and mangled lines, the same ones for a given seed. */
function mangledLines(count: number, seed = 42): string[] {
  const random = (n: number) => {
    seed ^= seed << 13
    seed ^= seed >>> 17
    seed ^= seed << 5
    return (seed >>> 0) % n
  }
  const alphabet = ' -.:0123456789abcdefACEPTRJOKNDAS\t\r\u00e9\u0000\u00ff'
  return Array.from({length: count}, () => {
    const kind = random(4)
    return kind === 0
      ? Array.from({length: random(200)}, () => alphabet[random(alphabet.length)]).join('')
      : kind === 1
        ? good.slice(0, random(good.length))
        : kind === 2
          ? good.split(' ').map((token) => (random(8) === 0 ? alphabet[random(alphabet.length)].repeat(random(4)) : token)).join(' ')
          : good
  })
}

/** Everything a parser hands over, line by line: outcomes, whole records, and the decoded numbers. */
function transcript(parser: FlowLineParser, text: string): unknown[] {
  const seen: unknown[] = []
  const sink: LineSink = {
    add: (p) => seen.push({record: p.record, values: [...p.value], absent: [...p.from].map((from) => from < 0)}),
    count: (outcome) => seen.push(outcome),
  }
  const buf = Buffer.from(text, 'latin1')
  parser.scanLines(buf, 0, buf.length, sink)
  return seen
}

describe('fields decoded on demand', () => {
  it('fetches srcport, tcp-flags and instance-id for the record being handed over, the same with and without WebAssembly', () => {
    const fields = ['interface-id', 'srcaddr', 'srcport', 'tcp-flags', 'instance-id', 'action']
    for (const wasm of [true, false]) {
      const parser = new FlowLineParser(fields, {wasm})
      const seen: [number, number, string | null][] = []
      const sink = {
        add: (p: FlowLineParser) => {
          p.fetch(FIELD.srcport)
          p.fetch(FIELD.tcpFlags)
          p.fetch(FIELD.instanceId)
          seen.push([p.value[FIELD.srcport], p.value[FIELD.tcpFlags], p.from[FIELD.instanceId] < 0 ? null : p.buf.toString('latin1', p.from[FIELD.instanceId], p.to[FIELD.instanceId])])
        },
        count: () => {},
      }
      const text = Buffer.from('eni-1 52.1.1.1 443 18 i-0abc ACCEPT\neni-1 52.1.1.1 - - - ACCEPT\neni-1 52.1.1.1 40000 2 i-0def ACCEPT\n', 'latin1')
      parser.scanLines(text, 0, text.length, sink)
      expect(seen, `wasm: ${wasm}`).toEqual([
        [443, 18, 'i-0abc'],
        [-1, -1, null],
        [40000, 2, 'i-0def'],
      ])
      // A format without the field: absent.
      const short = new FlowLineParser(['interface-id', 'action'], {wasm})
      short.parse('eni-1 ACCEPT')
      short.fetch(FIELD.tcpFlags)
      expect(short.value[FIELD.tcpFlags]).toBe(-1)
    }
  })
})

describe('fuzzing the parser', () => {
  it('never throws on random, truncated or mangled lines', () => {
    const parser = new FlowLineParser(goodFields)
    const outcomes = new Set(mangledLines(20_000).map((line) => parser.parse(line)))
    expect(outcomes.has('malformed')).toBe(true)
    expect(outcomes.has('record')).toBe(true)
  })

  it('reads exactly as the JavaScript byte loop does, line for line (WebAssembly scanner)', () => {
    const text = `${goodFields.join(' ')}\n${mangledLines(20_000, 7).join('\n')}\n`
    const wasm = transcript(new FlowLineParser(goodFields), text)
    const bytes = transcript(new FlowLineParser(goodFields, {wasm: false}), text)
    // Blank lines say nothing; every other line is a record, a coverage gap, a header or malformed.
    expect(wasm.length).toBeGreaterThan(19_000)
    expect(wasm.filter((entry) => typeof entry === 'object').length).toBeGreaterThan(5000)
    expect(wasm).toContain('malformed')
    expect(wasm).toEqual(bytes)
  })

  it('takes input larger than the scanner memory, and a single line longer than all of it', () => {
    const many = `${Array.from({length: 9000}, () => good).join('\n')}\n`
    const huge = `${good.replace('vpc-1', `vpc-${'9'.repeat(1_200_000)}`)}\n`
    for (const text of [many, huge + many, many + huge + good + '\n']) {
      expect(text.length).toBeGreaterThan(1 << 20)
      expect(transcript(new FlowLineParser(goodFields), text)).toEqual(transcript(new FlowLineParser(goodFields, {wasm: false}), text))
    }
  })
})

describe('WebAssembly scanner', () => {
  it('is built from scan.wat as committed (npm run build:wasm)', async () => {
    // @ts-expect-error: a build script in JavaScript
    const {compileScanner} = await import('../../scripts/build-wasm.mjs')
    expect(await compileScanner()).toBe(SCAN_WASM)
  })
})
