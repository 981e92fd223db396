import {Args, Flags} from '@oclif/core'

import {JobsClient} from '../../jobs/client.js'
import {savedToken} from '../../jobs/credentials.js'
import {serviceFlags} from '../../jobs/flags.js'
import {InfraCommand} from '../../output/command.js'

export default class JobsResult extends InfraCommand {
  static override summary = 'Write a finished job\'s collected data to stdout or a file.'
  static override args = {id: Args.string({description: 'job id', required: true})}
  static override flags = {...serviceFlags, output: Flags.string({char: 'o', description: 'write to this file (atomically) instead of stdout'})}
  static override enableJsonFlag = false

  async run(): Promise<void> {
    const {args, flags} = await this.parse(JobsResult)
    const meta = await new JobsClient(flags.endpoint, flags.token || savedToken(flags.endpoint)).result(args.id, flags.output ?? process.stdout)
    if (flags.output) this.logToStderr(`wrote ${meta.bytes} bytes${meta.rows ? ` (${meta.rows} rows)` : ''} to ${flags.output}, sha256 ${meta.sha256}`)
  }
}
