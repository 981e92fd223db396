import {createHash} from 'node:crypto'
import {copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync} from 'node:fs'
import path from 'node:path'

import {Listr, ListrLogger, type ListrTask, ProcessOutput} from 'listr2'

import {checkCredentials} from '../aws/clients.js'
import {type PlannedChange, planChanges} from '../delivery/plan-changes.js'
import type {EnvironmentSpec, Estate} from '../estate/model.js'
import {InfraError} from '../errors.js'
import {exceptionsFor} from '../policy/audit-stacks.js'
import {type AuditReport, runAudit} from '../policy/engine.js'
import {enforceAudit, recordAcceptedRisks} from '../policy/gate.js'
import {type AuditInput, resourcesFromJson} from '../policy/resources.js'
import {type SynthesizedStack, stackNames, synthesizeEnvironment} from '../stacks/app.js'
import {bootstrapLocalBackend, stateKey} from '../stacks/state.js'
import type {CallInFlight, PlanSummary, Terraform} from '../terraform/runner.js'
import {summarizePlan} from '../terraform/runner.js'
import {type TerraformSettings, terraformFactory} from '../terraform/workspace.js'
import {type AbandonedCreate, IMPORT_ID_ATTRIBUTE, adoptionsByStack, clearInterruptedApplies, planAdoption, readInterruptedApplies, recordInterruptedApply, settleAgainstPlan, writeAdoptionImports, ADOPTION_FILE} from './adoption.js'
import {type BootstrapStateHome, locateBootstrapState} from './bootstrap-state.js'
import {type Placeholder, provisionServiceManifests} from './service-manifests.js'

/**
 * dry-run: synthesize (and validate); plan: plan every stack and keep the saved plans for review,
 * apply nothing; apply: plan, confirm, apply (or, with fromPlan, apply the reviewed plans);
 * destroy: plan and apply the removal.
 */
export type ProvisionMode = 'dry-run' | 'plan' | 'apply' | 'destroy'

/** What a reviewed plan folder holds beside the saved plans: which configuration each was made from. */
export interface PlanManifest {
  environment: string
  accountId: string
  createdAt: string
  stacks: {name: string; configSha256: string; planFile: string | null; summary: PlanSummary | null; waitsForBootstrap?: boolean; changes?: PlannedChange[] | null}[]
}

