import {createClient} from '../aws/clients.js'
import type {EnvironmentSpec, Estate} from '../estate/model.js'
import {hasLayer, openSearchEnabled} from '../estate/model.js'
import {InfraError} from '../errors.js'
import type {DiscoveredValues} from '../k8s/service-manifests.js'

/** The discovery parameters (see src/stacks/discovery.ts) the manifests need, by the flag that overrides each. */
const NEEDED: {key: keyof DiscoveredValues; parameter: string; flag: string; needed: (env: EnvironmentSpec) => boolean}[] = [
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
  return values
}
