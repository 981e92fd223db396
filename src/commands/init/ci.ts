import {Flags} from '@oclif/core'

import {CI_PROVIDERS, type PipelineTool, estateFileInRepository, type WrittenPipeline, publishedIntegrity, renderPipelines, runningInfra, writePipelines} from '../../delivery/ci.js'
import {type EnvironmentSetup, configureEnvironment, environmentSetups, parseReviewer, requireReviewers} from '../../delivery/environments.js'
import {renderTable} from '../../output/table.js'
import {InfraCommand} from '../_lib/base-command.js'

export default class InitCi extends InfraCommand {
  static override summary = 'Write the branch-based pipelines that plan and apply the estate into a repository.'
  static override description = `One workflow per environment named in the estate's \`delivery\` settings, for a repository that holds only the estate: infra is installed as a tool at a pinned version, its tarball checked against the pinned integrity. A pull request into the environment's branch plans with the read-only plan role (the plan's changes kept as an artifact, the summary on the job page, the policy findings in code scanning) and applies nothing. A push to the branch plans again with the deploy role, in the GitHub environment of the same name, and applies only when that plan's changes are the ones reviewed on the pull request merged as that commit (\`infra ci check-reviewed\`). AWS access is by OIDC through the roles the stacks create for that repository; no keys. Every action is pinned by commit.

The GitHub environments must admit only their branch, and protected ones need reviewers: this prints the gh commands that set them up, or runs them with --configure; \`infra doctor --for ci\` reads them back.

Running it again updates the files infra wrote and nobody edited since; edited files are refused unless --force.`

  static override examples = [
    '<%= config.bin %> init ci --provider github',
    '<%= config.bin %> init ci --dir ./estate-repo --reviewer team:acme/platform --json',
    '<%= config.bin %> init ci --dir ./estate-repo --reviewer user:alice --configure',
  ]

  static override flags = {
    provider: Flags.string({description: 'CI system', options: [...CI_PROVIDERS], default: 'github'}),
    dir: Flags.string({description: 'root of the repository to write into', default: '.'}),
    force: Flags.boolean({description: 'replace workflow files that were edited since infra wrote them'}),
    'infra-version': Flags.string({description: 'the published infra version the pipelines install (default: this one)', helpValue: 'X.Y.Z'}),
    'infra-integrity': Flags.string({description: 'the sha512 integrity of that version\'s tarball (default: asked of the npm registry)', helpValue: 'sha512-...'}),
    reviewer: Flags.string({description: 'who must approve applies to protected environments: user:LOGIN or team:ORG/SLUG (repeatable)', multiple: true}),
    configure: Flags.boolean({description: 'run the gh commands that configure the GitHub environments instead of printing them'}),
  }

  async run(): Promise<{provider: string; repository: string; files: WrittenPipeline[]; tool: PipelineTool; environments: (EnvironmentSetup & {configured: boolean})[]}> {
    const {flags} = await this.parse(InitCi)
    const estate = this.loadEstate(flags.estate)
    const reviewers = (flags.reviewer ?? []).map(parseReviewer)
    const setups = environmentSetups(estate, reviewers)
    if (flags.configure) requireReviewers(setups)
    const running = runningInfra()
    const version = flags['infra-version'] ?? running.version
    const estateFile = estateFileInRepository(flags.dir, estate.source)
    const tool = {name: running.name, version, integrity: flags['infra-integrity'] ?? (await publishedIntegrity(running.name, version))}
    const files = writePipelines(flags.dir, renderPipelines(estate, tool, estateFile, flags.provider as 'github'), flags.force)
    if (flags.configure) for (const setup of setups) await configureEnvironment(setup)
    if (!this.jsonEnabled()) {
      this.log(renderTable(['FILE', 'ENVIRONMENT', 'RESULT'], files.map((file) => [file.path, file.environment, file.outcome])))
      this.log(flags.configure ? '\nConfigured the GitHub environments:' : '\nConfigure the GitHub environments the applies run in (each admits only its branch; protected ones wait for a reviewer), then check with `infra doctor --for ci`:')
      for (const setup of setups) {
        this.log(`\n# ${setup.environment}: deploys from ${setup.branch}${setup.protected ? `, reviewers: ${setup.reviewers.map((reviewer) => reviewer.name).join(', ') || 'NONE: pass --reviewer to get its commands (without one they would remove the reviewers it has)'}` : ''}`)
        if (!flags.configure && setup.commands.length > 0) this.log(setup.commands.join('\n'))
      }
    }
    return {provider: flags.provider, repository: estate.delivery!.repository, files, tool, environments: setups.map((setup) => ({...setup, configured: flags.configure}))}
  }
}

