import path from 'node:path'

import {Terraform} from './runner.js'
import {findTerraformBinary, writeCliConfig} from './binary.js'

export interface TerraformSettings {
  /** --terraform or INFRA_TERRAFORM; else terraform, then tofu, on PATH. */
  binary?: string
  /** --plugin-mirror or INFRA_TF_PLUGIN_MIRROR: a filesystem mirror of providers, for offline machines. */
  pluginMirror?: string
  /** Passed to terraform as AWS_PROFILE so it uses the same credentials as infra. */
  profile?: string
  timeoutMs?: number
  onLine?: (line: string) => void
}

/** Prepares terraform once for a work folder and hands out a runner per stack folder. */
export function terraformFactory(workDir: string, settings: TerraformSettings, env = process.env): (stackDir: string) => Terraform {
  const binary = findTerraformBinary(settings.binary, env)
  const cliConfig = writeCliConfig(workDir, settings.pluginMirror ?? env.INFRA_TF_PLUGIN_MIRROR)
  const childEnv: Record<string, string | undefined> = {
    ...(cliConfig ? {TF_CLI_CONFIG_FILE: cliConfig} : {}),
    ...(settings.profile ? {AWS_PROFILE: settings.profile} : {}),
  }
  return (stackDir) => new Terraform({binary, cwd: path.resolve(stackDir), env: childEnv, timeoutMs: settings.timeoutMs, onLine: settings.onLine})
}
