import {Construct, SsmParameter} from './cdktf.js'
import type {StackContext} from './context.js'
import {DISCOVERY_KEYS, type DiscoveryKey, discoveryParameterName} from './discovery-keys.js'

export {DISCOVERY_KEYS, type DiscoveryKey, discoveryParameterName} from './discovery-keys.js'

/** Publishes what the stack built as SSM parameters, so other commands need no terraform state. */
export class Discovery extends Construct {
  constructor(scope: Construct, id: string, ctx: StackContext, values: Partial<Record<DiscoveryKey, string | string[]>>) {
    super(scope, id)
    for (const [key, value] of Object.entries(values) as [DiscoveryKey, string | string[] | undefined][]) {
      if (value === undefined) continue
      new SsmParameter(this, key, {
        name: discoveryParameterName(ctx.env.name, key),
        type: Array.isArray(value) ? 'StringList' : 'String',
        value: Array.isArray(value) ? value.join(',') : value,
        description: `infra discovery: ${DISCOVERY_KEYS[key]} of ${ctx.prefix}`,
      })
    }
  }
}
