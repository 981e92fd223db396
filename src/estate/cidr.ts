import {InfraError} from '../errors.js'

/** An IPv4 block as a base address (uint32) and a prefix length. */
export interface Ipv4Block {
  base: number
  prefix: number
}

const CIDR_PATTERN = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/

/** Parses "10.1.0.0/16"; returns undefined for anything malformed or with host bits set. */
export function parseCidr(text: string): Ipv4Block | undefined {
  const match = CIDR_PATTERN.exec(text)
  if (!match) return undefined
  const octets = match.slice(1, 5).map(Number)
  const prefix = Number(match[5])
  if (octets.some((octet) => octet > 255) || prefix > 32) return undefined
  const base = ((octets[0] << 24) | (octets[1] << 16) | (octets[2] << 8) | octets[3]) >>> 0
  if ((base & hostMask(prefix)) !== 0) return undefined
  return {base, prefix}
}

function hostMask(prefix: number): number {
  return prefix === 0 ? 0xffffffff : (2 ** (32 - prefix) - 1) >>> 0
}

export function formatCidr(block: Ipv4Block): string {
  const {base, prefix} = block
  return `${base >>> 24}.${(base >>> 16) & 255}.${(base >>> 8) & 255}.${base & 255}/${prefix}`
}

export function cidrsOverlap(a: Ipv4Block, b: Ipv4Block): boolean {
  const prefix = Math.min(a.prefix, b.prefix)
  const mask = ~hostMask(prefix) >>> 0
  return (a.base & mask) >>> 0 === (b.base & mask) >>> 0
}

/** The index-th block of size newPrefix inside parent, like Terraform's cidrsubnet(). */
export function subnetOf(parent: Ipv4Block, newPrefix: number, index: number): Ipv4Block {
  const count = 2 ** (newPrefix - parent.prefix)
  if (newPrefix < parent.prefix || index < 0 || index >= count) {
    throw new InfraError(`cannot carve subnet ${index} of /${newPrefix} from ${formatCidr(parent)}`)
  }
  return {base: (parent.base + index * 2 ** (32 - newPrefix)) >>> 0, prefix: newPrefix}
}

export interface SubnetLayout {
  /** Private application subnets, one per AZ: the first three quarters of the VPC. */
  app: string[]
  /** Isolated data subnets, one per AZ, with no route out. */
  data: string[]
  /** Public subnets that may hold only NAT gateways, one per AZ. */
  public: string[]
  /**
   * Private subnets that hold only the internal load balancers, one per AZ: nothing else has an
   * address there, so "the peer is in these subnets" means "the peer is a load balancer".
   */
  loadBalancer: string[]
}

/**
 * Carves a VPC into app, data, NAT and load-balancer subnets for up to three AZs. For a /16:
 * app /18 each, data /21 each in the first half of the fourth quarter; its second half holds
 * NAT /24 each at its start and load balancers /23 each from its middle (10.1.240.0/23 ...).
 *
 * The load-balancer tier was added after environments existed: it takes only space no other tier
 * ever used, so no existing subnet moves (test/estate/cidr.test.ts pins every other tier's CIDRs).
 * Its size is the VPC's prefix + 7: a /23 in a /16, a /27 in a /20, the smallest an ALB accepts
 * (Elastic Load Balancing User Guide, "Subnets for your load balancer": at least a /27 with 8
 * free addresses per subnet).
 */
export function layoutSubnets(vpcCidr: string, azCount: number): SubnetLayout {
  const vpc = parseCidr(vpcCidr)
  if (!vpc) throw new InfraError(`invalid VPC CIDR "${vpcCidr}"`)
  const quarters = [0, 1, 2, 3].map((index) => subnetOf(vpc, vpc.prefix + 2, index))
  const dataHalf = subnetOf(quarters[3], vpc.prefix + 3, 0)
  const natHalf = subnetOf(quarters[3], vpc.prefix + 3, 1)
  const azs = [...Array(azCount).keys()]
  return {
    app: azs.map((az) => formatCidr(quarters[az])),
    data: azs.map((az) => formatCidr(subnetOf(dataHalf, vpc.prefix + 5, az))),
    public: azs.map((az) => formatCidr(subnetOf(natHalf, vpc.prefix + 8, az))),
    // Blocks 8.. of 16 in the NAT half: the NAT subnets (at most 3 of the /prefix+8) stay below 2.
    loadBalancer: azs.map((az) => formatCidr(subnetOf(natHalf, vpc.prefix + 7, 8 + az))),
  }
}
