import {CliCommand} from '../_lib/base-command.js'
import {renderTable} from '../../output/table.js'
import {wrap} from '../../output/terminal.js'
import type {Severity} from '../../policy/rule.js'
import {RULES} from '../../policy/rules.js'

interface RuleListing {
  id: string
  checkov: string | null
  severity: Severity
  title: string
  resourceTypes: string[]
  fix: string
  /** Where the rule fails more than the checkov check it names, and why. */
  stricterThanCheckov: string | null
  /** The AWS documentation the rule's types and exemptions follow. */
  source: string
}

/** The rules are the same for every estate, so no --estate. */
export default class AuditRules extends CliCommand {
  static override summary = 'List the security rules `audit stacks` and `provision` check, with checkov ids, severities and fixes.'
  static override examples = ['<%= config.bin %> audit rules', '<%= config.bin %> audit rules --json']

  async run(): Promise<{rules: RuleListing[]}> {
    await this.parse(AuditRules)
    const rules = RULES.map((rule) => ({id: rule.id, checkov: rule.checkov ?? null, severity: rule.severity, title: rule.title, resourceTypes: rule.types, fix: rule.fix, stricterThanCheckov: rule.stricter ?? null, source: rule.source}))
    if (!this.jsonEnabled()) {
      this.log(renderTable(['RULE', 'CHECKOV', 'SEVERITY', 'CHECKS', 'FIX'], rules.map((rule) => [rule.id, rule.checkov ?? '-', rule.severity, rule.title, rule.fix])))
      const stricter = rules.filter((rule) => rule.stricterThanCheckov)
      if (stricter.length > 0) this.log(`\nStricter than the checkov check they name:\n${stricter.map((rule) => wrap(`  ${rule.id}: ${rule.stricterThanCheckov}`, 4)).join('\n')}`)
      this.log(`\n${rules.length} rules, each citing the AWS documentation it follows (source in --json).\nExceptions go in the estate file (exceptions:),\nor --accept-risk RULE --reason "..." for one provision run.`)
    }
    return {rules}
  }
}
