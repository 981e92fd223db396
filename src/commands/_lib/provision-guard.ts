import type {EnvironmentSpec} from '../../estate/model.js'
import type {StackReport} from '../../provision/provision.js'
import {colourOn, showPaged} from '../../output/pager.js'
import {confirmableWithoutAsking, confirmChange} from '../../prompts/interaction.js'
import {renderStackPlan} from './render-provision.js'

/**
 * The one guard in front of every apply of a target's stacks: `provision`, the fleet and a rerun of
 * `onboard-client`. A protected target and every destroy need the target's name typed (or
 * `--yes --confirm NAME` without a terminal); anything else needs a yes (or --yes).
 */
export interface StackGuard {
  target: EnvironmentSpec
  mode: 'apply' | 'destroy'
  yes: boolean
  confirmName?: string
  interactive: boolean
  /** --json: the plan is in the report, not printed. */
  json: boolean
  /** How to see the plan without applying it ("see every change first with `...`"), for a refusal made before planning. */
  planCommand: string
}

/** The name a person must give to change this target, if any. */
export function nameToType(target: EnvironmentSpec, mode: 'apply' | 'destroy'): string | undefined {
  return target.protected || mode === 'destroy' ? target.name : undefined
}

/**
 * Refuses, before the first AWS call, a run whose confirmation cannot be given: no terminal and
 * no --yes, or a name needed and --confirm missing or another name. Exit 4, nothing planned.
 */
export function refuseUnconfirmable(guard: StackGuard): void {
  confirmableWithoutAsking({
    action: `${guard.mode} ${guard.target.name} in account ${guard.target.accountId}`,
    typeToConfirm: nameToType(guard.target, guard.mode),
    yes: guard.yes,
    confirmName: guard.confirmName,
    interactive: guard.interactive,
    seePlan: guard.planCommand,
  })
}

/** Shows the stack's whole plan (paged at a terminal when taller than it), then asks. */
export async function confirmStack(stack: StackReport, guard: StackGuard, log: (text: string) => void): Promise<boolean> {
  if (!guard.json) {
    const text = renderStackPlan(stack, {colour: colourOn()})
    if (guard.interactive) await showPaged(text)
    else log(text)
  }
  const plan = stack.plan!
  const changes = plan.create + plan.update + plan.replace + plan.delete
  const agreed = await confirmChange({
    action: `${guard.mode} ${changes} change${changes === 1 ? '' : 's'}${plan.import ? ` and ${plan.import} import${plan.import === 1 ? '' : 's'}` : ''} to ${stack.name} in account ${guard.target.accountId}`,
    typeToConfirm: nameToType(guard.target, guard.mode),
    yes: guard.yes,
    confirmName: guard.confirmName,
    interactive: guard.interactive,
  })
  if (!agreed && !guard.json) process.stderr.write(`Not confirmed: nothing was applied to ${stack.name}.\n`)
  return agreed
}
