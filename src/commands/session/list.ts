import {Flags} from '@oclif/core'

import type {OpenSession} from '../../ssm/session-api.js'
import {listSessions} from '../../ssm/session.js'
import {renderTable} from '../../output/table.js'
import {InfraCommand, awsFlags} from '../_lib/base-command.js'
import {SESSION_PURPOSE, commandSsmContext} from '../_lib/ssm.js'

export default class SessionList extends InfraCommand {
  static override summary = 'List your open Session Manager sessions in an environment\'s account.'
  static override examples = ['<%= config.bin %> session list --env prod', '<%= config.bin %> session list --env dev --all --json']

  static override flags = {
    ...awsFlags,
    env: Flags.string({char: 'e', description: 'environment or client whose account to look in', required: true}),
    all: Flags.boolean({description: 'everyone\'s open sessions, not only yours'}),
  }

  async run(): Promise<{environment: string; owner: string | null; sessions: OpenSession[]}> {
    const {flags} = await this.parse(SessionList)
    const ctx = await commandSsmContext(this.loadEstate(flags.estate), flags, SESSION_PURPOSE)
    const owner = flags.all ? undefined : await ctx.callerArn()
    const sessions = await listSessions(ctx, owner)
    if (!this.jsonEnabled()) {
      this.log(
        sessions.length === 0
          ? `No open sessions${owner ? ` of ${owner}` : ''} in ${ctx.env.name}`
          : renderTable(
              ['SESSION', 'TARGET', 'STATUS', 'STARTED', 'DOCUMENT', 'REASON', ...(owner ? [] : ['OWNER'])],
              sessions.map((s) => [s.sessionId, s.target, s.status, s.startDate ?? '', s.documentName ?? '', s.reason ?? '', ...(owner ? [] : [s.owner ?? ''])]),
            ),
      )
    }
    return {environment: ctx.env.name, owner: owner ?? null, sessions}
  }
}
