import {existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync} from 'node:fs'
import path from 'node:path'

import {EXIT, InfraError} from '../errors.js'
import type {CallInFlight, ResourceChange} from '../terraform/runner.js'

/**
 * Stopping terraform cancels the provider's calls in flight, but AWS may have carried a create out
 * before the cancel arrived: the object then exists and the state does not know it. The next plan
 * would create it again, and fail on its name ("already exists") or, for objects AWS names, make a
 * second one. So an interrupted apply records its creates in flight, and the next run imports those
 * it can find by the name the configuration gives them, shown in the plan before anyone confirms.
 */

/** The record an interrupted apply leaves beside the stacks (per stack), until an apply succeeds. */
export interface InterruptedApply {
  stack: string
  /** null for addresses named with --adopt. */
  interruptedAt: string | null
  inFlight: CallInFlight[]
}

/** What the next plan does about one create that was in flight. */
export interface AbandonedCreate {
  address: string
  /** import: it exists and is imported by its id; not-created: AWS had not made it, so it is created; check-by-hand: no name to find it by. */
  outcome: 'import' | 'not-created' | 'check-by-hand'
  /** The id imported, for outcome import. */
  id?: string
  /** The interrupted apply this comes from; null when it was named with --adopt. */
  interruptedAt: string | null
}

/**
 * Resource types whose import id is a name the configuration sets, with the attribute holding it.
 * The others (VPCs, subnets, security groups, keys...) get ids from AWS, so a cancelled create of
 * one cannot be told apart from someone else's object by its name.
 */
export const IMPORT_ID_ATTRIBUTE: Record<string, string> = {
  aws_autoscaling_group: 'name',
  aws_cloudwatch_log_group: 'name',
  aws_db_instance: 'identifier',
  aws_db_parameter_group: 'name',
  aws_db_subnet_group: 'name',
  aws_eks_cluster: 'name',
  aws_iam_instance_profile: 'name',
  aws_iam_role: 'name',
  aws_kms_alias: 'name',
  aws_opensearch_domain: 'domain_name',
  aws_s3_bucket: 'bucket',
  aws_ssm_parameter: 'name',
}

/** The file terraform reads the import blocks from, beside the synthesized cdk.tf.json. */
export const ADOPTION_FILE = 'infra_adopt.tf.json'

const recordFile = (envDir: string, stack: string) => path.join(envDir, 'interrupted', `${stack}.json`)

/** Records the creates an interrupted apply left in flight, adding to any earlier record not yet settled. */
export function recordInterruptedApply(envDir: string, stack: string, inFlight: CallInFlight[], at = new Date()): void {
  const creates = inFlight.filter((call) => call.action === 'create')
  if (creates.length === 0) return
  const earlier = readInterruptedApplies(envDir, stack)
  const record: InterruptedApply = {stack, interruptedAt: at.toISOString(), inFlight: creates}
  const file = recordFile(envDir, stack)
  mkdirSync(path.dirname(file), {recursive: true})
  // Whole or not at all: a half-written record would lose what the earlier one held.
  writeFileSync(`${file}.tmp`, `${JSON.stringify([...earlier, record], null, 2)}\n`)
  renameSync(`${file}.tmp`, file)
}

export function readInterruptedApplies(envDir: string, stack: string): InterruptedApply[] {
  const file = recordFile(envDir, stack)
  if (!existsSync(file)) return []
  try {
    const records = JSON.parse(readFileSync(file, 'utf8'))
    return Array.isArray(records) ? records : []
  } catch {
    return []
  }
}

/** Once an apply of the stack has succeeded, what it left in flight is settled: imported or created. */
export function clearInterruptedApplies(envDir: string, stack: string, stackDir: string): void {
  rmSync(recordFile(envDir, stack), {force: true})
  rmSync(path.join(stackDir, ADOPTION_FILE), {force: true})
}

type TerraformConfig = {resource?: Record<string, Record<string, Record<string, unknown>>>}

