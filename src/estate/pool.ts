import {InfraError} from '../errors.js'
import {cidrsOverlap, formatCidr, parseCidr, subnetOf} from './cidr.js'
import {allTargets, type Estate} from './model.js'

/** One range already taken in the estate, and by whom. */
export interface CidrAllocation {
  cidr: string
  owner: string
  kind: 'environment' | 'client' | 'pending client'
}

export interface PoolUsage {
  pool: string
  blockPrefix: number
  /** Blocks the pool holds in all. */
  capacity: number
  /** Blocks of the pool that overlap any environment or client (in or out of the pool). */
  allocated: CidrAllocation[]
  /** Blocks still free. */
  remaining: number
  /** The lowest free block, or null when the pool is full. */
  next: string | null
}

/** Every VPC range in the estate: environments, clients, and pending clients. */
export function allocations(estate: Estate): CidrAllocation[] {
  return [
    ...allTargets(estate).map((target) => ({cidr: target.vpcCidr, owner: target.name, kind: target.kind})),
    ...(estate.pendingClients ?? []).map((client) => ({cidr: client.vpcCidr, owner: client.name, kind: 'pending client' as const})),
  ]
}

/** What the client pool holds: taken blocks, free count, and the next free one. Undefined when no pool is declared. */
export function poolUsage(estate: Estate): PoolUsage | undefined {
  const declared = estate.clientCidrPool
  if (!declared) return undefined
  const pool = parseCidr(declared.cidr)!
  const capacity = 2 ** (declared.blockPrefix - pool.prefix)
  const taken = allocations(estate).map((allocation) => ({...allocation, block: parseCidr(allocation.cidr)}))
  const inPool = taken.filter((allocation) => allocation.block && cidrsOverlap(allocation.block, pool))
  let free = 0
  let next: string | null = null
  // 64 blocks for a /10 in /16s, 4096 at most for /8 in /20s: a linear walk is plenty.
  for (let index = 0; index < capacity; index++) {
    const block = subnetOf(pool, declared.blockPrefix, index)
    if (inPool.some((allocation) => cidrsOverlap(allocation.block!, block))) continue
    free++
    next ??= formatCidr(block)
  }
  return {
    pool: declared.cidr,
    blockPrefix: declared.blockPrefix,
    capacity,
    allocated: inPool.map(({cidr, owner, kind}) => ({cidr, owner, kind})),
    remaining: free,
    next,
  }
}

/** The next free block of the pool, or a clear error when there is no pool or it is full. */
export function nextFreeBlock(estate: Estate): string {
  const usage = poolUsage(estate)
  if (!usage) {
    throw new InfraError(
      `${estate.source} declares no clientCidrPool to allocate client ranges from`,
      'add e.g. `clientCidrPool: 10.64.0.0/10` (room for 64 /16 clients) to the estate file, or pass --cidr',
      'NO_CIDR_POOL',
    )
  }
  if (!usage.next) {
    throw new InfraError(
      `the client CIDR pool ${usage.pool} is full: all ${usage.capacity} /${usage.blockPrefix} blocks are taken`,
      'widen clientCidrPool in the estate file (or declare a second private range), or offboard a client that left',
      'CIDR_POOL_FULL',
      1,
      {pool: usage.pool, capacity: usage.capacity, allocated: usage.allocated},
    )
  }
  return usage.next
}

/**
 * Why a range cannot be given to a new client (malformed, wrong size, not private, overlapping),
 * or undefined when it can. `ignoreOwner` lets a resumed onboarding keep the range it reserved.
 */
export function cidrProblem(estate: Estate, cidr: string, ignoreOwner?: string): string | undefined {
  const block = parseCidr(cidr)
  if (!block) return `"${cidr}" is not a valid IPv4 CIDR with no host bits set, e.g. "10.64.0.0/16"`
  if (block.prefix < 16 || block.prefix > 20) return `"${cidr}" must be a /16 to /20`
  const privateRange = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'].some((range) => {
    const parent = parseCidr(range)!
    return block.prefix >= parent.prefix && cidrsOverlap(block, parent)
  })
  if (!privateRange) return `"${cidr}" is not in a private range (10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16)`
  const clash = allocations(estate).find((allocation) => {
    if (allocation.owner === ignoreOwner) return false
    const other = parseCidr(allocation.cidr)
    return other !== undefined && cidrsOverlap(other, block)
  })
  if (clash) return `${cidr} overlaps ${clash.owner}'s ${clash.cidr}`
  return undefined
}
