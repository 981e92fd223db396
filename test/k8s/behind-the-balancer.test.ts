import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {layoutSubnets} from '../../src/estate/cidr.js'
import {startTestService, type TestService} from '../support/service.js'
import {synthesizedObjects} from './fixtures.js'

/**
 * Who the pod believes, with the trusted list exactly as dev's Deployment sets it: the real service
 * (Fastify's trustProxy), each request given the peer address it would have on EKS (light-my-request's
 * remoteAddress, the socket address request.ip starts from). The pods and nodes are in the app
 * subnets, the ALB in the load-balancer subnets. service-pod.integration.test.ts runs the pod as
 * written from loopback; this is the same list seen from the VPC's addresses, which no test
 * machine can have.
 */
describe('the pod behind the load balancer, as the Deployment configures it', () => {
  const [container] = synthesizedObjects('dev').find('Deployment').spec.template.spec.containers
  const trusted = (container.env.find((e: any) => e.name === 'INFRA_SERVICE_TRUSTED_PROXIES').value as string).split(',')
  const layout = layoutSubnets('10.1.0.0/16', 3)
  const ALB = '10.1.242.17' // in dev's load-balancer subnet of the second zone
  const POD = '10.1.64.200' // an app-subnet address: any pod or node
  let service: TestService
  /** A request with a well-formed token that is not valid, from the given peer, naming a client. */
  const failFrom = async (peer: string, forwardedFor: string) =>
    (await service.service.app.inject({method: 'GET', url: '/api/v1/jobs', remoteAddress: peer, headers: {authorization: `Bearer infra_${'Z'.repeat(43)}`, 'x-forwarded-for': forwardedFor}})).statusCode

  beforeAll(async () => {
    expect(trusted).toEqual(layout.loadBalancer)
    service = await startTestService({}, {trustedProxies: trusted})
  })
  afterAll(() => service?.service.stop())

  it('counts a pod\'s or node\'s failures against its own address whatever X-Forwarded-For it forges', async () => {
    // Each request names another client, one of them in the load-balancer subnets: believed, none
    // would reach the burst of 20; not believed, the peer reaches it.
    const statuses: number[] = []
    for (let i = 0; i < 30; i++) statuses.push(await failFrom(POD, i === 0 ? ALB : `10.1.0.${i}`))
    expect(statuses.slice(0, 20)).toEqual(Array(20).fill(401))
    expect(statuses.slice(20)).toContain(429)
  })

  it('believes the ALB: one client behind it exhausting its allowance leaves the next client behind it alone', async () => {
    const statuses: number[] = []
    for (let i = 0; i < 30; i++) statuses.push(await failFrom(ALB, '192.0.2.10'))
    expect(statuses.slice(20)).toContain(429)
    expect(await failFrom(ALB, '192.0.2.11')).toBe(401)
    // A client naming someone else in front of the ALB's own entry is still the address the ALB saw.
    expect(await failFrom(ALB, '192.0.2.99, 192.0.2.10')).toBe(429)
  })
})
