import {Flags} from '@oclif/core'

import {type DoctorReport, PURPOSES, readiness, runDoctor} from '../doctor/checks.js'
import {resolveEstatePath} from '../estate/load.js'
import {InfraError} from '../errors.js'
import {renderTable} from '../output/table.js'
import {InfraCommand, awsFlags} from './_lib/base-command.js'

export default class Doctor extends InfraCommand {
  static override summary = 'Check that this machine has what the other commands need, and say how to fix each gap.'
  static override description = `Checks Node.js, the estate file, AWS credentials (and whose they are), terraform or tofu and the provider source, the Session Manager plugin, kubectl, psql and the embedded service's SQLite driver.

With --for, exits 1 when something that purpose needs is missing; without it, only when something every command needs is missing. --for ci also reads the GitHub environments the pipelines apply in (gh api) and says which is unprotected: missing, admitting other branches than its own, or without a reviewer where the estate says protected.`

  static override examples = [
    '<%= config.bin %> doctor',
    '<%= config.bin %> doctor --for provision',
    '<%= config.bin %> doctor --for tunnel --json',
    '<%= config.bin %> doctor --for ci',
  ]

  static override flags = {
    profile: awsFlags.profile,
    for: Flags.string({description: 'what you are about to do: the checks it needs decide the exit code', options: [...PURPOSES]}),
  }

  async run(): Promise<DoctorReport> {
    const {flags} = await this.parse(Doctor)
    // An --estate that names nothing is the line's mistake (exit 2), not a finding of the doctor.
    if (flags.estate) resolveEstatePath(flags.estate)
    const report = await runDoctor({purpose: flags.for as DoctorReport['purpose'] ?? undefined, estateFile: flags.estate, profile: flags.profile})
    if (!this.jsonEnabled()) {
      const mark = {ok: 'ok', missing: 'MISSING', warning: 'warning'} as const
      this.log(renderTable(['CHECK', 'STATUS', 'FOUND'], report.checks.map((check) => [check.title, mark[check.status], check.detail])))
      const gaps = report.checks.filter((check) => check.status !== 'ok' && check.fix)
      if (gaps.length) this.log(['', ...gaps.map((check) => `${check.title}: ${check.fix}`)].join('\n'))
      // When not ready, the error line below says so once, with the fixes.
      if (report.ok) this.log(`\n${readiness(report)}`)
    }
    if (!report.ok) {
      throw new InfraError(
        `not ready${report.purpose ? ` for ${report.purpose}` : ''}: ${report.blocking.join(', ')} missing`,
        report.checks.filter((check) => report.blocking.includes(check.id)).map((check) => check.fix).join('; '),
        'DOCTOR_NOT_READY',
        1,
        report,
      )
    }
    return report
  }
}

