import {readFileSync} from 'node:fs'
import path from 'node:path'

import type {EnvironmentSpec, Estate} from '../estate/model.js'
import {EXIT, InfraError, fromSystemError} from '../errors.js'
import {synthesizeEnvironment} from '../stacks/app.js'
import {type AuditOptions, type AuditReport, runAudit} from './engine.js'
import {isPlanDocument, resourcesFromJson} from './resources.js'
import {type VariableInput, configurationInput, isConfigurationPath} from './terraform-config.js'

/** The estate's exceptions that apply to an environment. */
export function exceptionsFor(estate: Estate, env?: EnvironmentSpec): NonNullable<AuditOptions['exceptions']> {
  return estate.exceptions.filter((exception) => !exception.environment || exception.environment === env?.name)
}

/** Input the audit cannot read is a usage error (exit 2), never mistaken for findings (exit 1). */
function readJson(file: string): unknown {
  const fix = 'pass a Terraform JSON file or the output of `terraform show -json PLANFILE`'
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (error) {
    // readFileSync of a folder (EISDIR) does not name the path.
    const err = error as NodeJS.ErrnoException
    if (err.code && !err.path) err.path = file
    const system = fromSystemError(err)
    throw new InfraError(system?.message ?? `${file} cannot be read`, system?.fix ?? fix, 'AUDIT_INPUT_UNREADABLE', EXIT.usage)
  }
  try {
    return JSON.parse(text)
  } catch (error) {
    throw new InfraError(`${file} is not JSON (${(error as Error).message.split('\n')[0]})`, fix, 'AUDIT_INPUT_UNREADABLE', EXIT.usage)
  }
}

/**
 * Audits one input: a `terraform show -json` plan (its unknown-until-apply values from
 * configurationFile when given), or Terraform configuration — a .tf or .tf.json file, any JSON
 * configuration (cdk.tf.json), or a folder of them — evaluated as terraform plans it, with
 * variables from `variables`.
 */
export async function auditFile(file: string, options: AuditOptions, configurationFile?: string, variables: VariableInput = {}): Promise<AuditReport> {
  if (!file.endsWith('.json') && isConfigurationPath(file)) return runAudit(await configurationInput(file, variables), options)
  const document = readJson(file)
  if (isPlanDocument(document)) {
    // --configuration may be the .tf folder the plan came from: evaluated, it fills what the plan leaves unknown (a jsonencode holding an ARN).
    const configuration = !configurationFile
      ? undefined
      : !configurationFile.endsWith('.json') && isConfigurationPath(configurationFile)
        ? (await configurationInput(configurationFile, variables)).resources
        : resourcesFromJson(readJson(configurationFile), configurationFile).resources
    return runAudit(resourcesFromJson(document, file, configuration), options)
  }
  resourcesFromJson(document, file) // refuses JSON that is neither configuration nor a plan
  return runAudit(await configurationInput(file, variables, document as Record<string, unknown>), options)
}

/** Synthesizes an environment's stacks and audits each one. */
export function auditEnvironment(estate: Estate, env: EnvironmentSpec, workDir: string, options: Omit<AuditOptions, 'protected' | 'exceptions'> = {}): AuditReport[] {
  const envDir = path.resolve(workDir, env.name)
  const {stacks} = synthesizeEnvironment(estate, env, path.join(envDir, 'cdktf.out'), path.join(envDir, 'state'))
  // Our own stacks are audited as synthesized: cdktf writes every value the rules read.
  return stacks.map((stack) => {
    const file = path.join(stack.workingDirectory, 'cdk.tf.json')
    return runAudit(resourcesFromJson(readJson(file), file), {...options, protected: env.protected, exceptions: exceptionsFor(estate, env)})
  })
}
