import {Args} from '@oclif/core'

import {JobsClient, type JobView} from '../../jobs/client.js'
import {savedToken} from '../../jobs/credentials.js'
import {serviceFlags} from '../../jobs/flags.js'
import {ServiceCommand} from '../_lib/base-command.js'

export default class JobsCancel extends ServiceCommand {
  static override summary = 'Cancel a queued or running job.'
  static override args = {id: Args.string({description: 'job id', required: true})}
  static override flags = {...serviceFlags}

  async run(): Promise<JobView> {
    const {args, flags} = await this.parse(JobsCancel)
    const job = await new JobsClient(flags.endpoint, flags.token || savedToken(flags.endpoint)).cancel(args.id)
    if (!this.jsonEnabled()) this.log(`${job.job_id}: ${job.status === 'cancelled' ? 'cancelled' : 'cancel requested; it stops at its next check'}`)
    return job
  }
}
