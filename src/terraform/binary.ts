import {accessSync, constants, existsSync, mkdirSync, writeFileSync} from 'node:fs'
import path from 'node:path'

import {InfraError} from '../errors.js'

/** The terraform-compatible binary to run: a flag or INFRA_TERRAFORM, else terraform or tofu on PATH. */
export function findTerraformBinary(preferred?: string, env = process.env): string {
  const chosen = preferred ?? env.INFRA_TERRAFORM
  if (chosen) {
    const found = chosen.includes(path.sep) ? (isExecutable(chosen) ? chosen : undefined) : onPath(chosen, env)
    if (!found) {
      throw new InfraError(
        `terraform binary "${chosen}" was not found or is not executable`,
        'install terraform >= 1.10 or OpenTofu, or pass --terraform with the right path',
        'TERRAFORM_NOT_FOUND',
      )
    }
    return found
  }
  const found = onPath('terraform', env) ?? onPath('tofu', env)
  if (!found) {
    throw new InfraError(
      'neither terraform nor tofu is on PATH',
      'install terraform >= 1.10 or OpenTofu, or pass --terraform /path/to/binary',
      'TERRAFORM_NOT_FOUND',
    )
  }
  return found
}

function onPath(name: string, env: NodeJS.ProcessEnv): string | undefined {
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue
    const candidate = path.join(dir, name)
    if (isExecutable(candidate)) return candidate
  }
  return undefined
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK)
    return true
  } catch {
    return false
  }
}

/**
 * Writes a terraform CLI configuration that installs providers only from a filesystem mirror,
 * for machines with no registry access. The mirror comes from configuration
 * (--plugin-mirror or INFRA_TF_PLUGIN_MIRROR), never from a fixed path.
 */
export function writeCliConfig(workDir: string, mirror: string | undefined): string | undefined {
  if (!mirror) return undefined
  if (!existsSync(mirror)) {
    throw new InfraError(
      `terraform provider mirror ${mirror} does not exist`,
      'point INFRA_TF_PLUGIN_MIRROR (or --plugin-mirror) at a folder laid out as registry.terraform.io/hashicorp/aws/<version>/<os_arch>',
      'MIRROR_NOT_FOUND',
    )
  }
  mkdirSync(workDir, {recursive: true})
  const file = path.resolve(workDir, 'terraform.rc')
  writeFileSync(
    file,
    [
      'provider_installation {',
      `  filesystem_mirror {`,
      `    path    = ${JSON.stringify(path.resolve(mirror))}`,
      `    include = ["registry.terraform.io/*/*"]`,
      '  }',
      '  direct {',
      `    exclude = ["registry.terraform.io/*/*"]`,
      '  }',
      '}',
      '',
    ].join('\n'),
  )
  return file
}
