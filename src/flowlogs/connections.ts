import {FIELD} from './record.js'

/** Who opened a connection, from the side of the record looked up. */
export const OPENED_BY_SOURCE = 1
export const OPENED_BY_DESTINATION = 0
export const NOT_KNOWN = -1

/** Bytes of one key: protocol, interface id, both endpoints; what does not fit is not held. */
const WIDTH = 64
const WAYS = 4
const SET_BITS = 14
const SETS = 1 << SET_BITS
const ENTRIES = SETS * WAYS
const IPV4 = 0xff
const FNV_OFFSET = 0x811c9dc5
const FNV_PRIME = 0x01000193

/** The table's state as a worker hands it over (typed arrays, transferable). */
export interface SerializedConnections {
  keys: Uint8Array
  lengths: Uint8Array
  hashes: Int32Array
  states: Uint8Array
  stamps: Uint32Array
  opened: number
  evicted: number
  tooLong: number
}

/** What the table held and could not hold, for the report. */
export interface ConnectionTableStats {
  /** Connections whose opening (SYN or SYN-ACK) was seen and noted. */
  opened: number
  /** Of those, pushed out by newer ones before the input ended (their later records fall to the port rule). */
  evicted: number
  /** Keys too long for a slot (IPv6 endpoints, very long interface ids): never held. */
  tooLong: number
  capacity: number
}

/**
 * An exact key of a record's connection: protocol, interface id and both address:port ends, the
 * lower end (byte order of its encoding) first, so both directions of a connection give the same
 * bytes. IPv4 addresses are packed in 4 bytes, other addresses kept as text; ports as port + 1 in
 * 3 bytes (0 when absent). Nothing is hashed away: two keys are equal only if every byte is.
 */
export class ConnectionKey {
  readonly bytes = new Uint8Array(WIDTH)
  /** The key's length, -1 when it does not fit in WIDTH bytes. */
  length = 0
  hash = 0
  /** Whether the record's source is the lower end, i.e. the first endpoint of the key. */
  sourceIsLower = false
  private readonly source = new Uint8Array(WIDTH)
  private readonly destination = new Uint8Array(WIDTH)

  /** Encodes the record the parser holds (srcport must have been fetched). */
  of(buf: Uint8Array, from: Int32Array, to: Int32Array, value: Float64Array): this {
    const sourceLength = endpoint(this.source, buf, from[FIELD.srcaddr], to[FIELD.srcaddr], value[FIELD.srcport])
    const destinationLength = endpoint(this.destination, buf, from[FIELD.dstaddr], to[FIELD.dstaddr], value[FIELD.dstport])
    this.sourceIsLower = compare(this.source, sourceLength, this.destination, destinationLength) <= 0
    const ifaceFrom = from[FIELD.interfaceId]
    const ifaceLength = ifaceFrom < 0 ? 0 : to[FIELD.interfaceId] - ifaceFrom
    const length = 2 + ifaceLength + sourceLength + destinationLength
    if (sourceLength < 0 || destinationLength < 0 || ifaceLength > 255 || length > WIDTH) {
      this.length = -1
      return this
    }
    const key = this.bytes
    const protocol = value[FIELD.protocol]
    key[0] = protocol < 0 || protocol > 254 ? 255 : protocol
    key[1] = ifaceLength
    let at = 2
    for (let i = 0; i < ifaceLength; i++) key[at++] = buf[ifaceFrom + i]
    const first = this.sourceIsLower ? this.source : this.destination
    const second = this.sourceIsLower ? this.destination : this.source
    const firstLength = this.sourceIsLower ? sourceLength : destinationLength
    const secondLength = length - 2 - ifaceLength - firstLength
    for (let i = 0; i < firstLength; i++) key[at++] = first[i]
    for (let i = 0; i < secondLength; i++) key[at++] = second[i]
    this.length = length
    let h = FNV_OFFSET
    for (let i = 0; i < length; i++) h = Math.imul(h ^ key[i], FNV_PRIME)
    this.hash = mix(h)
    return this
  }

  /** A copy, for a record that waits for the end of the input. */
  copy(): {bytes: Uint8Array; hash: number; sourceIsLower: boolean} {
    return {bytes: this.bytes.slice(0, Math.max(0, this.length)), hash: this.hash, sourceIsLower: this.sourceIsLower}
  }
}

/** address then port, into out; the length written, -1 when the address is too long to hold. */
function endpoint(out: Uint8Array, buf: Uint8Array, from: number, to: number, port: number): number {
  let at: number
  if (from < 0) {
    out[0] = 0
    at = 1
  } else if (ipv4(out, buf, from, to)) at = 5
  else {
    const length = to - from
    if (length + 4 > WIDTH || length >= IPV4) return -1
    out[0] = length
    for (let i = 0; i < length; i++) out[1 + i] = buf[from + i]
    at = 1 + length
  }
  const p = port < 0 || port > 0xfffffe ? 0 : port + 1
  out[at] = p >>> 16
  out[at + 1] = (p >>> 8) & 255
  out[at + 2] = p & 255
  return at + 3
}

