import {existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync} from 'node:fs'
import path from 'node:path'

import {Listr, ListrLogger, type ListrTask, ProcessOutput} from 'listr2'

import {checkCredentials} from '../aws/clients.js'
import type {EnvironmentSpec, Estate} from '../estate/model.js'
import {InfraError} from '../errors.js'
import {exceptionsFor} from '../policy/audit-stacks.js'
import {type AuditReport, runAudit} from '../policy/engine.js'
import {enforceAudit, recordAcceptedRisks} from '../policy/gate.js'
import {type AuditInput, resourcesFromJson} from '../policy/resources.js'
import {type SynthesizedStack, stackNames, synthesizeEnvironment} from '../stacks/app.js'
import {bootstrapLocalBackend, stateKey} from '../stacks/state.js'
import type {PlanSummary, Terraform} from '../terraform/runner.js'
import {summarizePlan} from '../terraform/runner.js'
import {type TerraformSettings, terraformFactory} from '../terraform/workspace.js'
import {type BootstrapStateHome, locateBootstrapState} from './bootstrap-state.js'

export type ProvisionMode = 'dry-run' | 'apply' | 'destroy'

export interface ProvisionOptions {
  estate: Estate
  env: EnvironmentSpec
  mode: ProvisionMode
  /** Where synthesized stacks, plans and the bootstrap state live. */
  workDir: string
  terraform: TerraformSettings
  /** Dry run only: also run terraform init and validate (needs terraform, not AWS). */
  validate: boolean
  profile?: string
  /** Asked once per stack that has changes; false stops before anything is applied. */
  confirm: (stack: StackReport) => Promise<boolean>
  /** How listr2 draws progress: a live display for people, plain lines (on stderr) otherwise, nothing for --json. */
  renderer: 'default' | 'simple' | 'silent'
  /** Rules whose findings are accepted for this run (--accept-risk), each with its recorded reason. */
  acceptedRisks?: {rule: string; reason: string}[]
}

export interface ResourceCount {
  total: number
  byType: Record<string, number>
}

export interface StackReport {
  name: string
  directory: string
  dependencies: string[]
  resources: ResourceCount
  /** Absent on a dry run. */
  plan?: PlanSummary
  applied: boolean
  /** Why nothing was applied: no changes, declined, or a dry run. */
  skipped?: 'no-changes' | 'declined' | 'dry-run' | 'kept'
  /** The security gate: on the synthesized stack, and on the saved plan before it is applied. */
  audit: {synthesized?: AuditSummary; plan?: AuditSummary}
}

export interface AuditSummary {
  passed: boolean
  summary: AuditReport['summary']
  accepted: {rule: string; address: string; reason: string}[]
}

export interface ProvisionReport {
  environment: string
  accountId: string
  region: string
  mode: ProvisionMode
  synthMs: number
  validated: boolean
  stacks: StackReport[]
  /** Where --accept-risk decisions were recorded, if any were made. */
  acceptedRisksLog: string | null
  /** The folder holding the synthesized stacks (cdktf.out) and the saved plans. */
  outputDir: string
  /** Where the bootstrap stack's own state was found; null when that stack was not run. */
  bootstrapState: BootstrapStateHome | null
}

/**
 * Synthesizes an environment in-process and plans, confirms and applies each stack in
 * dependency order, applying exactly the saved plan that was shown.
 */
