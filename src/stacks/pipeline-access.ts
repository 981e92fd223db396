import {Construct, IamOpenidConnectProvider, IamRole, IamRolePolicy, IamRolePolicyAttachment} from './cdktf.js'
import {type StackContext, policyDocument} from './context.js'
import {STATE_KEY_PREFIX} from './state.js'

export const GITHUB_OIDC_HOST = 'token.actions.githubusercontent.com'

/**
 * The pipeline's way into this account: GitHub's OIDC provider and two roles, never long-lived keys.
 * - `<prefix>-pipeline-plan`: pull requests of the estate's repository; reads everything and may
 *   only take the state lock, so a plan from any branch can change nothing.
 * - `<prefix>-pipeline-deploy`: only the environment's own branch (a job that names a GitHub
 *   environment presents `environment:<name>` instead, so protected environments, which wait for
 *   an approval in that environment, are trusted by that claim and the environment's branch rule).
 */
export class PipelineAccess extends Construct {
  readonly planRole: IamRole
  readonly deployRole: IamRole

  constructor(scope: Construct, id: string, ctx: StackContext, delivery: {repository: string; branch: string}) {
    super(scope, id)
    const {env, prefix} = ctx
    const provider = new IamOpenidConnectProvider(this, 'github', {
      url: `https://${GITHUB_OIDC_HOST}`,
      // No thumbprint: AWS verifies GitHub's certificate against its own trust store.
      clientIdList: ['sts.amazonaws.com'],
    })
    const trust = (subjects: string[]) =>
      policyDocument([
        {
          Effect: 'Allow',
          Principal: {Federated: provider.arn},
          Action: 'sts:AssumeRoleWithWebIdentity',
          Condition: {
            StringEquals: {[`${GITHUB_OIDC_HOST}:aud`]: 'sts.amazonaws.com', [`${GITHUB_OIDC_HOST}:sub`]: subjects},
          },
        },
      ])
    const repo = `repo:${delivery.repository}`
    this.planRole = new IamRole(this, 'plan', {
      name: `${prefix}-pipeline-plan`,
      description: `Plans ${env.name} for pull requests of ${delivery.repository}; read-only but for the state lock`,
      assumeRolePolicy: trust([`${repo}:pull_request`]),
      maxSessionDuration: 3600,
    })
    new IamRolePolicyAttachment(this, 'plan-read-only', {role: this.planRole.name, policyArn: 'arn:aws:iam::aws:policy/ReadOnlyAccess'})
    const stateObjects = `arn:aws:s3:::${env.stateBucket}/${STATE_KEY_PREFIX}/${env.name}/*`
    new IamRolePolicy(this, 'plan-state', {
      role: this.planRole.id,
      name: 'state-lock-and-read',
      policy: policyDocument([
        {Sid: 'TakeTheStateLock', Effect: 'Allow', Action: ['s3:PutObject', 's3:DeleteObject'], Resource: `${stateObjects}.tflock`},
        {
          Sid: 'ReadTheEncryptedState',
          Effect: 'Allow',
          Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
          Resource: `arn:aws:kms:${env.region}:${env.accountId}:key/*`,
          Condition: {StringEquals: {'kms:ViaService': `s3.${env.region}.amazonaws.com`}},
        },
      ]),
    })
    this.deployRole = new IamRole(this, 'deploy', {
      name: `${prefix}-pipeline-deploy`,
      description: `Applies ${env.name} from ${delivery.repository}'s ${delivery.branch} branch`,
      assumeRolePolicy: trust([`${repo}:ref:refs/heads/${delivery.branch}`, `${repo}:environment:${env.name}`]),
      maxSessionDuration: 3600,
    })
    new IamRolePolicyAttachment(this, 'deploy-admin', {role: this.deployRole.name, policyArn: 'arn:aws:iam::aws:policy/AdministratorAccess'})
  }
}
