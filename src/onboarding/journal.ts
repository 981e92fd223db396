import {existsSync, mkdirSync, readFileSync} from 'node:fs'
import path from 'node:path'

import {writeFileAtomic} from '../estate/atomic-file.js'
import {InfraError} from '../errors.js'

/**
 * What an onboarding has done so far, one file per client in the work folder, written atomically
 * after each step. It holds what AWS cannot tell us later by itself: the CreateAccount request id
 * (written before the first poll) and the account it produced.
 */
export interface OnboardingJournal {
  client: string
  email: string
  startedAt: string
  updatedAt: string
  createAccountRequestId?: string
  accountId?: string
  /** Why accountId is the client's (created, named, tagged, adopted), proved again on every run. */
  accountProof?: string
  /** The OU the operator chose (id), so a rerun needs only the client's name. */
  organizationalUnit?: string
  /** The last failure, kept for the next run to report. */
  lastFailure?: {step: string; code: string; message: string; at: string}
  /** When each step last completed, and what it did. */
  steps: Record<string, {at: string; outcome: string}>
}

export function journalPath(workDir: string, client: string): string {
  return path.resolve(workDir, 'onboarding', `${client}.json`)
}

export function readJournal(workDir: string, client: string): OnboardingJournal | undefined {
  const file = journalPath(workDir, client)
  if (!existsSync(file)) return undefined
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as OnboardingJournal
  } catch (error) {
    throw new InfraError(`onboarding journal ${file} cannot be read: ${(error as Error).message}`, 'fix or delete it (the rerun then finds the account by its e-mail)', 'JOURNAL_INVALID')
  }
}

export function writeJournal(workDir: string, journal: OnboardingJournal): void {
  const file = journalPath(workDir, journal.client)
  mkdirSync(path.dirname(file), {recursive: true})
  journal.updatedAt = new Date().toISOString()
  writeFileAtomic(file, `${JSON.stringify(journal, null, 2)}\n`)
}

export function newJournal(client: string, email: string): OnboardingJournal {
  const now = new Date().toISOString()
  return {client, email, startedAt: now, updatedAt: now, steps: {}}
}
