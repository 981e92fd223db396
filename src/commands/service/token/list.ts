import os from 'node:os'
import path from 'node:path'

import {Flags} from '@oclif/core'

import {ServiceCommand} from '../../_lib/base-command.js'
import {renderTable} from '../../../output/table.js'
import {listTokens, type TokenView} from '../../../service/tokens.js'
import {openStore} from '../../../service/server.js'

export default class TokenList extends ServiceCommand {
  static override summary = 'List the collection service\'s API tokens: name, id, scopes, created, revoked (never the token or its hash).'
  static override examples = ['<%= config.bin %> service token list', '<%= config.bin %> service token list --json']

  static override flags = {
    'data-dir': Flags.string({description: 'the service\'s data folder', env: 'INFRA_SERVICE_DATA_DIR', default: path.join(os.homedir(), '.infra', 'service')}),
    'database-url': Flags.string({description: 'job store: sqlite:FILE, or postgres://USER@HOST/DB?sslmode=verify-full&sslrootcert=CA.pem (&iam=true for an IAM token)', env: 'INFRA_SERVICE_DATABASE_URL'}),
  }

  async run(): Promise<{tokens: TokenView[]}> {
    const {flags} = await this.parse(TokenList)
    const store = await openStore({dataDir: path.resolve(flags['data-dir']), databaseUrl: flags['database-url']}, {mustExist: true})
    try {
      const tokens = await listTokens(store)
      if (!this.jsonEnabled()) {
        this.log(tokens.length ? renderTable(['NAME', 'ID', 'SCOPES', 'CREATED', 'REVOKED'], tokens.map((t) => [t.name, t.id, t.scopes.join(' '), t.createdAt, t.revokedAt ?? '-'])) : 'No tokens yet: infra service token create --name NAME')
      }
      return {tokens}
    } finally {
      await store.close()
    }
  }
}
