import {appendFileSync, mkdirSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import {InfraError} from '../errors.js'
import type {AuditReport, Finding} from './engine.js'

/** Refuses to go on when an audit failed; the findings travel with the error for --json. */
export function enforceAudit(reports: AuditReport[], stage: 'synthesized stacks' | 'plan' | 'service manifests'): void {
  const blocking: Finding[] = reports.flatMap((report) => report.passed ? [] : report.findings.filter((f) => f.status === 'failed' && (f.severity === 'critical' || f.severity === 'high')))
  if (blocking.length === 0) return
  const first = blocking[0]
  throw new InfraError(
    `refusing to apply: the ${stage} break ${blocking.length} high or critical rule${blocking.length > 1 ? 's' : ''}, first ${first.rule} on ${first.constructPath ?? first.address} (${first.message})`,
    `${first.fix}; or declare an exception in the estate, or pass --accept-risk ${first.rule} --reason "..."`,
    'AUDIT_FAILED',
    1,
    {stage, findings: blocking},
  )
}

/** Appends accepted risks to the work folder's record, so an --accept-risk is never silent. */
export function recordAcceptedRisks(workDir: string, envName: string, risks: {rule: string; reason: string}[]): string | undefined {
  if (risks.length === 0) return undefined
  const file = path.resolve(workDir, envName, 'accepted-risks.jsonl')
  mkdirSync(path.dirname(file), {recursive: true})
  const user = (() => {
    try {
      return os.userInfo().username
    } catch {
      return 'unknown'
    }
  })()
  for (const risk of risks) appendFileSync(file, `${JSON.stringify({at: new Date().toISOString(), user, environment: envName, ...risk})}\n`)
  return file
}
