import {createClient} from '../aws/clients.js'
import type {EnvironmentSpec, Estate} from '../estate/model.js'
import {hasLayer, openSearchEnabled} from '../estate/model.js'
import {InfraError} from '../errors.js'
import type {DiscoveredValues} from '../k8s/service-manifests.js'

/** The discovery parameters (see src/stacks/discovery.ts) the manifests need, by the flag that overrides each. */
const NEEDED: {key: keyof DiscoveredValues; parameter: string; flag: string; needed: (env: EnvironmentSpec) => boolean}[] = [
  // Published only by stacks that have the load-balancer tier: an environment provisioned before
  // it is refused here rather than given an ALB the NetworkPolicy cuts off.
  {key: 'loadBalancerSubnets', parameter: 'network/load-balancer-subnet-ids', flag: '--alb-subnets', needed: (env) => hasLayer(env, 'eks')},
  {key: 'albSecurityGroup', parameter: 'eks/alb-security-group-id', flag: '--alb-security-group', needed: (env) => hasLayer(env, 'eks')},
  {key: 'wafWebAclArn', parameter: 'waf/web-acl-arn', flag: '--waf-acl-arn', needed: (env) => hasLayer(env, 'waf')},
  {key: 'databaseSecretArn', parameter: 'database/secret-arn', flag: '--database-secret-arn', needed: (env) => hasLayer(env, 'database')},
  {key: 'databaseEndpoint', parameter: 'database/endpoint', flag: '--database-endpoint', needed: (env) => hasLayer(env, 'database')},
  {key: 'openSearchEndpoint', parameter: 'logs/opensearch-endpoint', flag: '--opensearch-endpoint', needed: (env) => openSearchEnabled(env) !== undefined},
]

/**
 * What only the applied stacks know, from their discovery parameters in SSM (one GetParameters
 * call); values given as flags are used as they are and not looked up.
 */
export async function resolveDiscoveredValues(estate: Estate, env: EnvironmentSpec, given: DiscoveredValues, profile?: string): Promise<DiscoveredValues> {
  const values: DiscoveredValues = {...given}
  checkLoadBalancerValues(env, values, 'flag')
  const missing = NEEDED.filter((entry) => entry.needed(env) && !values[entry.key])
  if (missing.length === 0) return values
  const names = missing.map((entry) => `/infra/${env.name}/${entry.parameter}`)
  const flags = missing.map((entry) => entry.flag).join(', ')
  const {GetParametersCommand, SSMClient} = await import('@aws-sdk/client-ssm')
  try {
    const ssm = await createClient(SSMClient, {estate, target: env, profile, purpose: 'deploy-service'})
    const answer = await ssm.send(new GetParametersCommand({Names: names}))
    for (const entry of missing) {
      const found = answer.Parameters?.find((parameter) => parameter.Name === `/infra/${env.name}/${entry.parameter}`)?.Value
      if (found) values[entry.key] = found
    }
  } catch (error) {
    const reason = error instanceof InfraError ? error.message : (error as Error).message
    throw new InfraError(`cannot read ${names.join(', ')}: ${reason}`, `pass ${flags}, or run with credentials for ${env.name} after \`infra provision --env ${env.name}\``, 'DISCOVERY_UNAVAILABLE')
  }
  const stillMissing = missing.filter((entry) => !values[entry.key])
  if (stillMissing.length > 0) {
    throw new InfraError(
      `${env.name} has no ${stillMissing.map((entry) => `/infra/${env.name}/${entry.parameter}`).join(', ')}`,
      `provision the environment first (\`infra provision --env ${env.name}\`), or pass ${stillMissing.map((entry) => entry.flag).join(', ')}`,
      'DISCOVERY_MISSING',
    )
  }
  checkLoadBalancerValues(env, values, 'parameter')
  return values
}

const SUBNET_ID = /^subnet-[0-9a-f]{8,17}$/
const SECURITY_GROUP_ID = /^sg-[0-9a-f]{8,17}$/

/**
 * The load balancer's subnets are one per zone of the environment, and ids (a Name tag would
 * also be taken by the controller, but could match a subnet of another VPC in the account).
 */
function checkLoadBalancerValues(env: EnvironmentSpec, values: DiscoveredValues, from: 'flag' | 'parameter'): void {
  const where = (flag: string, parameter: string) => (from === 'flag' ? flag : `/infra/${env.name}/${parameter}`)
  const fix = from === 'flag' ? 'pass the ids the network stack published: aws ssm get-parameters --names' : `provision the environment again (\`infra provision --env ${env.name}\`), or pass --alb-subnets and --alb-security-group; see`
  if (values.loadBalancerSubnets !== undefined) {
    values.loadBalancerSubnets = values.loadBalancerSubnets.split(',').map((id) => id.trim()).join(',')
    const ids = values.loadBalancerSubnets.split(',').map((id) => id.trim())
    if (ids.length !== env.availabilityZones.length || !ids.every((id) => SUBNET_ID.test(id))) {
      const source = where('--alb-subnets', 'network/load-balancer-subnet-ids')
      throw new InfraError(
        `${source} is ${JSON.stringify(values.loadBalancerSubnets)}: expected ${env.availabilityZones.length} subnet ids (one per zone of ${env.name}), comma-separated`,
        `${fix} /infra/${env.name}/network/load-balancer-subnet-ids`,
        from === 'flag' ? 'BAD_FLAG' : 'DISCOVERY_INVALID',
      )
    }
  }
  if (values.albSecurityGroup !== undefined && !SECURITY_GROUP_ID.test(values.albSecurityGroup)) {
    throw new InfraError(
      `${where('--alb-security-group', 'eks/alb-security-group-id')} is ${JSON.stringify(values.albSecurityGroup)}: expected a security group id (sg-...)`,
      `${fix} /infra/${env.name}/eks/alb-security-group-id`,
      from === 'flag' ? 'BAD_FLAG' : 'DISCOVERY_INVALID',
    )
  }
}
