import {Flags} from '@oclif/core'

import {allTargets, type EnvironmentSpec, type PendingClient} from '../../estate/model.js'
import {type PoolUsage, poolUsage} from '../../estate/pool.js'
import {type BaselineRecord, readBaseline} from '../../onboarding/baseline.js'
import {InfraCommand} from '../_lib/base-command.js'
import {renderTable} from '../../output/table.js'

interface EnvListResult {
  source: string
  organization: {name: string; managementAccountId: string}
  environments: (EnvironmentSpec & {baseline: BaselineRecord | null})[]
  /** Clients whose onboarding has not finished (`status: pending`). */
  pendingClients: PendingClient[]
  /** The client CIDR pool: what is allocated and what is left; null when none is declared. */
  pool: PoolUsage | null
}

export default class EnvList extends InfraCommand {
  static override summary = 'List the environments and clients of the estate, the client CIDR pool, and each one\'s last applied baseline.'
  static override examples = ['<%= config.bin %> env list', '<%= config.bin %> env list --json', '<%= config.bin %> env list --estate ./acme.yaml']
  static override flags = {
    'work-dir': Flags.string({description: 'work folder where applied baselines are recorded', env: 'INFRA_WORK_DIR', default: '.infra'}),
  }

  async run(): Promise<EnvListResult> {
    const {flags} = await this.parse(EnvList)
    const estate = this.loadEstate(flags.estate)
    const targets = allTargets(estate).map((target) => ({...target, baseline: readBaseline(flags['work-dir'], target.name) ?? null}))
    const pending = estate.pendingClients ?? []
    const pool = poolUsage(estate) ?? null
    if (!this.jsonEnabled()) {
      this.log(`Estate ${estate.organization.name} (management account ${estate.organization.managementAccountId}) from ${estate.source}\n`)
      const baseline = (record: BaselineRecord | null) => (record ? `${record.infraVersion} ${record.fingerprint} ${record.appliedAt.slice(0, 16).replace('T', ' ')}${record.complete === false ? ' (partial)' : ''}` : undefined)
      this.log(
        renderTable(
          ['NAME', 'KIND', 'ACCOUNT', 'REGION', 'VPC CIDR', 'SIZING', 'EGRESS', 'PROTECTED', 'ROLE', 'BASELINE'],
          [
            ...targets.map((t) => [t.name, t.kind, t.accountId, t.region, t.vpcCidr, t.sizing, t.egress, t.protected ? 'yes' : 'no', roleShown(t.roleArn, t.accountId), baseline(t.baseline)]),
            ...pending.map((p) => [p.name, 'pending client', p.accountId, p.region, p.vpcCidr, p.sizing, undefined, undefined, undefined, 'onboarding not finished']),
          ],
          {optional: ['EGRESS', 'ROLE']},
        ),
      )
      if (pool) {
        this.log(`\nClient CIDR pool ${pool.pool} (/${pool.blockPrefix} blocks): ${pool.allocated.length} allocated, ${pool.remaining} of ${pool.capacity} free${pool.next ? `, next ${pool.next}` : ''}`)
      }
    }
    return {source: estate.source, organization: estate.organization, environments: targets, pendingClients: pending, pool}
  }
}

/** The role's name when it is in the row's own account (the ARN adds only that account); else the ARN. */
function roleShown(roleArn: string, accountId: string): string {
  const match = /^arn:aws[\w-]*:iam::(\d{12}):role\/(.+)$/.exec(roleArn)
  return match && match[1] === accountId ? match[2] : roleArn
}
