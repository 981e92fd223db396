import {createHash} from 'node:crypto'
import {existsSync, mkdirSync, readFileSync} from 'node:fs'
import path from 'node:path'

import {writeFileAtomic} from '../estate/atomic-file.js'
import type {ProvisionReport} from '../provision/provision.js'

/** The baseline last applied to a target: which infra, which synthesized stacks, when. */
export interface BaselineRecord {
  target: string
  accountId: string
  infraVersion: string
  /** sha256 of the synthesized stacks, so two targets on the same baseline show the same value. */
  fingerprint: string
  appliedAt: string
  /** False when a stack with changes was not applied (declined at a later question): the fingerprint is then what was synthesized, not all applied. */
  complete: boolean
  stacks: {name: string; applied: boolean; skipped?: string}[]
}

const INFRA_VERSION = (() => {
  try {
    return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {version: string}).version
  } catch {
    return 'unknown'
  }
})()

export function baselinePath(workDir: string, target: string): string {
  return path.resolve(workDir, target, 'baseline.json')
}

/**
 * Records a successful apply. The fingerprint hashes each stack's synthesized JSON with the
 * target's own names and account masked out, so it says "same baseline" across clients.
 */
export function recordBaseline(workDir: string, report: ProvisionReport): BaselineRecord {
  const hash = createHash('sha256')
  for (const stack of report.stacks) {
    const file = path.join(stack.directory, 'cdk.tf.json')
    if (!existsSync(file)) continue
    const text = readFileSync(file, 'utf8').split(report.environment).join('<target>').split(report.accountId).join('<account>')
    hash.update(stack.name.replace(report.environment, '<target>')).update(text.replace(/"\d+\.\d+\.\d+\.\d+\/\d+"/g, '"<cidr>"'))
  }
  const record: BaselineRecord = {
    target: report.environment,
    accountId: report.accountId,
    infraVersion: INFRA_VERSION,
    fingerprint: hash.digest('hex').slice(0, 12),
    appliedAt: new Date().toISOString(),
    complete: report.stacks.every((stack) => stack.applied || stack.skipped === 'no-changes'),
    stacks: report.stacks.map((stack) => ({name: stack.name, applied: stack.applied, ...(stack.skipped ? {skipped: stack.skipped} : {})})),
  }
  const file = baselinePath(workDir, report.environment)
  mkdirSync(path.dirname(file), {recursive: true})
  writeFileAtomic(file, `${JSON.stringify(record, null, 2)}\n`)
  return record
}

export function readBaseline(workDir: string, target: string): BaselineRecord | undefined {
  try {
    return JSON.parse(readFileSync(baselinePath(workDir, target), 'utf8')) as BaselineRecord
  } catch {
    return undefined
  }
}
