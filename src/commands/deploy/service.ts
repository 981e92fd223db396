import {Flags} from '@oclif/core'

import {InfraCommand, awsFlags} from '../_lib/base-command.js'
import {findTarget} from '../../estate/load.js'
import {EXIT, InfraError} from '../../errors.js'
import {type DeployServiceReport, deployService} from '../../deploy/service.js'
import {renderDeployReport} from '../_lib/render-deploy.js'
import {confirmChange, requireChoice} from '../../prompts/interaction.js'
import {environmentChoices} from '../_lib/choices.js'

export default class DeployService extends InfraCommand {
  static override summary = 'Deploy the collection service to the environment\'s EKS cluster (through the EKS tunnel).'
  static override description = `Synthesizes the service's Kubernetes objects (cdk8s) into <work-dir>/<env>/k8s/manifests, validates them against the Kubernetes API schemas and the policy rules, then runs kubectl apply --server-side with the kubeconfig context the EKS tunnel writes (infra-<env>) and waits for kubectl rollout status. When the new pods do not become ready in time, the rollout is undone and the command fails.

Open the tunnel first, in another terminal: infra tunnel eks --env <env>.
Values only the applied stacks know (WAF web ACL, database secret and endpoint) are read from the discovery parameters /infra/<env>/...; the flags of the same names replace them (for offline dry runs).
Protected environments (prod) need --confirm <env>, and --yes without a terminal.`

  static override examples = [
    '<%= config.bin %> deploy service --env dev --image 111111111111.dkr.ecr.eu-west-1.amazonaws.com/infra:0.1.0 --dry-run',
    '<%= config.bin %> deploy service --env dev --image 111111111111.dkr.ecr.eu-west-1.amazonaws.com/infra:0.1.0',
    '<%= config.bin %> deploy service --env prod --image 333333333333.dkr.ecr.eu-west-1.amazonaws.com/infra@sha256:e8671a3b95e03dbedada187a599de010accc4ce231ab97fcaeff8b55131a3b98 --confirm prod --yes',
  ]

  static override flags = {
    ...awsFlags,
    env: Flags.string({char: 'e', description: 'environment or client to deploy to'}),
    image: Flags.string({description: 'image reference to run: registry/name:tag or registry/name@sha256:digest', required: true}),
    'dry-run': Flags.boolean({description: 'write and check the manifests and print what would be applied; no cluster needed'}),
    yes: Flags.boolean({char: 'y', description: 'apply without asking (needed without a terminal)'}),
    confirm: Flags.string({description: 'the environment\'s name, required to deploy to a protected environment'}),
    context: Flags.string({description: 'kubeconfig context (default: infra-<env>, written by `infra tunnel eks`)', helpGroup: 'KUBERNETES'}),
    kubeconfig: Flags.string({description: 'kubeconfig file (default: KUBECONFIG, then ~/.kube/config)', helpGroup: 'KUBERNETES'}),
    'rollout-timeout': Flags.integer({description: 'seconds the new pods have to become ready before the rollout is undone', default: 300, min: 10, helpGroup: 'KUBERNETES'}),
    'work-dir': Flags.string({description: 'folder for the synthesized manifests', env: 'INFRA_WORK_DIR', default: '.infra'}),
    'certificate-arn': Flags.string({description: 'ACM certificate for an HTTPS listener on the internal load balancer'}),
    'waf-acl-arn': Flags.string({description: 'WAF web ACL ARN (default: /infra/<env>/waf/web-acl-arn)', helpGroup: 'DISCOVERY'}),
    'opensearch-endpoint': Flags.string({description: 'OpenSearch log domain endpoint, when the estate turns it on (default: /infra/<env>/logs/opensearch-endpoint)', helpGroup: 'DISCOVERY'}),
    'database-secret-arn': Flags.string({description: 'RDS-managed secret ARN (default: /infra/<env>/database/secret-arn)', helpGroup: 'DISCOVERY'}),
    'database-endpoint': Flags.string({description: 'database host:port (default: /infra/<env>/database/endpoint)', helpGroup: 'DISCOVERY'}),
    'alb-subnets': Flags.string({description: 'the load-balancer tier\'s subnet ids, comma-separated (default: /infra/<env>/network/load-balancer-subnet-ids)', helpGroup: 'DISCOVERY'}),
    'alb-security-group': Flags.string({description: 'the internal ALB\'s security group id (default: /infra/<env>/eks/alb-security-group-id)', helpGroup: 'DISCOVERY'}),
  }

  async run(): Promise<DeployServiceReport> {
    const {flags} = await this.parse(DeployService)
    const estate = this.loadEstate(flags.estate)
    const interactive = this.interactive()
    const envName = await requireChoice(flags.env, '--env', 'Environment:', environmentChoices(estate), interactive)
    const env = findTarget(estate, envName)
    if (flags.confirm !== undefined && flags.confirm !== env.name) {
      throw new InfraError(`--confirm ${flags.confirm} does not name the target environment ${env.name}`, `pass --confirm ${env.name}`, 'CONFIRMATION_MISMATCH', EXIT.declined)
    }
    // Refused before anything is synthesized or looked up: no one can confirm and the flags do not.
    if (!flags['dry-run'] && !interactive && (!flags.yes || (env.protected && flags.confirm !== env.name))) {
      const needed = env.protected ? `--confirm ${env.name} --yes` : '--yes'
      throw new InfraError(`refusing to deploy to ${env.name} without confirmation: no terminal to ask on (or CI is set)`, `review with --dry-run, then run again with ${needed}`, 'CONFIRMATION_REQUIRED', EXIT.declined)
    }
    const report = await deployService({
      estate,
      env,
      image: flags.image,
      dryRun: flags['dry-run'],
      workDir: flags['work-dir'],
      profile: flags.profile,
      certificateArn: flags['certificate-arn'],
      discovered: {wafWebAclArn: flags['waf-acl-arn'], databaseSecretArn: flags['database-secret-arn'], databaseEndpoint: flags['database-endpoint'], openSearchEndpoint: flags['opensearch-endpoint'], loadBalancerSubnets: flags['alb-subnets'], albSecurityGroup: flags['alb-security-group']},
      kubectl: {context: flags.context, kubeconfig: flags.kubeconfig},
      rolloutTimeoutSeconds: flags['rollout-timeout'],
      confirm: async ({context, objects}) => {
        if (!this.jsonEnabled()) this.log(`Will apply to context ${context} (account ${env.accountId}):\n${objects.map((o) => `  ${o}`).join('\n')}`)
        if (env.protected && flags.confirm === env.name && flags.yes) return true
        return confirmChange({
          action: `deploy ${flags.image} to ${env.name} (${objects.length} objects)`,
          typeToConfirm: env.protected && flags.confirm !== env.name ? env.name : undefined,
          yes: flags.yes && !env.protected,
          interactive,
        })
      },
    })
    if (!this.jsonEnabled()) this.log(renderDeployReport(report))
    return report
  }
}
