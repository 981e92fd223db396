import {Flags} from '@oclif/core'

import {CI_PROVIDERS, type WrittenPipeline, renderPipelines, writePipelines} from '../../delivery/ci.js'
import {renderTable} from '../../output/table.js'
import {InfraCommand} from '../_lib/base-command.js'

export default class InitCi extends InfraCommand {
  static override summary = 'Write the branch-based pipelines that plan and apply the estate into a repository.'
  static override description = `One workflow per environment named in the estate's \`delivery\` settings: a pull request into the environment's branch plans (the plan kept as an artifact, the summary on the job page, the policy findings in code scanning) and applies nothing; a push to the branch applies exactly the reviewed plan while it is current, else plans again and stops. Protected environments wait for an approval in the GitHub environment of the same name. AWS access is by OIDC through the roles the stacks create for that repository; no keys.

Running it again updates the files infra wrote and nobody edited since; edited files are refused unless --force.`

  static override examples = [
    '<%= config.bin %> init ci --provider github',
    '<%= config.bin %> init ci --provider github --dir ./estate-repo --json',
  ]

  static override flags = {
    provider: Flags.string({description: 'CI system', options: [...CI_PROVIDERS], default: 'github'}),
    dir: Flags.string({description: 'root of the repository to write into', default: '.'}),
    force: Flags.boolean({description: 'replace workflow files that were edited since infra wrote them'}),
  }

  async run(): Promise<{provider: string; repository: string; files: WrittenPipeline[]}> {
    const {flags} = await this.parse(InitCi)
    const estate = this.loadEstate(flags.estate)
    const files = writePipelines(flags.dir, renderPipelines(estate, flags.provider as 'github'), flags.force)
    if (!this.jsonEnabled()) {
      this.log(renderTable(['FILE', 'ENVIRONMENT', 'RESULT'], files.map((file) => [file.path, file.environment, file.outcome])))
      const protectedEnvs = estate.environments.filter((env) => env.protected && estate.delivery!.branches[env.name])
      for (const env of protectedEnvs) {
        this.log(`\nIn GitHub, create the environment "${env.name}" with required reviewers and deployment branches limited to "${estate.delivery!.branches[env.name]}": its apply waits there.`)
      }
    }
    return {provider: flags.provider, repository: estate.delivery!.repository, files}
  }
}
