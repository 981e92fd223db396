import os from 'node:os'
import path from 'node:path'

import {Args, Flags} from '@oclif/core'

import {ServiceCommand} from '../../_lib/base-command.js'
import {openStore} from '../../../service/server.js'
import {revokeToken, type TokenView} from '../../../service/tokens.js'

export default class TokenRevoke extends ServiceCommand {
  static override summary = 'Revoke an API token by name or id; a running service refuses it within a second.'
  static override examples = ['<%= config.bin %> service token revoke ci']
  static override args = {token: Args.string({description: 'the token\'s name or id (see `infra service token list`)', required: true})}

  static override flags = {
    'data-dir': Flags.string({description: 'the service\'s data folder', env: 'INFRA_SERVICE_DATA_DIR', default: path.join(os.homedir(), '.infra', 'service')}),
    'database-url': Flags.string({description: 'job store: sqlite:FILE, or postgres://USER@HOST/DB?sslmode=verify-full&sslrootcert=CA.pem (&iam=true for an IAM token)', env: 'INFRA_SERVICE_DATABASE_URL'}),
  }

  async run(): Promise<TokenView> {
    const {args, flags} = await this.parse(TokenRevoke)
    const store = await openStore({dataDir: path.resolve(flags['data-dir']), databaseUrl: flags['database-url']}, {mustExist: true})
    try {
      const revoked = await revokeToken(store, args.token)
      if (!this.jsonEnabled()) this.log(`Token "${revoked.name}" (${revoked.id}) revoked at ${revoked.revokedAt}; a running service refuses it within a second.`)
      return revoked
    } finally {
      await store.close()
    }
  }
}