export const PLAN_MANIFEST = 'plan-manifest.json'

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
  /** plan mode: the folder the saved plans and their manifest are written to (a pipeline's artifact). */
  planDir?: string
  /** apply mode: the folder of reviewed plans to apply instead of planning anew. */
  fromPlan?: string
  /** Resources whose existing AWS object is imported by name instead of created (--adopt). */
  adopt?: string[]
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
  /** Why nothing was applied: no changes, declined, a dry run, kept on destroy, planned for review, or waiting for its state bucket. */
  skipped?: 'no-changes' | 'declined' | 'dry-run' | 'kept' | 'planned' | 'waits-for-bootstrap'
  /** The security gate: on the synthesized stack, and on the saved plan before it is applied. */
  audit: {synthesized?: AuditSummary; plan?: AuditSummary}
  /** Creates an interrupted apply left in flight, and what this plan does about each; absent when there were none. */
  abandoned?: AbandonedCreate[]
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
  /** plan mode: the folder holding the saved plans; apply with fromPlan: the folder applied from. */
  planDir?: string
  /**
   * The service's Kubernetes manifests, written beside the stacks and held to the Kubernetes rules;
   * null without an EKS cluster, and on destroy.
   */
  serviceManifests: {dir: string; monitoringDir: string; objects: number; placeholders: Placeholder[]; audit: AuditSummary} | null
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
    serviceManifests: null,
  }
  const auditOptions = {protected: env.protected, exceptions: exceptionsFor(estate, env), acceptedRisks}
  // The gate, first on what we synthesized: nothing is planned from stacks that break the promise.
  if (mode !== 'destroy') {
    const audits = reports.map((stack) => runAudit(synthesized.get(stack.name)!.input, auditOptions))
    reports.forEach((stack, index) => (stack.audit.synthesized = summarizeAudit(audits[index])))
    enforceAudit(audits, 'synthesized stacks')
    // The cluster's objects pass the same gate, on values known now (placeholders for the rest).
    const manifests = provisionServiceManifests(estate, env, envDir)
    if (manifests) {
      report.serviceManifests = {dir: manifests.dir, monitoringDir: manifests.monitoringDir, objects: manifests.objects, placeholders: manifests.placeholders, audit: summarizeAudit(manifests.audit)}
      enforceAudit([manifests.audit], 'service manifests')
    }
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

  const reviewed = options.fromPlan ? readReviewedPlans(options.fromPlan, env, synthesized) : undefined
  const adoptions = adoptionsByStack(options.adopt ?? [], reports.map((stack) => ({name: stack.name, config: synthesized.get(stack.name)!.config})))
  if (options.planDir) mkdirSync(options.planDir, {recursive: true})
  const manifest: PlanManifest = {environment: env.name, accountId: env.accountId, createdAt: new Date().toISOString(), stacks: []}
  if (options.planDir || reviewed) report.planDir = path.resolve((options.planDir ?? options.fromPlan)!)

  // Destroying removes the estate; the bootstrap's state bucket (with its history) is kept.
  const order = mode === 'destroy' ? reports.filter((stack) => stack.dependencies.length > 0).reverse() : reports
  for (const stack of reports) if (!order.includes(stack)) stack.skipped = 'kept'
  const bootstrapName = stackNames(env).bootstrap
  for (const stack of order) {
    const terraform = terraformFor!(stack.directory)
    const planFile = path.join(stack.directory, 'infra.tfplan')
    rmSync(planFile, {force: true})
    let hasChanges = false
    // What the plan changes, as data: the apply job of a pipeline compares it with the reviewed one.
    let changes: PlannedChange[] = []
    // A saved plan that is refused, declined or fails must not stay behind to be applied later.
    const discardPlan = () => rmSync(planFile, {force: true})
    // The bootstrap's state goes into the bucket it creates; until that bucket exists it is a
    // local file, selected by an override file that is removed again before the migration.
    const bootstrap = stack.name === bootstrapName ? await bootstrapBackend(options, stack, stateDir) : undefined
    if (bootstrap) report.bootstrapState = bootstrap.home
    if (reviewed) {
      await applyReviewed(stack, reviewed, terraform, bootstrap, options, envDir)
      if (stack.skipped === 'declined') break
      continue
    }
    await runTasks(
      [
        {title: `${stack.name}: terraform init`, task: () => terraform.init({backend: true})},
        ...(bootstrap?.home === 'local'
          ? [{title: `${stack.name}: move its state into ${env.stateBucket}`, task: () => bootstrap.migrate(terraform)}]
          : []),
        {
          title: `${stack.name}: terraform plan`,
          task: async () => {
            hasChanges = mode === 'destroy' ? await terraform.plan(planFile, {destroy: true}) : await planAdopting(terraform, planFile, stack, synthesized.get(stack.name)!.config, envDir, adoptions.get(stack.name) ?? [])
            const planJson = await terraform.showPlan(planFile)
            stack.plan = summarizePlan(planJson)
            changes = planChanges(planJson)
            if (stack.abandoned) stack.abandoned = settleAgainstPlan(stack.abandoned, stack.plan.changes)
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
    if (mode === 'plan') {
      const kept = hasChanges ? `${stack.name}.tfplan` : null
      if (kept) copyFileSync(planFile, path.join(options.planDir!, kept))
      manifest.stacks.push({name: stack.name, configSha256: synthesized.get(stack.name)!.sha256, planFile: kept, summary: stack.plan ?? null, changes})
      discardPlan()
      bootstrap?.dropOverride()
      stack.skipped = hasChanges ? 'planned' : 'no-changes'
      // The stacks after a new state bucket cannot even be initialized until that bucket exists.
      if (hasChanges && bootstrap?.home === 'new') {
        for (const later of order.slice(order.indexOf(stack) + 1)) {
          later.skipped = 'waits-for-bootstrap'
          manifest.stacks.push({name: later.name, configSha256: synthesized.get(later.name)!.sha256, planFile: null, summary: null, waitsForBootstrap: true, changes: null})
        }
        break
      }
      continue
    }
    if (!hasChanges) {
      discardPlan()
      bootstrap?.dropOverride()
      // Nothing to create or import: whatever an interruption left is in the state already.
      if (mode === 'apply') clearInterruptedApplies(envDir, stack.name, stack.directory)
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
        {title: `${stack.name}: terraform apply`, task: () => applyPlan(terraform, planFile, stack, envDir, env.name, mode === 'destroy')},
        ...(bootstrap?.home === 'new'
          ? [{title: `${stack.name}: move its state into ${env.stateBucket}`, task: () => bootstrap.migrate(terraform)}]
          : []),
      ],
      options.renderer,
    ).finally(() => bootstrap?.dropOverride())
    stack.applied = true
  }
  if (mode === 'plan') writeFileSync(path.join(options.planDir!, PLAN_MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`)
  return report
}

type Reviewed = Map<string, {planFile: string | null; waitsForBootstrap: boolean}>

/**
 * The reviewed plans, checked against what was synthesized now: every stack must have been
 * planned from exactly this configuration, or nothing is applied.
 */
function readReviewedPlans(dir: string, env: EnvironmentSpec, synthesized: Map<string, {sha256: string}>): Reviewed {
  const file = path.join(dir, PLAN_MANIFEST)
  let manifest: PlanManifest
  try {
    manifest = JSON.parse(readFileSync(file, 'utf8')) as PlanManifest
  } catch {
    throw staleError(`no reviewed plan in ${dir} (${PLAN_MANIFEST} is missing or unreadable)`, 'plan it for review first: infra provision --env ' + env.name + ' --plan-only --plan-dir DIR')
  }
  if (manifest.environment !== env.name || manifest.accountId !== env.accountId) {
    throw staleError(`the plans in ${dir} are for ${manifest.environment} (account ${manifest.accountId}), not ${env.name}`, 'pass the folder of this environment\'s reviewed plan')
  }
  const reviewed: Reviewed = new Map()
  for (const [name, current] of synthesized) {
    const entry = manifest.stacks.find((stack) => stack.name === name)
    if (!entry) throw staleError(`${name} was not planned in the reviewed plan (its stacks were waiting for their state bucket, or the plan is older than the stack)`, 'plan it again for review')
    if (entry.configSha256 !== current.sha256) throw staleError(`${name}'s configuration changed since its plan was reviewed`, 'plan it again for review: the reviewed plan is not what would be applied')
    if (entry.planFile && !existsSync(path.join(dir, entry.planFile))) throw staleError(`${name}'s saved plan ${entry.planFile} is missing from ${dir}`, 'download the whole plan artifact, or plan again')
    reviewed.set(name, {planFile: entry.planFile ? path.join(dir, entry.planFile) : null, waitsForBootstrap: entry.waitsForBootstrap === true})
  }
  return reviewed
}

function staleError(message: string, fix: string): InfraError {
  return new InfraError(message, fix, 'PLAN_STALE')
}

/** Applies one stack's reviewed plan; terraform itself refuses a plan whose state has moved on. */
async function applyReviewed(stack: StackReport, reviewed: Reviewed, terraform: Terraform, bootstrap: BootstrapBackend | undefined, options: ProvisionOptions, envDir: string): Promise<void> {
  const {planFile: saved, waitsForBootstrap} = reviewed.get(stack.name)!
  try {
    // Planned before its state bucket existed: only now can it be planned, and that plan needs a review.
    if (waitsForBootstrap) throw staleError(`${stack.name} could not be planned before its state bucket existed`, 'review its plan now that the bucket exists')
    if (!saved) {
      stack.skipped = 'no-changes'
      return
    }
    // A copy: terraform may not touch the artifact, and a failed apply leaves it for the record.
    const planFile = path.join(stack.directory, 'infra.tfplan')
    copyFileSync(saved, planFile)
    const stale = (error: unknown): never => {
      const text = error instanceof Error ? `${error.message} ${(error as InfraError).fix ?? ''}` : String(error)
      if (/saved plan is stale|plan file.*stale|state.*changed since/i.test(text)) {
        throw staleError(`${stack.name}'s reviewed plan is stale: the state changed since it was made, so terraform applied none of it`, 'plan it again for review')
      }
      throw error
    }
    await runTasks(
      [
        {title: `${stack.name}: terraform init`, task: () => terraform.init({backend: true})},
        ...(bootstrap?.home === 'local' ? [{title: `${stack.name}: move its state into its bucket`, task: () => bootstrap.migrate(terraform)}] : []),
        {title: `${stack.name}: show the reviewed plan`, task: async () => (stack.plan = summarizePlan(await terraform.showPlan(planFile)))},
      ],
      options.renderer,
    ).catch(stale)
    // The reviewed plan still goes through the same guard: a protected target must be named.
    if (!(await options.confirm(stack))) {
      rmSync(planFile, {force: true})
      stack.skipped = 'declined'
      return
    }
    await runTasks(
      [
        {title: `${stack.name}: terraform apply (reviewed plan)`, task: () => applyPlan(terraform, planFile, stack, envDir, options.env.name)},
        ...(bootstrap?.home === 'new' ? [{title: `${stack.name}: move its state into its bucket`, task: () => bootstrap.migrate(terraform)}] : []),
      ],
      options.renderer,
    ).catch(stale)
    stack.applied = true
  } finally {
    bootstrap?.dropOverride()
  }
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

/**
 * Applies a saved plan. An interrupted apply records the creates it left in flight, for the next
 * plan to adopt; a successful one settles what earlier interruptions left.
 */
async function applyPlan(terraform: Terraform, planFile: string, stack: StackReport, envDir: string, envName: string, destroying = false): Promise<void> {
  try {
    await terraform.apply(planFile)
    // A destroy removes what the state knows; creates an interrupted apply left outside the state
    // are not in it, so their records stay for the operator to settle.
    if (!destroying) clearInterruptedApplies(envDir, stack.name, stack.directory)
  } catch (error) {
    // Interrupted by a signal or stopped on --timeout: the creates it cancelled are recorded for adoption.
    if (error instanceof InfraError && (error.code === 'TERRAFORM_INTERRUPTED' || error.code === 'TERRAFORM_TIMEOUT')) {
      recordInterruptedApply(envDir, stack.name, (error.details as {inFlight?: CallInFlight[]} | null)?.inFlight ?? [])
    }
    const existing = error instanceof InfraError ? (error.details as {existsOutsideState?: string[]} | null)?.existsOutsideState : undefined
    if (existing) throw existsOutsideState(error as InfraError, existing, stack, envName)
    throw error
  } finally {
    // A saved plan is single-use; never leave one that could be applied later by mistake.
    rmSync(planFile, {force: true})
  }
}

/**
 * An apply that failed because objects of these names already exist: AWS has them, the state does
 * not (an apply interrupted on another machine, or made by hand). Adopting is offered for the ones
 * found by name; which they are is the operator's call, so nothing is imported unasked.
 */
function existsOutsideState(error: InfraError, addresses: string[], stack: StackReport, env: string): InfraError {
  const byName = addresses.filter((address) => IMPORT_ID_ATTRIBUTE[address.slice(0, address.indexOf('.'))])
  const fix = byName.length > 0
    ? `if ${addresses.length === 1 ? 'it is' : 'they are'} this estate's (left by an apply interrupted elsewhere), adopt: infra provision --env ${env} ${byName.map((address) => `--adopt ${address}`).join(' ')}; if not, remove or rename ${addresses.length === 1 ? 'it' : 'them'} in AWS`
    : `import ${addresses.length === 1 ? 'it' : 'them'} by AWS id with terraform import in ${stack.directory}, or remove ${addresses.length === 1 ? 'it' : 'them'} in AWS`
  return new InfraError(`${addresses.join(', ')} already exist${addresses.length === 1 ? 's' : ''} in AWS but not in ${stack.name}'s state (${error.message})`, fix, 'EXISTS_OUTSIDE_STATE', 1, {addresses, stack: stack.name})
}

/**
 * Plans with import blocks for what an interrupted apply may have created, by name. An import
 * terraform finds nothing for was not created after all: it is dropped and the plan made again.
 */
async function planAdopting(terraform: Terraform, planFile: string, stack: StackReport, config: TerraformConfig, envDir: string, adopt: string[]): Promise<boolean> {
  const records = readInterruptedApplies(envDir, stack.name)
  if (adopt.length > 0) records.push({stack: stack.name, interruptedAt: null, inFlight: adopt.map((address) => ({address, action: 'create'}))})
  if (records.length === 0) return terraform.plan(planFile)
  const abandoned = planAdoption(config, records)
  stack.abandoned = abandoned
  try {
    for (;;) {
      writeAdoptionImports(stack.directory, abandoned)
      try {
        return await terraform.plan(planFile)
      } catch (error) {
        const missing = error instanceof InfraError && error.code === 'TERRAFORM_IMPORT_MISSING' ? (error.details as {addresses: string[]}).addresses : []
        const dropped = abandoned.filter((entry) => entry.outcome === 'import' && missing.includes(entry.address))
        if (dropped.length === 0) throw error
        for (const entry of dropped) {
          entry.outcome = 'not-created'
          delete entry.id
        }
      }
    }
  } finally {
    // The saved plan holds the imports; the stack folder stays what was synthesized.
    rmSync(path.join(stack.directory, ADOPTION_FILE), {force: true})
  }
}

type TerraformConfig = {resource?: Record<string, Record<string, Record<string, unknown>>>}

function readSynthesized(stack: SynthesizedStack): {config: TerraformConfig; input: AuditInput; sha256: string} {
  const file = path.join(stack.workingDirectory, 'cdk.tf.json')
  let config: TerraformConfig
  let text: string
  try {
    text = readFileSync(file, 'utf8')
    config = JSON.parse(text)
  } catch (error) {
    throw new InfraError(`cannot read synthesized stack ${file}: ${(error as Error).message}`)
  }
  return {config, input: resourcesFromJson(config, file), sha256: createHash('sha256').update(text).digest('hex')}
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
