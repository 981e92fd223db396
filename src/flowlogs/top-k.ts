/**
 * Heavy hitters in bounded memory: counts per key, pruned back to the `capacity` largest whenever
 * the map reaches twice that. A key's count is exact while it stays; a key pruned and seen again
 * starts over, so small counts near the cut-off are lower bounds. Sorting happens once per
 * `capacity` new keys, so the cost per record stays constant.
 */
export class TopK {
  private readonly counts = new Map<string, number>()
  /** Largest count ever pruned: any key not kept had at most this much. */
  private pruneFloor = 0

  constructor(readonly capacity = 1000) {}

  add(key: string, amount = 1): void {
    this.counts.set(key, (this.counts.get(key) ?? 0) + amount)
    if (this.counts.size >= this.capacity * 2) this.prune()
  }

  merge(other: TopK | SerializedTopK): void {
    const entries = other instanceof TopK ? other.counts : new Map(other.entries)
    for (const [key, count] of entries) this.add(key, count)
    this.pruneFloor = Math.max(this.pruneFloor, other instanceof TopK ? other.pruneFloor : other.pruneFloor)
  }

  top(n: number): {key: string; count: number}[] {
    return [...this.counts].sort((a, b) => b[1] - a[1]).slice(0, n).map(([key, count]) => ({key, count}))
  }

  /** An upper bound on the count of any key that was dropped; 0 when the counts are exact. */
  get error(): number {
    return this.pruneFloor
  }

  get size(): number {
    return this.counts.size
  }

  serialize(): SerializedTopK {
    return {entries: [...this.counts], pruneFloor: this.pruneFloor}
  }

  private prune(): void {
    const sorted = [...this.counts].sort((a, b) => b[1] - a[1])
    for (const [key, count] of sorted.slice(this.capacity)) {
      this.pruneFloor = Math.max(this.pruneFloor, count)
      this.counts.delete(key)
    }
  }
}

export interface SerializedTopK {
  entries: [string, number][]
  pruneFloor: number
}
