const DEPTH = 4

/** The last key's two hashes, kept in one object so hashing allocates nothing. */
const hashed = {h1: 0, h2: 0}

/** FNV-1a and a second multiplicative hash; the sketch rows use h1 + row*h2. */
export function hashKey(key: string): void {
  let h1 = 0x811c9dc5
  let h2 = 0x9747b28c
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i)
    h1 = Math.imul(h1 ^ c, 0x01000193)
    h2 = Math.imul(h2 ^ c, 0x5bd1e995) ^ (h2 >>> 15)
  }
  hashed.h1 = h1
  hashed.h2 = h2 | 1
}

/**
 * Heavy hitters in fixed memory: a count-min sketch estimates every key's total (never below the
 * truth, above it by at most `errorBound`), and only keys whose estimate beats the smallest
 * tracked candidate enter the candidate set. With many distinct keys most records only touch
 * the sketch, which keeps the cost per record flat.
 */
export class HeavyHitters {
  private readonly sketch: Float64Array
  private readonly mask: number
  private readonly candidates = new Map<string, number>()
  private floor = 0
  private total = 0

  constructor(
    readonly capacity = 100,
    readonly width = 1 << 16,
  ) {
    if ((width & (width - 1)) !== 0) throw new Error('width must be a power of two')
    this.sketch = new Float64Array(DEPTH * width)
    this.mask = width - 1
  }

  add(key: string, amount = 1): void {
    hashKey(key)
    this.addHashed(key, amount)
  }

  /** Adds a key whose hash `hashKey` has just computed: one hash serves several sketches. */
  addHashed(key: string, amount: number): void {
    if (amount <= 0) return
    this.total += amount
    const h1 = hashed.h1
    const h2 = hashed.h2
    let estimate = Infinity
    for (let row = 0; row < DEPTH; row++) {
      const index = row * this.width + ((h1 + row * h2) & this.mask)
      const value = (this.sketch[index] += amount)
      if (value < estimate) estimate = value
    }
    this.offer(key, estimate)
  }

  private offer(key: string, estimate: number): void {
    // Most keys of a busy network never come near the top: skip the map for them.
    if (estimate <= this.floor && this.candidates.size >= this.capacity) return
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
    hashKey(key)
    const {h1, h2} = hashed
    let estimate = Infinity
    for (let row = 0; row < DEPTH; row++) estimate = Math.min(estimate, this.sketch[row * this.width + ((h1 + row * h2) & this.mask)])
    return estimate
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
    const sketch = new Float64Array(other.sketch)
    for (let i = 0; i < this.sketch.length; i++) this.sketch[i] += sketch[i]
    this.total += other.total
    const keys = new Set([...this.candidates.keys(), ...other.candidates])
    this.candidates.clear()
    this.floor = 0
    for (const key of keys) this.offer(key, this.estimate(key))
  }

  serialize(): SerializedHeavyHitters {
    return {width: this.width, total: this.total, sketch: Array.from(this.sketch), candidates: [...this.candidates.keys()]}
  }
}

export interface SerializedHeavyHitters {
  width: number
  total: number
  sketch: number[] | Float64Array
  candidates: string[]
}
