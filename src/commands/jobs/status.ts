import {Args, Flags} from '@oclif/core'

import {JobsClient, type JobView} from '../../jobs/client.js'
import {savedToken} from '../../jobs/credentials.js'
import {serviceFlags} from '../../jobs/flags.js'
import {ServiceCommand} from '../_lib/base-command.js'
import {followJob} from '../_lib/follow-job.js'

export default class JobsStatus extends ServiceCommand {
  static override summary = 'Show a job: state, progress, attempts, result size and checksum.'
  static override args = {id: Args.string({description: 'job id', required: true})}
  static override flags = {
    ...serviceFlags,
    wait: Flags.boolean({description: 'follow the job until it ends (exit 1 unless it succeeded); Ctrl-C stops following, not the job'}),
  }

  async run(): Promise<JobView> {
    const {args, flags} = await this.parse(JobsStatus)
    const client = new JobsClient(flags.endpoint, flags.token || savedToken(flags.endpoint))
    const job = flags.wait ? await followJob(client, args.id, this.jsonEnabled() ? undefined : (line) => this.log(line)) : await client.status(args.id)
    if (flags.wait && job.status !== 'succeeded') process.exitCode = 1
    if (!this.jsonEnabled()) {
      this.log(`${job.job_id}  ${job.source_type}  ${job.status}  ${(job.progress * 100).toFixed(0)}%  attempt ${job.attempts}/${job.max_attempts}`)
      if (job.error) this.log(`error: ${job.error}`)
      if (job.result) this.log(`result: ${job.result.bytes} bytes${job.result.rows === null ? '' : `, ${job.result.rows} rows`}, sha256 ${job.result.sha256}`)
    }
    return job
  }
}
