import {readFileSync} from 'node:fs'

import {Flags} from '@oclif/core'

import {JobsClient, type JobView} from '../../jobs/client.js'
import {savedToken} from '../../jobs/credentials.js'
import {serviceFlags} from '../../jobs/flags.js'
import {ServiceCommand} from '../_lib/base-command.js'
import {followJob} from '../_lib/follow-job.js'
import {EXIT, InfraError} from '../../errors.js'

export default class JobsTrigger extends ServiceCommand {
  static override summary = 'Queue a collection job; --wait follows it to the end.'
  static override examples = [
    `<%= config.bin %> jobs trigger --source-type file --config '{"path": "report.csv"}' --wait`,
    `<%= config.bin %> jobs trigger --source-type database --config '{"connection": "crm", "table": "users", "limit": 100}'`,
    `<%= config.bin %> jobs trigger --source-type http --config-file job.json --idempotency-key nightly-export`,
  ]

  static override flags = {
    ...serviceFlags,
    'source-type': Flags.string({description: 'what to collect from; /docs on the service shows each one\'s config', options: ['database', 'file', 'http', 's3'], required: true}),
    config: Flags.string({description: 'the source\'s config as JSON', exclusive: ['config-file']}),
    'config-file': Flags.string({description: 'a JSON file with the source\'s config'}),
    'idempotency-key': Flags.string({description: 'repeat-safe key: the same key returns the same job'}),
    wait: Flags.boolean({description: 'follow the job until it ends; exit 1 unless it succeeded'}),
  }

  async run(): Promise<{job_id: string; status: string; created: boolean; job?: JobView}> {
    const {flags} = await this.parse(JobsTrigger)
    let raw = flags.config
    if (flags['config-file']) {
      try {
        raw = readFileSync(flags['config-file'], 'utf8')
      } catch (error) {
        throw new InfraError(`--config-file ${flags['config-file']}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message}`, 'pass a JSON file with the source\'s config', 'BAD_CONFIG', EXIT.usage)
      }
    }
    if (!raw) throw new InfraError('missing --config', 'pass --config \'{"table": "users"}\' or --config-file FILE', 'MISSING_FLAG', EXIT.usage)
    let config: Record<string, unknown>
    try {
      config = JSON.parse(raw)
    } catch (error) {
      throw new InfraError(`--config is not JSON: ${(error as Error).message}`, 'quote it for your shell, e.g. --config \'{"table": "users"}\'', 'BAD_CONFIG', EXIT.usage)
    }
    const client = new JobsClient(flags.endpoint, flags.token || savedToken(flags.endpoint))
    const queued = await client.trigger(flags['source-type'], config, flags['idempotency-key'])
    if (!this.jsonEnabled()) this.log(`${queued.created ? 'Queued' : 'Already queued (same idempotency key)'}: ${queued.job_id}`)
    if (!flags.wait) return queued
    const job = await followJob(client, queued.job_id, this.jsonEnabled() ? undefined : (line) => this.log(line))
    if (job.status !== 'succeeded') process.exitCode = 1
    return {...queued, job}
  }
}
