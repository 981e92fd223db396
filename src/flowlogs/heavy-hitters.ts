const DEPTH = 4
const WIDTH = 1 << 16
const MASK = WIDTH - 1

/** murmur3's finalizer: spreads every input bit over the output. */
function mix(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b)
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35)
  return h ^ (h >>> 16)
}

/**
 * A key being hashed: FNV-1a fed piece by piece (strings or byte ranges), so a key made of several
 * fields is hashed without building it; `end` turns it into the sketch cells, one per row (double
 * hashing, h1 + row * h2), which every sketch counting that key shares. An object's fields, not
 * module variables: those cost a check on every access in the hot loop.
 */
export class SketchKey {
  hash = 0
  cell0 = 0
  cell1 = 0
  cell2 = 0
  cell3 = 0

  start(): this {
    this.hash = 0x811c9dc5
    return this
  }

  byte(c: number): void {
    this.hash = Math.imul(this.hash ^ c, 0x01000193)
  }

  bytes(buf: Uint8Array, from: number, to: number): void {
    let h = this.hash
    for (let i = from; i < to; i++) h = Math.imul(h ^ buf[i], 0x01000193)
    this.hash = h
  }

  /** A string's characters as latin1 bytes: what `bytes` sees for the same text. */
  string(text: string): void {
    let h = this.hash
    for (let i = 0; i < text.length; i++) h = Math.imul(h ^ (text.charCodeAt(i) & 0xff), 0x01000193)
    this.hash = h
  }

  end(): void {
    const h1 = mix(this.hash)
    const h2 = mix(this.hash ^ 0x9747b28c) | 1
    this.cell0 = h1 & MASK
    this.cell1 = WIDTH + ((h1 + h2) & MASK)
    this.cell2 = 2 * WIDTH + ((h1 + 2 * h2) & MASK)
    this.cell3 = 3 * WIDTH + ((h1 + 3 * h2) & MASK)
  }

  /** The whole key at once. */
  of(text: string): this {
    this.start().string(text)
    this.end()
    return this
  }
}

/**
 * Heavy hitters in fixed memory: a count-min sketch with conservative update estimates every
 * key's total (never below the truth, above it by at most `errorBound`), and only keys whose
 * estimate beats the smallest tracked candidate enter the candidate set. Callers hash the key
 * (a SketchKey), `count` it, and build the key's text only when `wants` says it could be a candidate: with many
 * distinct keys, most records touch nothing but the sketch.
 */
export class HeavyHitters {
  /** The sketch's cells, each at cell * lanes + lane: sketches counting the same keys share one array (see `paired`). */
  private readonly sketch: Float64Array
  private readonly lanes: number
  private readonly lane: number
  private readonly candidates = new Map<string, number>()
  private readonly key = new SketchKey()
  private floor = 0
  private total = 0

  readonly width = WIDTH

  constructor(readonly capacity = 100, shared?: {sketch: Float64Array; lanes: number; lane: number}) {
    this.sketch = shared?.sketch ?? new Float64Array(DEPTH * WIDTH)
    this.lanes = shared?.lanes ?? 1
    this.lane = shared?.lane ?? 0
  }

  /**
   * Two sketches for keys always counted together (the talkers by bytes and by packets): their
   * cells interleaved in one array, so a key's cell in both lies on one cache line and counting it
   * misses the cache four times, not eight. Estimates are the same as two separate sketches'.
   */
  static paired(capacity: number): [HeavyHitters, HeavyHitters] {
    const sketch = new Float64Array(2 * DEPTH * WIDTH)
    return [new HeavyHitters(capacity, {sketch, lanes: 2, lane: 0}), new HeavyHitters(capacity, {sketch, lanes: 2, lane: 1})]
  }

  add(key: string, amount = 1): void {
    const estimate = this.count(this.key.of(key), amount)
    if (this.wants(estimate)) this.offer(key, estimate)
  }