/** Packs a dotted IPv4 address as IPV4 and four bytes; false (nothing promised in out) when it is not one. */
function ipv4(out: Uint8Array, buf: Uint8Array, from: number, to: number): boolean {
  let part = 0
  let digits = 0
  let index = 1
  for (let i = from; i < to; i++) {
    const c = buf[i]
    if (c === 46) {
      if (digits === 0 || index > 3) return false
      out[index++] = part
      part = 0
      digits = 0
    } else if (c >= 48 && c <= 57 && digits < 3) {
      part = part * 10 + c - 48
      digits++
      if (part > 255) return false
    } else return false
  }
  if (digits === 0 || index !== 4) return false
  out[4] = part
  out[0] = IPV4
  return true
}

function compare(a: Uint8Array, aLength: number, b: Uint8Array, bLength: number): number {
  const n = Math.min(aLength, bLength)
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i]
  return aLength - bLength
}

function mix(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b)
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35)
  return h ^ (h >>> 16)
}

/**
 * Who opened each connection whose SYN (or SYN-ACK) was seen, by its exact key, in fixed memory:
 * 65,536 entries of 64 bytes in sets of four (a key's hash picks the set; the least recently noted
 * entry of a full set makes room). The hash only picks the set and skips entries quickly: a lookup
 * answers only when every byte of the key matches, so two connections are never taken for one.
 * A connection pushed out, or too long to hold, is simply not known: its later records fall to the
 * port rule.
 */
export class Connections {
  readonly keys: Uint8Array
  readonly lengths: Uint8Array
  readonly hashes: Int32Array
  /** 0 empty; 1 the lower end opened; 2 the upper end opened. */
  readonly states: Uint8Array
  readonly stamps: Uint32Array
  private clock = 0
  opened = 0
  evicted = 0
  tooLong = 0

  constructor(state?: SerializedConnections) {
    this.keys = state?.keys ?? new Uint8Array(ENTRIES * WIDTH)
    this.lengths = state?.lengths ?? new Uint8Array(ENTRIES)
    this.hashes = state?.hashes ?? new Int32Array(ENTRIES)
    this.states = state?.states ?? new Uint8Array(ENTRIES)
    this.stamps = state?.stamps ?? new Uint32Array(ENTRIES)
  }

  /** Notes who opened the keyed record's connection: its source (bySource) or its destination. */
  note(key: ConnectionKey, bySource: boolean): void {
    if (key.length < 0) {
      this.tooLong++
      return
    }
    this.put(key.bytes, key.length, key.hash, bySource === key.sourceIsLower ? 1 : 2)
  }

  /** For the keyed record: OPENED_BY_SOURCE, OPENED_BY_DESTINATION, or NOT_KNOWN unless the exact key is held. */
  lookup(bytes: Uint8Array, length: number, hash: number, sourceIsLower: boolean): number {
    if (length < 0) return NOT_KNOWN
    const entry = this.find(bytes, length, hash)
    if (entry < 0) return NOT_KNOWN
    return (this.states[entry] === 1) === sourceIsLower ? OPENED_BY_SOURCE : OPENED_BY_DESTINATION
  }

  private find(bytes: Uint8Array, length: number, hash: number): number {
    const base = (hash & (SETS - 1)) * WAYS
    for (let entry = base; entry < base + WAYS; entry++) {
      if (this.states[entry] === 0 || this.hashes[entry] !== hash || this.lengths[entry] !== length) continue
      const at = entry * WIDTH
      let same = true
      for (let i = 0; i < length; i++) {
        if (this.keys[at + i] !== bytes[i]) {
          same = false
          break
        }
      }
      if (same) return entry
    }
    return -1
  }

  private put(bytes: Uint8Array, length: number, hash: number, state: number): void {
    const stamp = ++this.clock >>> 0
    let entry = this.find(bytes, length, hash)
    if (entry >= 0) {
      this.states[entry] = state
      this.stamps[entry] = stamp
      return
    }
    const base = (hash & (SETS - 1)) * WAYS
    entry = base
    for (let way = base; way < base + WAYS; way++) {
      if (this.states[way] === 0) {
        entry = way
        break
      }
      if (this.stamps[way] < this.stamps[entry]) entry = way
    }
    if (this.states[entry] !== 0) this.evicted++
    this.opened++
    this.keys.set(length === WIDTH ? bytes : bytes.subarray(0, length), entry * WIDTH)
    this.lengths[entry] = length
    this.hashes[entry] = hash
    this.states[entry] = state
    this.stamps[entry] = stamp
  }

  /** Folds in another table (a worker's): its connections are noted here, newest last. */
  merge(other: SerializedConnections): void {
    const order = [...other.states.keys()].filter((entry) => other.states[entry] !== 0).sort((a, b) => other.stamps[a] - other.stamps[b])
    // Its connections were counted where they were opened; only what this merge pushes out is new.
    const opened = this.opened
    for (const entry of order) {
      const at = entry * WIDTH
      this.put(other.keys.subarray(at, at + other.lengths[entry]), other.lengths[entry], other.hashes[entry], other.states[entry])
    }
    this.opened = opened + other.opened
    this.evicted += other.evicted
    this.tooLong += other.tooLong
  }

  serialize(): SerializedConnections {
    return {keys: this.keys, lengths: this.lengths, hashes: this.hashes, states: this.states, stamps: this.stamps, opened: this.opened, evicted: this.evicted, tooLong: this.tooLong}
  }

  stats(): ConnectionTableStats {
    return {opened: this.opened, evicted: this.evicted, tooLong: this.tooLong, capacity: ENTRIES}
  }
}
