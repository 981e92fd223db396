import {Flags} from '@oclif/core'

/** Where the service is and who is calling, for every jobs command. */
export const serviceFlags = {
  endpoint: Flags.string({description: 'collection service URL (a local one, or a tunnel to an environment\'s)', env: 'INFRA_SERVICE_URL', default: 'http://127.0.0.1:8080', helpGroup: 'SERVICE'}),
  token: Flags.string({description: 'API token (default: INFRA_SERVICE_TOKEN, then the one saved for the endpoint by `infra service token create --save`)', env: 'INFRA_SERVICE_TOKEN', helpGroup: 'SERVICE'}),
}