  /** Counts the key just hashed; returns its new estimate (0 when nothing was counted). */
  count(key: SketchKey, amount: number): number {
    if (amount <= 0) return 0
    this.total += amount
    const sketch = this.sketch
    const lanes = this.lanes
    const lane = this.lane
    const cell0 = key.cell0 * lanes + lane
    const cell1 = key.cell1 * lanes + lane
    const cell2 = key.cell2 * lanes + lane
    const cell3 = key.cell3 * lanes + lane
    const a = sketch[cell0]
    const b = sketch[cell1]
    const c = sketch[cell2]
    const d = sketch[cell3]
    const low = a < b ? a : b
    const high = c < d ? c : d
    const estimate = (low < high ? low : high) + amount
    // Conservative update: raise only the cells below the new estimate, which keeps noise from piling up.
    if (a < estimate) sketch[cell0] = estimate
    if (b < estimate) sketch[cell1] = estimate
    if (c < estimate) sketch[cell2] = estimate
    if (d < estimate) sketch[cell3] = estimate
    return estimate
  }

  /** Whether a key with this estimate could enter the candidate set. */
  wants(estimate: number): boolean {
    return estimate > 0 && (estimate > this.floor || this.candidates.size < this.capacity)
  }

  offer(key: string, estimate: number): void {
    if (this.candidates.has(key) || this.candidates.size < this.capacity) {
      this.candidates.set(key, estimate)
      return
    }
    if (estimate <= this.floor) return
    // Evict the smallest candidate; rare once the floor has risen.
    let minKey = ''
    let min = Infinity
    for (const [candidate, value] of this.candidates) {
      if (value < min) {
        min = value
        minKey = candidate
      }
    }
    if (estimate <= min) {
      this.floor = min
      return
    }
    this.candidates.delete(minKey)
    this.candidates.set(key, estimate)
    this.floor = min
  }

  private estimate(key: string): number {
    const cells = this.key.of(key)
    const sketch = this.sketch
    const lanes = this.lanes
    const lane = this.lane
    return Math.min(sketch[cells.cell0 * lanes + lane], sketch[cells.cell1 * lanes + lane], sketch[cells.cell2 * lanes + lane], sketch[cells.cell3 * lanes + lane])
  }

  top(n: number): {key: string; count: number}[] {
    return [...this.candidates.keys()]
      .map((key) => ({key, count: this.estimate(key)}))
      .sort((a, b) => b.count - a.count || a.key.localeCompare(b.key))
      .slice(0, n)
  }

  /** How far above the truth any reported count may be: e/width of everything counted (usually far less). */
  get errorBound(): number {
    return Math.ceil((Math.E / this.width) * this.total)
  }

  get size(): number {
    return this.candidates.size
  }

  merge(other: SerializedHeavyHitters): void {
    if (other.width !== this.width) throw new Error('cannot merge sketches of different widths')
    // Summing conservative-update sketches keeps every estimate at or above the truth.
    const sketch = other.sketch
    for (let i = 0; i < sketch.length; i++) this.sketch[i * this.lanes + this.lane] += sketch[i]
    this.total += other.total
    const keys = new Set([...this.candidates.keys(), ...other.candidates])
    this.candidates.clear()
    this.floor = 0
    for (const key of keys) {
      const estimate = this.estimate(key)
      if (this.wants(estimate)) this.offer(key, estimate)
    }
  }

  /** State to hand to another thread (structured clone copies the typed array as one block). */
  serialize(): SerializedHeavyHitters {
    let sketch: Float64Array
    if (this.lanes === 1) sketch = this.sketch.slice()
    else {
      // Its own cells only, as a sketch of its own would hold them.
      sketch = new Float64Array(DEPTH * WIDTH)
      for (let i = 0; i < sketch.length; i++) sketch[i] = this.sketch[i * this.lanes + this.lane]
    }
    return {width: this.width, total: this.total, sketch, candidates: [...this.candidates.keys()]}
  }
}

export interface SerializedHeavyHitters {
  width: number
  total: number
  sketch: Float64Array
  candidates: string[]
}