export async function provision(options: ProvisionOptions): Promise<ProvisionReport> {
  const {estate, env, mode} = options
  const envDir = path.resolve(options.workDir, env.name)
  const outdir = path.join(envDir, 'cdktf.out')
  const stateDir = path.join(envDir, 'state')
  mkdirSync(stateDir, {recursive: true})

  // Check what can fail cheaply before synthesizing: terraform present, credentials usable.
  const needsTerraform = mode !== 'dry-run' || options.validate
  const terraformFor = needsTerraform ? terraformFactory(options.workDir, {...options.terraform, profile: options.profile}) : undefined
  if (mode !== 'dry-run') await checkCredentials({estate, target: env, profile: options.profile, purpose: 'provision'})

  const started = performance.now()
  const synth = synthesizeEnvironment(estate, env, outdir, stateDir)
  const synthMs = Math.round(performance.now() - started)
  // Each synthesized stack is read once: counted, audited, and the base of its plan's audit.
  const synthesized = new Map(synth.stacks.map((stack) => [stack.name, readSynthesized(stack)]))
  const reports = synth.stacks.map((stack) => stackReport(stack, synthesized.get(stack.name)!.config))
  const acceptedRisks = options.acceptedRisks ?? []
  const report: ProvisionReport = {
    environment: env.name,
    accountId: env.accountId,
    region: env.region,
    mode,
    synthMs,
    validated: false,
    stacks: reports,
    acceptedRisksLog: recordAcceptedRisks(options.workDir, env.name, acceptedRisks) ?? null,
    outputDir: outdir,
    bootstrapState: null,
  }
  const auditOptions = {protected: env.protected, exceptions: exceptionsFor(estate, env), acceptedRisks}
  // The gate, first on what we synthesized: nothing is planned from stacks that break the promise.
  if (mode !== 'destroy') {
    const audits = reports.map((stack) => runAudit(synthesized.get(stack.name)!.input, auditOptions))
    reports.forEach((stack, index) => (stack.audit.synthesized = summarizeAudit(audits[index])))
    enforceAudit(audits, 'synthesized stacks')
  }

  if (mode === 'dry-run') {
    if (terraformFor) {
      await runTasks(
        reports.map((stack) => ({
          title: `validate ${stack.name}`,
          task: async () => {
            const terraform = terraformFor(stack.directory)
            await terraform.init({backend: false})
            await terraform.validate()
          },
        })),
        options.renderer,
      )
      report.validated = true
    }
    for (const stack of reports) stack.skipped = 'dry-run'
    return report
  }

  // Destroying removes the estate; the bootstrap's state bucket (with its history) is kept.
  const order = mode === 'destroy' ? reports.filter((stack) => stack.dependencies.length > 0).reverse() : reports
  for (const stack of reports) if (!order.includes(stack)) stack.skipped = 'kept'
  const bootstrapName = stackNames(env).bootstrap
  for (const stack of order) {
    const terraform = terraformFor!(stack.directory)
    const planFile = path.join(stack.directory, 'infra.tfplan')
    rmSync(planFile, {force: true})
    let hasChanges = false
    // A saved plan that is refused, declined or fails must not stay behind to be applied later.
    const discardPlan = () => rmSync(planFile, {force: true})
    // The bootstrap's state goes into the bucket it creates; until that bucket exists it is a
    // local file, selected by an override file that is removed again before the migration.
    const bootstrap = stack.name === bootstrapName ? await bootstrapBackend(options, stack, stateDir) : undefined
    if (bootstrap) report.bootstrapState = bootstrap.home
    await runTasks(
      [
        {title: `${stack.name}: terraform init`, task: () => terraform.init({backend: true})},
        ...(bootstrap?.home === 'local'
          ? [{title: `${stack.name}: move its state into ${env.stateBucket}`, task: () => bootstrap.migrate(terraform)}]
          : []),
        {
          title: `${stack.name}: terraform plan`,
          task: async () => {
            hasChanges = await terraform.plan(planFile, {destroy: mode === 'destroy'})
            const planJson = await terraform.showPlan(planFile)
            stack.plan = summarizePlan(planJson)
            // And again on the exact plan, where computed values are known, before anyone confirms it.
            if (mode !== 'destroy') {
              const audit = runAudit(resourcesFromJson(planJson, planFile, synthesized.get(stack.name)!.input.resources), auditOptions)
              stack.audit.plan = summarizeAudit(audit)
              enforceAudit([audit], 'plan')
            }
          },
        },
      ],
      options.renderer,
    ).catch((error: unknown) => {
      discardPlan()
      bootstrap?.dropOverride()
      throw error
    })
    if (!hasChanges) {
      discardPlan()
      bootstrap?.dropOverride()
      stack.skipped = 'no-changes'
      continue
    }
    const agreed = await options.confirm(stack).catch((error: unknown) => {
      discardPlan()
      bootstrap?.dropOverride()
      throw error
    })
    if (!agreed) {
      discardPlan()
      bootstrap?.dropOverride()
      stack.skipped = 'declined'
      break
    }
    await runTasks(
      [
        {title: `${stack.name}: terraform apply`, task: () => applyPlan(terraform, planFile)},
        ...(bootstrap?.home === 'new'
          ? [{title: `${stack.name}: move its state into ${env.stateBucket}`, task: () => bootstrap.migrate(terraform)}]
          : []),
      ],
      options.renderer,
    ).finally(() => bootstrap?.dropOverride())
    stack.applied = true
  }
  return report
}

