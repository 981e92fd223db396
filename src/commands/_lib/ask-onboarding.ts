import {cidrProblem, nextFreeBlock} from '../../estate/pool.js'
import type {Estate, Sizing} from '../../estate/model.js'
import {SIZINGS} from '../../estate/model.js'
import {EXIT, InfraError} from '../../errors.js'
import {CLIENT_NAME, EMAIL, type OnboardRequest} from '../../onboarding/onboard-plan.js'
import type {OrganizationalUnit} from '../../onboarding/organization.js'

export interface OnboardAnswers {
  name?: string
  email?: string
  ou?: string
  region?: string
  cidr?: string
  sizing?: string
  tags?: string[]
  omitLayers?: string[]
}

/** `key=value` flags as a tag map, or an error naming the bad one. */
export function parseTags(values: string[] = []): Record<string, string> {
  const tags: Record<string, string> = {}
  for (const value of values.flatMap((entry) => entry.split(',')).map((entry) => entry.trim()).filter(Boolean)) {
    const at = value.indexOf('=')
    if (at <= 0) throw new InfraError(`--tag "${value}" is not key=value`, 'pass tags as --tag team=payments (repeatable)', 'INVALID_TAG')
    tags[value.slice(0, at).trim()] = value.slice(at + 1).trim()
  }
  return tags
}

/**
 * Fills the request from flags, then (at a terminal) by asking for what is missing; without one,
 * a missing required flag is an error naming it. Region, sizing and CIDR default to the estate's
 * region, small, and the pool's next free block.
 */
export async function completeRequest(
  estate: Estate,
  given: OnboardAnswers,
  interactive: boolean,
  listUnits: () => Promise<OrganizationalUnit[]>,
): Promise<OnboardRequest> {
  const missing = (flag: string): never => {
    throw new InfraError(`missing ${flag}`, `pass ${flag} (no terminal to ask on, or --yes was given)`, 'MISSING_FLAG', EXIT.usage)
  }
  const prompts = interactive ? await import('@inquirer/prompts') : undefined
  const name = given.name ?? (prompts ? await prompts.input({message: 'Client name:', validate: (v) => CLIENT_NAME.test(v.trim()) || '2-31 lowercase letters, digits or dashes, starting with a letter'}) : missing('--name'))
  const email = given.email ?? (prompts ? await prompts.input({message: 'Root e-mail of the new account:', validate: (v) => EMAIL.test(v.trim()) || 'an e-mail address no AWS account uses yet'}) : missing('--email'))
  let ou = given.ou
  if (!ou) {
    if (!prompts) missing('--ou')
    const units = await listUnits()
    ou = await prompts!.select({message: 'Organizational unit:', choices: units.map((unit) => ({name: `${unit.path} (${unit.id})`, value: unit.id}))})
  }
  const defaultRegion = estate.defaults?.region ?? 'eu-west-1'
  const region = given.region ?? (prompts ? await prompts.input({message: 'Region:', default: defaultRegion}) : defaultRegion)
  let cidr = given.cidr
  if (!cidr) {
    const next = nextFreeBlock(estate)
    cidr = prompts
      ? await prompts.input({message: 'VPC CIDR (the next free block of the pool):', default: next, validate: (v) => cidrProblem(estate, v.trim(), name.trim()) ?? true})
      : next
  }
  const sizing = (given.sizing ?? (prompts ? await prompts.select({message: 'Sizing:', choices: SIZINGS.map((value) => ({name: value, value}))}) : 'small')) as Sizing
  const tagText = given.tags ?? (prompts ? [await prompts.input({message: 'Tags (key=value, comma separated; empty for none):', default: ''})] : [])
  const omitLayers = given.omitLayers && given.omitLayers.length > 0 ? {omitLayers: given.omitLayers as OnboardRequest['omitLayers']} : {}
  return {name: name.trim(), email: email.trim(), organizationalUnit: ou!, region: region.trim(), vpcCidr: cidr.trim(), sizing, tags: parseTags(tagText), ...omitLayers}
}
