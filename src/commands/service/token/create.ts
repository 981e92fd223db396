import os from 'node:os'
import path from 'node:path'

import {Flags} from '@oclif/core'

import {ServiceCommand} from '../../_lib/base-command.js'
import {openStore} from '../../../service/server.js'
import {DEFAULT_SCOPES, SCOPES, type Scope} from '../../../service/store/job-store.js'
import {createToken} from '../../../service/tokens.js'
import {saveToken} from '../../../jobs/credentials.js'

export default class TokenCreate extends ServiceCommand {
  static override summary = 'Create an API token for the collection service; it is shown once and stored hashed.'
  static override examples = ['<%= config.bin %> service token create --name ci', '<%= config.bin %> service token create --name auditor --scope jobs:read --scope admin']

  static override flags = {
    name: Flags.string({description: 'what the token is for', required: true}),
    scope: Flags.string({description: 'what it may do (repeatable): jobs:write triggers and cancels, jobs:read reads, both on its own jobs; admin every job', options: [...SCOPES], multiple: true, default: [...DEFAULT_SCOPES]}),
    'data-dir': Flags.string({description: 'the service\'s data folder', env: 'INFRA_SERVICE_DATA_DIR', default: path.join(os.homedir(), '.infra', 'service')}),
    'database-url': Flags.string({description: 'job store: sqlite:FILE, or postgres://USER@HOST/DB?sslmode=verify-full&sslrootcert=CA.pem (&iam=true for an IAM token)', env: 'INFRA_SERVICE_DATABASE_URL'}),
    save: Flags.boolean({description: 'also save it (0600) for `infra jobs` to use with --endpoint'}),
    endpoint: Flags.string({description: 'the service URL the saved token is for', env: 'INFRA_SERVICE_URL', default: 'http://127.0.0.1:8080'}),
  }

  async run(): Promise<{id: string; name: string; token: string; scopes: string[]}> {
    const {flags} = await this.parse(TokenCreate)
    const store = await openStore({dataDir: path.resolve(flags['data-dir']), databaseUrl: flags['database-url']})
    try {
      const created = await createToken(store, flags.name, flags.scope as Scope[])
      const savedTo = flags.save ? saveToken(flags.endpoint, created.token) : undefined
      if (!this.jsonEnabled()) {
        this.log(`${created.token}\n\nToken "${created.name}" (${created.scopes.join(', ')}) created. It is not shown again: ${savedTo ? `saved for ${flags.endpoint} in ${savedTo}` : 'export INFRA_SERVICE_TOKEN=<token>, or create it with --save'}`)
      }
      return created
    } catch (error) {
      if (/UNIQUE|duplicate key/.test((error as Error).message)) this.error(`a token named ${flags.name} exists: pick another name`, {exit: 1})
      throw error
    } finally {
      await store.close()
    }
  }
}