interface BootstrapBackend {
  home: BootstrapStateHome
  /** Points terraform back at the bucket and moves the local state there. */
  migrate(terraform: Terraform): Promise<void>
  dropOverride(): void
}

async function bootstrapBackend(options: ProvisionOptions, stack: StackReport, stateDir: string): Promise<BootstrapBackend> {
  const {estate, env} = options
  const localState = path.join(stateDir, `${stack.name}.tfstate`)
  const home = await locateBootstrapState({estate, target: env, profile: options.profile, purpose: 'provision'}, env, stateKey(env, stack.name), localState)
  const override = path.join(stack.directory, 'bootstrap_override.tf.json')
  const dropOverride = () => rmSync(override, {force: true})
  if (home !== 'in-bucket') writeFileSync(override, JSON.stringify(bootstrapLocalBackend(localState), null, 2))
  return {
    home,
    dropOverride,
    async migrate(terraform) {
      dropOverride()
      await terraform.migrateState()
      // Terraform copied it; the local file is kept beside, renamed, so nothing reads it as current.
      if (existsSync(localState)) renameSync(localState, `${localState}.migrated`)
    },
  }
}

/** listr2 without its own SIGINT handler (it exits 127; terraform's runner forwards signals), progress on stderr. */
async function runTasks(tasks: ListrTask[], renderer: ProvisionOptions['renderer']): Promise<void> {
  const logger = new ListrLogger({processOutput: new ProcessOutput(process.stderr, process.stderr)})
  await new Listr(tasks, {
    renderer,
    exitOnError: true,
    registerSignalListeners: false,
    ...(renderer === 'simple' ? {rendererOptions: {logger}} : {}),
  }).run()
}

async function applyPlan(terraform: Terraform, planFile: string): Promise<void> {
  try {
    await terraform.apply(planFile)
  } finally {
    // A saved plan is single-use; never leave one that could be applied later by mistake.
    rmSync(planFile, {force: true})
  }
}

type TerraformConfig = {resource?: Record<string, Record<string, unknown>>}

function readSynthesized(stack: SynthesizedStack): {config: TerraformConfig; input: AuditInput} {
  const file = path.join(stack.workingDirectory, 'cdk.tf.json')
  let config: TerraformConfig
  try {
    config = JSON.parse(readFileSync(file, 'utf8'))
  } catch (error) {
    throw new InfraError(`cannot read synthesized stack ${file}: ${(error as Error).message}`)
  }
  return {config, input: resourcesFromJson(config, file)}
}

function stackReport(stack: SynthesizedStack, config: TerraformConfig): StackReport {
  return {
    name: stack.name,
    directory: stack.workingDirectory,
    dependencies: stack.dependencies,
    resources: countResources(config),
    applied: false,
    audit: {},
  }
}

function summarizeAudit(audit: AuditReport): AuditSummary {
  return {
    passed: audit.passed,
    summary: audit.summary,
    accepted: audit.findings.filter((f) => f.status === 'accepted').map((f) => ({rule: f.rule, address: f.address, reason: f.exception!.reason})),
  }
}

/** What a synthesized stack would create, by resource type. */
export function countResources(config: TerraformConfig): ResourceCount {
  const byType: Record<string, number> = {}
  let total = 0
  for (const [type, resources] of Object.entries(config.resource ?? {})) {
    byType[type] = Object.keys(resources).length
    total += byType[type]
  }
  return {total, byType}
}
