import {Args, Flags} from '@oclif/core'

import {JobsClient} from '../../jobs/client.js'
import {savedToken} from '../../jobs/credentials.js'
import {serviceFlags} from '../../jobs/flags.js'
import {ServiceCommand} from '../_lib/base-command.js'
import {EXIT, InfraError} from '../../errors.js'

export default class JobsResult extends ServiceCommand {
  static override summary = 'Write a finished job\'s collected data to stdout or a file.'
  static override args = {id: Args.string({description: 'job id', required: true})}
  static override flags = {...serviceFlags, output: Flags.string({char: 'o', description: 'write to this file (atomically, 0600; kept only when its bytes and SHA-256 match the service\'s) instead of stdout'})}

  async run(): Promise<{jobId: string; output: string; bytes: number; rows: number | null; sha256: string} | void> {
    const {args, flags} = await this.parse(JobsResult)
    // --json describes the result; the data itself then has to go to a file.
    if (this.jsonEnabled() && !flags.output) throw new InfraError('--json needs --output FILE', 'the data goes to the file, its description to stdout', 'MISSING_FLAG', EXIT.usage)
    const meta = await new JobsClient(flags.endpoint, flags.token || savedToken(flags.endpoint)).result(args.id, flags.output ?? process.stdout)
    if (!flags.output) return
    if (!this.jsonEnabled()) this.logToStderr(`wrote ${meta.bytes} bytes${meta.rows === null ? '' : ` (${meta.rows} rows)`} to ${flags.output}, sha256 ${meta.sha256} (checked against the service)`)
    return {jobId: args.id, output: flags.output, bytes: meta.bytes, rows: meta.rows, sha256: meta.sha256}
  }

}
