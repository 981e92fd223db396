import {describe, expect, it} from 'vitest'

import {parseEstate} from '../../src/estate/load.js'
import {cidrProblem, nextFreeBlock, poolUsage} from '../../src/estate/pool.js'

const estate = (extra: Record<string, unknown>) =>
  parseEstate(
    {
      organization: {name: 'acme', managementAccountId: '999999999999'},
      environments: {dev: {accountId: '111111111111', vpcCidr: '10.1.0.0/16'}},
      ...extra,
    },
    'test.yaml',
  )

describe('the client CIDR pool', () => {
  it('offers the lowest free /16, skipping blocks any environment, client or pending client overlaps', () => {
    const usage = poolUsage(
      estate({
        clientCidrPool: '10.64.0.0/10',
        clients: {
          aa: {accountId: '222222222222', vpcCidr: '10.64.0.0/16'},
          // a /20 takes its whole /16 block
          bb: {accountId: '333333333333', vpcCidr: '10.65.16.0/20'},
          cc: {status: 'pending', vpcCidr: '10.66.0.0/16'},
        },
      }),
    )!
    expect(usage).toMatchObject({pool: '10.64.0.0/10', blockPrefix: 16, capacity: 64, remaining: 61, next: '10.67.0.0/16'})
    expect(usage.allocated.map((allocation) => [allocation.owner, allocation.kind])).toEqual([
      ['aa', 'client'],
      ['bb', 'client'],
      ['cc', 'pending client'],
    ])
  })

  it('an environment inside the pool takes its block too', () => {
    const usage = poolUsage(estate({clientCidrPool: {cidr: '10.0.0.0/14', blockPrefix: 16}, clients: {aa: {accountId: '222222222222', vpcCidr: '10.0.0.0/20'}}}))!
    expect(usage.allocated.map((allocation) => allocation.owner)).toEqual(['dev', 'aa'])
    expect(usage.next).toBe('10.2.0.0/16')
    expect(usage.remaining).toBe(2)
  })

  it('a full pool and no pool are errors naming the fix', () => {
    expect(() => nextFreeBlock(estate({clientCidrPool: '10.1.0.0/16'}))).toThrow('the client CIDR pool 10.1.0.0/16 is full: all 1 /16 blocks are taken')
    expect(() => nextFreeBlock(estate({}))).toThrow(/declares no clientCidrPool/)
  })

  it('refuses a CIDR that overlaps, is public, or is the wrong size; a resumed client keeps its own', () => {
    const withClient = estate({clients: {aa: {accountId: '222222222222', vpcCidr: '10.64.0.0/16'}}})
    expect(cidrProblem(withClient, '10.64.128.0/20')).toBe("10.64.128.0/20 overlaps aa's 10.64.0.0/16")
    expect(cidrProblem(withClient, '10.64.0.0/16', 'aa')).toBeUndefined()
    expect(cidrProblem(withClient, '8.8.0.0/16')).toMatch(/not in a private range/)
    expect(cidrProblem(withClient, '10.0.0.0/8')).toMatch(/must be a \/16 to \/20/)
  })

  it('a malformed pool is an error naming the field', () => {
    expect(() => estate({clientCidrPool: '10.64.0.1/10'})).toThrow(/clientCidrPool\.cidr "10\.64\.0\.1\/10" is not a valid IPv4 CIDR/)
    expect(() => estate({clientCidrPool: {cidr: '10.64.0.0/10', blockPrefix: 12}})).toThrow(/clientCidrPool\.blockPrefix 12 is not a VPC size infra builds/)
  })
})
