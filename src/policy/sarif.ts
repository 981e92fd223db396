import type {AuditReport} from './engine.js'
import type {Rule, Severity} from './rule.js'

const LEVEL: Record<Severity, 'error' | 'warning' | 'note'> = {critical: 'error', high: 'error', medium: 'warning', low: 'note'}
const SCORE: Record<Severity, string> = {critical: '9.5', high: '8.0', medium: '5.0', low: '2.0'}

/** SARIF 2.1.0 for code-scanning dashboards; accepted findings are reported as suppressed. */
export function toSarif(reports: AuditReport[], rules: Rule[], version: string): object {
  return {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'infra audit stacks',
            version,
            rules: rules.map((rule) => ({
              id: rule.id,
              name: rule.id,
              shortDescription: {text: rule.title},
              help: {text: rule.fix},
              // The AWS documentation the rule follows: its first URL, for dashboards that link a rule.
              helpUri: rule.source.match(/https:\/\/[^\s,;)]+/)?.[0],
              fullDescription: {text: `Follows ${rule.source}`},
              properties: {'security-severity': SCORE[rule.severity], severity: rule.severity, ...(rule.checkov ? {checkov: rule.checkov} : {})},
              defaultConfiguration: {level: LEVEL[rule.severity]},
            })),
          },
        },
        // What configuration input could not evaluate is told, not dropped: a warning per attribute.
        invocations: [
          {
            executionSuccessful: true,
            toolExecutionNotifications: reports.flatMap((report) =>
              report.notEvaluated.map((entry) => ({
                level: 'warning',
                message: {text: `not evaluated: ${entry.address} ${entry.attribute} (${entry.reason}); rules saw it unset`},
                locations: [{physicalLocation: {artifactLocation: {uri: report.source}}, logicalLocations: [{fullyQualifiedName: entry.address, kind: 'resource'}]}],
              })),
            ),
          },
        ],
        results: reports.flatMap((report) =>
          report.findings.map((finding) => ({
            ruleId: finding.rule,
            // An unproven finding asks for review, not a fix (SARIF 2.1.0 §3.27.9: kind "review";
            // a result whose kind is not "fail" has level "none", §3.27.10).
            ...(finding.status === 'unproven' ? {kind: 'review', level: 'none'} : {level: LEVEL[finding.severity]}),
            message: {text: finding.unprovenBy ? `${finding.message}, but read ${finding.unprovenBy.join(', ')}, which need a plan` : `${finding.message}. Fix: ${finding.fix}`},
            locations: [
              {
                physicalLocation: {artifactLocation: {uri: report.source}},
                logicalLocations: [{fullyQualifiedName: finding.constructPath ?? finding.address, kind: 'resource'}],
              },
            ],
            ...(finding.status === 'accepted'
              ? {suppressions: [{kind: 'external', status: 'accepted', justification: `${finding.exception!.reason} (until ${finding.exception!.expires})`}]}
              : {}),
          })),
        ),
      },
    ],
  }
}
