import {describe, expect, it} from 'vitest'

import {cidrsOverlap, formatCidr, layoutSubnets, parseCidr} from '../../src/estate/cidr.js'

describe('parseCidr', () => {
  it('parses a block and round-trips it', () => {
    expect(formatCidr(parseCidr('10.1.0.0/16')!)).toBe('10.1.0.0/16')
  })
  it.each(['10.1.0.0', '10.1.0.1/16', '256.1.0.0/16', '10.1.0.0/33', 'ten/8', ' 10.1.0.0/16'])('rejects %s', (text) => {
    expect(parseCidr(text)).toBeUndefined()
  })
})

describe('cidrsOverlap', () => {
  it('sees containment and adjacency apart', () => {
    expect(cidrsOverlap(parseCidr('10.1.0.0/16')!, parseCidr('10.1.128.0/20')!)).toBe(true)
    expect(cidrsOverlap(parseCidr('10.1.0.0/16')!, parseCidr('10.2.0.0/16')!)).toBe(false)
    expect(cidrsOverlap(parseCidr('10.0.0.0/8')!, parseCidr('10.3.0.0/16')!)).toBe(true)
  })
})

describe('layoutSubnets', () => {
  it('carves app, data and NAT subnets that do not overlap and stay inside the VPC', () => {
    const layout = layoutSubnets('10.3.0.0/16', 3)
    expect(layout.app).toEqual(['10.3.0.0/18', '10.3.64.0/18', '10.3.128.0/18'])
    expect(layout.data).toEqual(['10.3.192.0/21', '10.3.200.0/21', '10.3.208.0/21'])
    expect(layout.public).toEqual(['10.3.224.0/24', '10.3.225.0/24', '10.3.226.0/24'])
    expect(layout.loadBalancer).toEqual(['10.3.240.0/23', '10.3.242.0/23', '10.3.244.0/23'])
    const all = [...layout.app, ...layout.data, ...layout.public, ...layout.loadBalancer].map((cidr) => parseCidr(cidr)!)
    const vpc = parseCidr('10.3.0.0/16')!
    for (const [i, a] of all.entries()) {
      expect(cidrsOverlap(a, vpc)).toBe(true)
      for (const b of all.slice(i + 1)) expect(cidrsOverlap(a, b)).toBe(false)
    }
  })
  it('scales down to a /20', () => {
    const layout = layoutSubnets('10.9.16.0/20', 2)
    expect(layout.app).toEqual(['10.9.16.0/22', '10.9.20.0/22'])
    expect(layout.data).toEqual(['10.9.28.0/25', '10.9.28.128/25'])
    expect(layout.public).toEqual(['10.9.30.0/28', '10.9.30.16/28'])
    // A /27, the smallest subnet an ALB takes, and past the NAT subnets.
    expect(layout.loadBalancer).toEqual(['10.9.31.0/27', '10.9.31.32/27'])
  })
  // The load-balancer tier came after these environments were built: every subnet they have keeps
  // its CIDR (the values main had before the tier, for the shipped estate's dev, test and prod), so
  // terraform plans no replacement of any of them, only the new tier's creation.
  it.each([
    ['dev', '10.1'],
    ['test', '10.2'],
    ['prod', '10.3'],
  ])('leaves %s\'s existing tiers where they were (%s.0.0/16)', (_, net) => {
    const layout = layoutSubnets(`${net}.0.0/16`, 3)
    expect(layout.app).toEqual([`${net}.0.0/18`, `${net}.64.0/18`, `${net}.128.0/18`])
    expect(layout.data).toEqual([`${net}.192.0/21`, `${net}.200.0/21`, `${net}.208.0/21`])
    expect(layout.public).toEqual([`${net}.224.0/24`, `${net}.225.0/24`, `${net}.226.0/24`])
    for (const lb of layout.loadBalancer) {
      for (const other of [...layout.app, ...layout.data, ...layout.public]) expect(cidrsOverlap(parseCidr(lb)!, parseCidr(other)!)).toBe(false)
    }
  })
  it('fits the load-balancer tier beside the largest NAT layout of every VPC size the estate accepts (/16 to /20)', () => {
    for (let prefix = 16; prefix <= 20; prefix++) {
      const vpc = `10.${prefix}.0.0/${prefix}`
      const layout = layoutSubnets(vpc, 3)
      const others = [...layout.app, ...layout.data, ...layout.public].map((cidr) => parseCidr(cidr)!)
      for (const lb of layout.loadBalancer.map((cidr) => parseCidr(cidr)!)) {
        expect(lb.prefix).toBeLessThanOrEqual(27)
        expect(cidrsOverlap(lb, parseCidr(vpc)!)).toBe(true)
        for (const other of others) expect(cidrsOverlap(lb, other)).toBe(false)
      }
    }
  })
})
