import {Flags} from '@oclif/core'

import {JobsClient, type JobView} from '../../jobs/client.js'
import {savedToken} from '../../jobs/credentials.js'
import {serviceFlags} from '../../jobs/flags.js'
import {ServiceCommand} from '../_lib/base-command.js'
import {renderTable} from '../../output/table.js'
import {parseTime} from '../../flowlogs/sources.js'

export default class JobsList extends ServiceCommand {
  static override summary = 'List jobs, newest first, with filters and paging (a token sees its own jobs; an admin token every job).'
  static override examples = ['<%= config.bin %> jobs list --since 24h --status failed', '<%= config.bin %> jobs list --since 2026-11-27 --json']
  static override flags = {
    ...serviceFlags,
    status: Flags.string({options: ['queued', 'running', 'succeeded', 'failed', 'cancelled']}),
    'source-type': Flags.string({options: ['database', 'file', 'http', 's3']}),
    since: Flags.string({description: 'created at or after: ISO date/time or a duration like 24h, 7d'}),
    limit: Flags.integer({default: 50, min: 1, max: 500}),
    cursor: Flags.string({description: 'next page, from a previous --json output'}),
  }

  async run(): Promise<{jobs: JobView[]; next_cursor: string | null}> {
    const {flags} = await this.parse(JobsList)
    const since = flags.since ? parseTime(flags.since, '--since').toISOString() : undefined
    const page = await new JobsClient(flags.endpoint, flags.token || savedToken(flags.endpoint)).list({status: flags.status, source_type: flags['source-type'], created_after: since, limit: flags.limit, cursor: flags.cursor}, {created_after: '--since', cursor: '--cursor', status: '--status', source_type: '--source-type', limit: '--limit'})
    if (!this.jsonEnabled()) {
      this.log(renderTable(['JOB', 'SOURCE', 'STATUS', 'PROGRESS', 'CREATED'], page.jobs.map((j) => [j.job_id, j.source_type, j.status, `${(j.progress * 100).toFixed(0)}%`, j.created_at])))
      if (page.next_cursor) this.log(`\nmore: --cursor ${page.next_cursor}`)
    }
    return page
  }
}
