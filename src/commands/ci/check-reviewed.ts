import {Flags} from '@oclif/core'

import {findTarget} from '../../estate/load.js'
import {type ReviewCheck, checkReviewed, ghReader} from '../../delivery/reviewed-plan.js'
import {InfraCommand} from '../_lib/base-command.js'

export default class CiCheckReviewed extends InfraCommand {
  static override summary = 'In a pipeline\'s apply job: succeed only when the plan made now has the changes reviewed on the pull request merged as this commit.'
  static override description = `Finds the pull request merged into the environment's branch whose merge commit is --commit (gh api repos/OWNER/NAME/commits/SHA/pulls), the newest successful run of infra-ENV.yml for that pull request into that branch, and its infra-plan-ENV artifact; then compares that plan's changes (addresses, actions, the attributes that change) with the plan in --plan-dir, made on the merged commit. Exits 1 (PLAN_NOT_REVIEWED) on any difference or when no such pull request or run exists; nothing is applied either way.

Needs the GitHub CLI with GH_TOKEN (actions: read, pull-requests: read).`

  static override examples = ['<%= config.bin %> ci check-reviewed --env prod --commit "$GITHUB_SHA" --plan-dir replan']

  static override flags = {
    env: Flags.string({char: 'e', description: 'environment whose pipeline this is', required: true}),
    commit: Flags.string({description: 'the pushed commit (GITHUB_SHA)', required: true, helpValue: 'SHA'}),
    'plan-dir': Flags.string({description: 'the plan of the merged commit, from `infra provision --plan-only --plan-dir DIR`', required: true, helpValue: 'DIR'}),
  }

  async run(): Promise<ReviewCheck> {
    const {flags} = await this.parse(CiCheckReviewed)
    const estate = this.loadEstate(flags.estate)
    const target = findTarget(estate, flags.env)
    const result = await checkReviewed(estate, target.name, flags.commit, flags['plan-dir'], ghReader(estate.delivery?.repository ?? ''))
    if (!this.jsonEnabled()) {
      this.log(`The plan of ${flags.commit.slice(0, 12)} has the changes reviewed on pull request #${result.pullRequest} (run ${result.runId}):`)
      for (const stack of result.stacks) this.log(`  ${stack.name}: ${stack.changes} ${stack.changes === 1 ? 'change' : 'changes'}`)
    }
    return result
  }
}
