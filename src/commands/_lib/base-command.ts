import {Command, Flags, type Interfaces} from '@oclif/core'

import {loadEstate} from '../../estate/load.js'
import type {Estate} from '../../estate/model.js'
import {canPrompt} from '../../prompts/interaction.js'
import {InfraError, isInfraError} from '../../errors.js'

/** Flags for commands that call AWS. */
export const awsFlags = {
  profile: Flags.string({description: 'AWS profile to start from (default: the standard credential chain)', env: 'AWS_PROFILE', helpGroup: 'AWS'}),
  region: Flags.string({description: 'AWS region (default: the environment\'s region from the estate)', helpGroup: 'AWS'}),
}

/**
 * What every infra command shares: --json with a stable shape, --estate, one-line errors
 * with a fix and a non-zero exit, and knowing whether a person is there to answer prompts.
 */
export abstract class InfraCommand extends Command {
  static override enableJsonFlag = true
  static override baseFlags = {
    estate: Flags.string({description: 'estate file (default: INFRA_ESTATE, ./infra.estate.yaml, then the shipped default)', helpGroup: 'GLOBAL'}),
  }

  protected loadEstate(file: string | undefined): Estate {
    return loadEstate({file})
  }

  /** True when a person can answer prompts: a TTY, not CI, and not --json. */
  protected interactive(): boolean {
    return !this.jsonEnabled() && canPrompt()
  }

  /** Progress display for listr2: live for a person, plain lines in logs, nothing under --json. */
  protected renderer(): 'default' | 'simple' | 'silent' {
    if (this.jsonEnabled()) return 'silent'
    return process.stdout.isTTY ? 'default' : 'simple'
  }

  protected override async catch(error: Interfaces.CommandError): Promise<unknown> {
    if (!isInfraError(error)) return super.catch(error)
    process.exitCode = error.exitCode
    if (this.jsonEnabled()) {
      this.logJson({error: {code: error.code, message: error.message, fix: error.fix ?? null, details: error.details}})
    } else {
      this.logToStderr(`Error: ${error.oneLine()}`)
    }
    return undefined
  }
}
