import type {EnvironmentSpec, Estate, SizingProfile} from '../estate/model.js'
import {sizingProfile} from '../estate/model.js'

/** What every construct of an environment's stack reads: the estate model, resolved once. */
export interface StackContext {
  estate: Estate
  env: EnvironmentSpec
  sizing: SizingProfile
  /** "<organization>-<environment>": prefix of every resource name. */
  prefix: string
  /** Discovery parameters live under this path: "/infra/<env>". */
  parameterPath: string
}

export function stackContext(estate: Estate, env: EnvironmentSpec): StackContext {
  return {
    estate,
    env,
    sizing: sizingProfile(env.sizing),
    prefix: `${estate.organization.name}-${env.name}`,
    parameterPath: `/infra/${env.name}`,
  }
}

/** An IAM policy document as a JSON string; Terraform references inside are resolved by cdktf. */
export function policyDocument(statements: Record<string, unknown>[]): string {
  return JSON.stringify({Version: '2012-10-17', Statement: statements})
}

export function assumeRolePolicy(principal: Record<string, string | string[]>, conditions?: Record<string, unknown>): string {
  return policyDocument([{Effect: 'Allow', Principal: principal, Action: 'sts:AssumeRole', ...(conditions ? {Condition: conditions} : {})}])
}