/**
 * For each create left in flight: its import by the name the configuration gives it, or why it
 * cannot be found that way. A name that is not a literal (computed by terraform) cannot be used.
 */
export function planAdoption(config: TerraformConfig, records: InterruptedApply[]): AbandonedCreate[] {
  const byAddress = new Map<string, AbandonedCreate>()
  for (const record of records) {
    for (const call of record.inFlight) {
      const dot = call.address.indexOf('.')
      const type = call.address.slice(0, dot)
      const resource = config.resource?.[type]?.[call.address.slice(dot + 1)]
      // Gone from the configuration (or a counted instance): nothing to adopt it into by name.
      if (!resource) continue
      const attribute = IMPORT_ID_ATTRIBUTE[type]
      const id = attribute ? resource[attribute] : undefined
      const literal = typeof id === 'string' && id.length > 0 && !id.includes('${')
      byAddress.set(call.address, literal ? {address: call.address, outcome: 'import', id: id as string, interruptedAt: record.interruptedAt} : {address: call.address, outcome: 'check-by-hand', interruptedAt: record.interruptedAt})
    }
  }
  return [...byAddress.values()]
}

/** Writes the import blocks for the creates to adopt (or removes the file when there are none). */
export function writeAdoptionImports(stackDir: string, abandoned: AbandonedCreate[]): void {
  const file = path.join(stackDir, ADOPTION_FILE)
  const imports = abandoned.filter((entry) => entry.outcome === 'import').map((entry) => ({to: entry.address, id: entry.id}))
  if (imports.length === 0) rmSync(file, {force: true})
  else writeFileSync(file, `${JSON.stringify({import: imports}, null, 2)}\n`)
}

/**
 * What is left to say once the plan is known. A call still "in flight" in terraform's progress
 * lines may have been recorded after all (the provider stores an id before its waiters finish, and
 * terraform keeps that as tainted): the plan then does not create it, and there is nothing to adopt.
 */
export function settleAgainstPlan(abandoned: AbandonedCreate[], changes: ResourceChange[]): AbandonedCreate[] {
  const planned = new Map(changes.map((change) => [change.address, change]))
  return abandoned.filter((entry) => {
    const change = planned.get(entry.address)
    if (entry.outcome === 'import') return change?.importing !== undefined
    return change?.action === 'create'
  })
}

/**
 * The --adopt addresses, checked against the synthesized stacks before anything runs: each must be
 * a resource of one of them, of a type found by its name, with that name written out. Returns the
 * addresses by stack.
 */
export function adoptionsByStack(addresses: string[], stacks: {name: string; config: TerraformConfig}[]): Map<string, string[]> {
  const byStack = new Map<string, string[]>()
  for (const address of addresses) {
    const dot = address.indexOf('.')
    const type = address.slice(0, dot)
    const owner = dot > 0 ? stacks.find((stack) => stack.config.resource?.[type]?.[address.slice(dot + 1)]) : undefined
    if (!owner) {
      throw new InfraError(`--adopt ${address}: no such resource in ${stacks.map((stack) => stack.name).join(' or ')}`, 'pass the address terraform named (as in "with aws_db_parameter_group.x," in its error)', 'ADOPT_UNKNOWN_ADDRESS', EXIT.usage)
    }
    const attribute = IMPORT_ID_ATTRIBUTE[type]
    const id = attribute ? owner.config.resource![type][address.slice(dot + 1)][attribute] : undefined
    if (typeof id !== 'string' || id.includes('${')) {
      throw new InfraError(`--adopt ${address}: an ${type} is not found by a name the configuration gives it`, `import it by its AWS id: terraform import ${address} ID, in ${owner.name}'s stack folder`, 'ADOPT_NOT_BY_NAME', EXIT.usage)
    }
    byStack.set(owner.name, [...(byStack.get(owner.name) ?? []), address])
  }
  return byStack
}
