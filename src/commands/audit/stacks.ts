import {writeFileSync} from 'node:fs'

import {Flags} from '@oclif/core'

import {findTarget} from '../../estate/load.js'
import {InfraCommand} from '../_lib/base-command.js'
import {EXIT, InfraError} from '../../errors.js'
import {auditEnvironment, auditFile, exceptionsFor} from '../../policy/audit-stacks.js'
import type {AuditReport} from '../../policy/engine.js'
import {renderAudit} from '../_lib/render-policy-audit.js'
import {SEVERITIES, type Severity} from '../../policy/rule.js'
import {RULES} from '../../policy/rules.js'
import {toSarif} from '../../policy/sarif.js'

export default class AuditStacks extends InfraCommand {
  static override summary = 'Check synthesized stacks or a terraform plan against the estate\'s security rules.'
  static override description = `Runs ${RULES.length} rules (named with their checkov equivalents) over Terraform JSON: an environment's synthesized stacks (--env), or any configuration or \`terraform show -json\` plan (--file). For a plan, values known only at apply come from the plan's own configuration section. Configuration (HCL or JSON, a file or a folder) is evaluated as terraform plans it: variables (defaults, terraform.tfvars, --var-file, --var), locals, count/for_each instances, dynamic blocks, local modules; what only a plan knows (data sources, unset variables) is listed as not evaluated. Exceptions declared in the estate file are reported as accepted, never dropped; findings below --fail-on are reported, not failing. Make plan.json with \`terraform show -json tfplan > plan.json\`; \`infra audit rules\` lists the rules. Exits 0 when it passes, 1 when a finding at or above --fail-on is not accepted, 2 when an input cannot be read, 3 when it passes but some attribute was not evaluated.`

  static override examples = [
    '<%= config.bin %> audit stacks --env prod',
    '<%= config.bin %> audit stacks --file plan.json',
    '<%= config.bin %> audit stacks --file plan.json --protected --fail-on critical',
    '<%= config.bin %> audit stacks --file ./terraform --var-file prod.tfvars --var env=prod',
    '<%= config.bin %> audit stacks --file plan.json --format sarif --output infra.sarif',
  ]

  static override flags = {
    env: Flags.string({char: 'e', description: 'synthesize and audit this environment or client', exactlyOne: ['env', 'file']}),
    file: Flags.string({char: 'f', description: 'Terraform configuration (.tf, .tf.json, cdk.tf.json, or a folder of them) or plan JSON to audit', multiple: true, exactlyOne: ['env', 'file']}),
    var: Flags.string({description: 'with configuration --file: a root variable, NAME=VALUE, as terraform -var', multiple: true}),
    'var-file': Flags.string({description: 'with configuration --file: a .tfvars or .tfvars.json file, as terraform -var-file', multiple: true}),
    format: Flags.string({description: 'output format', options: ['table', 'json', 'sarif'], default: 'table'}),
    output: Flags.string({char: 'o', description: 'write the report to this file instead of stdout'}),
    'fail-on': Flags.string({description: 'lowest severity that fails the audit', options: [...SEVERITIES], default: 'high'}),
    configuration: Flags.string({description: 'with a plan --file: the configuration it was planned from (cdk.tf.json, or the .tf folder, evaluated with --var/--var-file); by default the plan\'s own configuration section supplies values unknown until apply'}),
    protected: Flags.boolean({description: 'with --file: apply production rules (deletion protection, Multi-AZ, a year of logs)'}),
    'work-dir': Flags.string({description: 'folder for synthesized stacks', env: 'INFRA_WORK_DIR', default: '.infra'}),
  }

  async run(): Promise<{passed: boolean; proven: boolean; reports: AuditReport[]}> {
    const {flags} = await this.parse(AuditStacks)
    const blockAt = flags['fail-on'] as Severity
    const estate = this.loadEstate(flags.estate)
    let reports: AuditReport[]
    if (flags.env) {
      reports = auditEnvironment(estate, findTarget(estate, flags.env), flags['work-dir'], {blockAt})
    } else {
      const files = flags.file ?? []
      if (files.length === 0) throw new InfraError('nothing to audit', 'pass --env NAME or --file PATH', 'MISSING_FLAG', EXIT.usage)
      const variables = {vars: flags.var, varFiles: flags['var-file']}
      reports = []
      for (const file of files) reports.push(await auditFile(file, {blockAt, protected: flags.protected, exceptions: exceptionsFor(estate)}, flags.configuration, variables))
    }
    const passed = reports.every((report) => report.passed)
    // Findings say no (1); a pass with attributes not evaluated is not proven (3).
    const proven = reports.every((report) => report.notEvaluated.length === 0)
    if (!passed) process.exitCode = 1
    else if (!proven) process.exitCode = 3
    const format = this.jsonEnabled() ? 'json' : flags.format
    const body =
      format === 'sarif'
        ? JSON.stringify(toSarif(reports, RULES, this.config.version), null, 2)
        : format === 'json'
          ? JSON.stringify({passed, proven, reports}, null, 2)
          : renderAudit(reports)
    if (flags.output) {
      writeFileSync(flags.output, `${body}\n`)
      if (!this.jsonEnabled()) this.log(`${passed ? 'Passed' : 'Failed'}: report written to ${flags.output}`)
    } else if (!this.jsonEnabled()) {
      this.log(body)
    }
    return {passed, proven, reports}
  }
}
