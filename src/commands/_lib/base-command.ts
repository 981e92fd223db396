import {Command, Flags, type Interfaces} from '@oclif/core'

import {loadEstate} from '../../estate/load.js'
import type {Estate} from '../../estate/model.js'
import type {InfraError} from '../../errors.js'
import {formatError, isExitRequest, toInfraError, usageError} from '../../output/cli-errors.js'
import {configureOutput} from '../../output/terminal.js'
import {canPrompt} from '../../prompts/interaction.js'

/** Flags for commands that call AWS. */
export const awsFlags = {
  profile: Flags.string({description: 'AWS profile to start from (default: the standard credential chain)', env: 'AWS_PROFILE', helpGroup: 'AWS'}),
  region: Flags.string({description: 'AWS region (default: the environment\'s region from the estate)', helpGroup: 'AWS'}),
}

/** Flags for commands that run terraform (provision, onboard-client, offboard-client). */
export const terraformFlags = {
  terraform: Flags.string({description: 'terraform or tofu binary (default: INFRA_TERRAFORM, then terraform, then tofu on PATH)', helpGroup: 'TERRAFORM'}),
  'plugin-mirror': Flags.string({description: 'provider filesystem mirror for offline machines', env: 'INFRA_TF_PLUGIN_MIRROR', helpGroup: 'TERRAFORM'}),
  timeout: Flags.integer({description: 'minutes any one terraform call may take', default: 60, min: 1, helpGroup: 'TERRAFORM'}),
}

/** The terraform runner's options from terraformFlags. */
export function terraformOptions(flags: {terraform?: string; 'plugin-mirror'?: string; timeout: number}): {binary?: string; pluginMirror?: string; timeoutMs: number} {
  return {binary: flags.terraform, pluginMirror: flags['plugin-mirror'], timeoutMs: flags.timeout * 60_000}
}

/**
 * What every infra command shares: --json with a stable shape, every error (parse errors
 * included) as one line with a fix or as {"error": {code, message, fix, details}}, the exit
 * codes of src/errors.ts, and knowing whether a person is there to answer prompts.
 */
export abstract class CliCommand extends Command {
  static override enableJsonFlag = true

  static override baseFlags = {
    'no-color': Flags.boolean({description: 'no colour (also NO_COLOR); output is plain when piped anyway', helpGroup: 'GLOBAL'}),
    wide: Flags.boolean({description: 'tables at full width: every cell whole, however wide the terminal', helpGroup: 'GLOBAL'}),
  }

  /** Colour and width are settled before anything prints, parse errors included. */
  override async init(): Promise<void> {
    configureOutput({noColor: this.argv.includes('--no-color'), wide: this.argv.includes('--wide')})
    await super.init()
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

  /** Parse errors become usage errors (exit 2) naming the argument or flag, never its value. */
  protected override async parse<F extends Interfaces.OutputFlags<any>, B extends Interfaces.OutputFlags<any>, A extends Interfaces.OutputArgs<any>>(
    options?: Interfaces.Input<F, B, A>,
    argv?: string[],
  ): Promise<Interfaces.ParserOutput<F, B, A>> {
    try {
      return await super.parse(options, argv)
    } catch (error) {
      // It did parse, and failed: oclif's "did you forget to call this.parse" is not for this case.
      this.parsed = true
      const ctor = this.ctor
      throw usageError(error, {
        bin: this.config.bin,
        id: this.id ?? ctor.id,
        args: (ctor.args ?? {}) as never,
        flags: {...ctor.baseFlags, ...ctor.flags, ...(ctor.enableJsonFlag ? {json: {type: 'boolean'}} : {})} as never,
      })
    }
  }

  protected override async catch(error: Interfaces.CommandError): Promise<unknown> {
    if (isExitRequest(error)) throw error
    const infraError: InfraError = toInfraError(error)
    process.exitCode = infraError.exitCode
    if (this.jsonEnabled()) {
      this.logJson(infraError.toJson())
    } else {
      process.stderr.write(`${formatError(infraError, false)}\n`)
      if ((infraError.code === 'INTERNAL_ERROR' || infraError.code.startsWith('AWS_')) && process.env.INFRA_DEBUG) process.stderr.write(`${(error as Error).stack}\n`)
    }
    return undefined
  }
}

/** A command that reads the estate: --estate, then INFRA_ESTATE, ./infra.estate.yaml, the default. */
export abstract class InfraCommand extends CliCommand {
  static override baseFlags = {
    ...CliCommand.baseFlags,
    estate: Flags.string({description: 'estate file (default: INFRA_ESTATE, ./infra.estate.yaml, then the shipped default)', helpGroup: 'GLOBAL'}),
  }

  protected loadEstate(file: string | undefined): Estate {
    return loadEstate({file})
  }
}

/** A command of the collection service or its client: it never reads the estate, so has no --estate. */
export abstract class ServiceCommand extends CliCommand {}
