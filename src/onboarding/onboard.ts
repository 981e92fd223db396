import {OrganizationsClient} from '@aws-sdk/client-organizations'
import {Listr} from 'listr2'

import {awsClientConfig} from '../aws/clients.js'
import {interruptible, stopIfInterrupted} from '../process/interrupts.js'
import type {ProvisionReport} from '../provision/provision.js'
import type {BaselineRecord} from './baseline.js'
import {journalPath, newJournal, readJournal, writeJournal} from './journal.js'
import {STEP_TITLES} from './onboard-plan.js'
import {ACCOUNT_STEPS, type OnboardOptions, type Run, type StepResult, type Task, noteFailure, provisionBaseline} from './onboard-steps.js'
import type {CallerCheck, OrganizationalUnit} from './organization.js'

export interface OnboardReport {
  client: string
  accountId: string
  email: string
  vpcCidr: string
  region: string
  organizationalUnit: OrganizationalUnit
  caller: Pick<CallerCheck, 'accountId' | 'arn' | 'role'>
  steps: StepResult[]
  /** False when a rerun found everything already done. */
  changed: boolean
  provision: ProvisionReport | null
  baseline: BaselineRecord | null
  journal: string
  estateFile: string
}

/**
 * Vends a client account end to end. Each step checks what already exists before acting, and
 * the journal keeps the CreateAccount request id from before the first poll, so a run stopped
 * anywhere (a failure, Ctrl-C, SIGTERM, a kill) is finished by running the same command again,
 * and a run after success changes nothing.
 */
export async function onboardClient(options: OnboardOptions): Promise<OnboardReport> {
  const run = await startRun(options)
  await interruptible(async (signal) => {
    run.signal = signal
    await runAccountSteps(run)
  })
  await provisionBaseline(run)
  delete run.journal.lastFailure
  writeJournal(options.workDir, run.journal)
  return reportOf(run)
}

async function startRun(options: OnboardOptions): Promise<Run> {
  const {request} = options.plan
  const config = await awsClientConfig({estate: options.estate, profile: options.profile, region: 'us-east-1', purpose: 'onboard'})
  const journal = readJournal(options.workDir, request.name) ?? newJournal(request.name, request.email)
  return {options, request, config, organizations: new OrganizationsClient(config), estate: options.estate, journal, results: []}
}

/** Every step up to the estate entry, in order, stopping cleanly (exit 130) between steps on a signal. */
async function runAccountSteps(run: Run): Promise<void> {
  const steps = run.options.plan.steps.filter(({step}) => step !== 'provision') as {step: keyof typeof ACCOUNT_STEPS; title: string}[]
  await new Listr(
    steps.map(({step, title}) => ({
      title,
      task: async (_: unknown, task: Task) => {
        try {
          stopIfInterrupted(run.signal, `before: ${STEP_TITLES[step]}`, `run the same command again (\`infra onboard-client --name ${run.request.name} --yes\`): it continues from the journal`)
          await ACCOUNT_STEPS[step](run, task)
        } catch (error) {
          noteFailure(run, step, error)
        }
      },
    })),
    // listr2's own SIGINT handler exits 127; interruptible() handles the signals instead.
    {renderer: run.options.renderer, exitOnError: true, registerSignalListeners: false, rendererOptions: {collapseSubtasks: false}},
  ).run()
}

function reportOf(run: Run): OnboardReport {
  return {
    client: run.request.name,
    accountId: run.accountId!,
    email: run.request.email,
    vpcCidr: run.request.vpcCidr,
    region: run.request.region,
    organizationalUnit: run.unit!,
    caller: {accountId: run.caller!.accountId, arn: run.caller!.arn, role: run.caller!.role},
    steps: run.results,
    changed: run.results.some((result) => result.outcome === 'done'),
    provision: run.provision ?? null,
    baseline: run.baseline ?? null,
    journal: journalPath(run.options.workDir, run.request.name),
    estateFile: run.options.plan.estateFile,
  }
}
