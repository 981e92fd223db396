import {Flags} from '@oclif/core'

import {awsClientConfig} from '../../aws/clients.js'
import {findTarget} from '../../estate/load.js'
import {type ExecCredential, eksToken} from '../../ssm/eks-token.js'
import {deployRoleArn} from '../../ssm/targets.js'
import {InfraCommand, awsFlags} from '../_lib/base-command.js'

export default class EksToken extends InfraCommand {
  static override summary = 'Print an ExecCredential with an EKS bearer token, for kubectl (written by "infra tunnel eks").'
  static override description = `The token is a presigned STS GetCallerIdentity URL for the environment's deploy role (which the cluster's access entry maps), as "aws eks get-token" makes it; kubectl is told it expires in 14 minutes. The output is always the ExecCredential JSON (client.authentication.k8s.io/v1beta1).`

  static override examples = ['<%= config.bin %> eks token --cluster acme-prod-eks --env prod']

  static override flags = {
    ...awsFlags,
    env: Flags.string({char: 'e', description: 'environment or client that owns the cluster', required: true}),
    cluster: Flags.string({description: 'EKS cluster name', required: true}),
    'role-arn': Flags.string({description: 'role to sign as (default: the environment\'s deploy role)'}),
  }

  // kubectl reads exactly one JSON document from stdout, with or without --json.
  async run(): Promise<ExecCredential> {
    const {flags} = await this.parse(EksToken)
    const estate = this.loadEstate(flags.estate)
    const env = findTarget(estate, flags.env)
    const roleArn = flags['role-arn'] ?? deployRoleArn(estate.organization.name, env)
    const config = await awsClientConfig({estate, target: {...env, roleArn, region: flags.region ?? env.region}, profile: flags.profile, purpose: 'eks-token'})
    const credential = await eksToken({clusterName: flags.cluster, region: config.region, credentials: await config.credentials()})
    if (!this.jsonEnabled()) this.log(JSON.stringify(credential))
    return credential
  }
}
