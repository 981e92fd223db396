import {allTargets, type EnvironmentSpec} from '../../estate/model.js'
import {InfraCommand} from '../_lib/base-command.js'
import {renderTable} from '../../output/table.js'

export default class EnvList extends InfraCommand {
  static override summary = 'List the environments and clients of the estate.'
  static override examples = ['<%= config.bin %> env list', '<%= config.bin %> env list --json', '<%= config.bin %> env list --estate ./acme.yaml']

  async run(): Promise<{source: string; organization: {name: string; managementAccountId: string}; environments: EnvironmentSpec[]}> {
    const {flags} = await this.parse(EnvList)
    const estate = this.loadEstate(flags.estate)
    const targets = allTargets(estate)
    if (!this.jsonEnabled()) {
      this.log(`Estate ${estate.organization.name} (management account ${estate.organization.managementAccountId}) from ${estate.source}\n`)
      this.log(
        renderTable(
          ['NAME', 'KIND', 'ACCOUNT', 'REGION', 'VPC CIDR', 'SIZING', 'EGRESS', 'PROTECTED', 'ROLE'],
          targets.map((t) => [t.name, t.kind, t.accountId, t.region, t.vpcCidr, t.sizing, t.egress, t.protected ? 'yes' : 'no', t.roleArn]),
        ),
      )
    }
    return {source: estate.source, organization: estate.organization, environments: targets}
  }
}
