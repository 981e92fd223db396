import {Construct, IamOpenidConnectProvider, IamRole, IamRolePolicy, IamRolePolicyAttachment} from './cdktf.js'
import {type StackContext, policyDocument} from './context.js'
import {planReadActions, scopedPlanReads} from './plan-reads.js'
import {STATE_KEY_PREFIX} from './state.js'

export const GITHUB_OIDC_HOST = 'token.actions.githubusercontent.com'

/**
 * The pipeline's way into this account: GitHub's OIDC provider and two roles, never long-lived keys.
 *
 * - `<prefix>-pipeline-plan`: pull requests of the estate's repository. Its subject,
 *   `repo:<repo>:pull_request`, is the same for every pull request into any branch: GitHub's default
 *   subject carries no base branch, and a plan job that named a GitHub environment to get a narrower
 *   subject would need that environment to admit pull-request refs, which any pull request can then
 *   name too. So the distinction is not made in the trust; what the role can do is made harmless
 *   instead: it reads the state (the same state every plan shows), takes the state lock, and makes
 *   the metadata reads terraform's refresh needs (PLAN_READS, derived per resource type and checked
 *   against the synthesized stacks). No object outside the state, no secret value, no SecureString,
 *   no decrypt but the state key's, through S3, for the state bucket.
 * - `<prefix>-pipeline-deploy`: only the job that runs in the GitHub environment of this name
 *   (`repo:<repo>:environment:<env>`). Not the branch's subject: a job that names an environment
 *   presents the environment's subject instead of the branch's, so the branch's subject would only
 *   admit jobs that skip the environment and its reviewers. The environment, configured by
 *   `infra init ci` and checked by `infra doctor --for ci`, admits only the environment's branch.
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
      description: `Plans ${env.name} for pull requests of ${delivery.repository}: the state, the lock and terraform's refresh reads, no data`,
      assumeRolePolicy: trust([`${repo}:pull_request`]),
      maxSessionDuration: 3600,
    })
    new IamRolePolicy(this, 'plan-state', {role: this.planRole.id, name: 'state-lock-and-refresh', policy: planPolicy(ctx)})
    this.deployRole = new IamRole(this, 'deploy', {
      name: `${prefix}-pipeline-deploy`,
      description: `Applies ${env.name} from ${delivery.repository}, in its GitHub environment ${env.name} (branch ${delivery.branch})`,
      assumeRolePolicy: trust([`${repo}:environment:${env.name}`]),
      maxSessionDuration: 3600,
    })
    new IamRolePolicyAttachment(this, 'deploy-admin', {role: this.deployRole.name, policyArn: 'arn:aws:iam::aws:policy/AdministratorAccess'})
  }
}

/** The plan role's only policy: the state, its lock, its key through S3, and the refresh reads. */
export function planPolicy(ctx: StackContext): string {
  const {env, prefix} = ctx
  const stateObjects = `arn:aws:s3:::${env.stateBucket}/${STATE_KEY_PREFIX}/${env.name}/*`
  return policyDocument([
    {Sid: 'ReadTheState', Effect: 'Allow', Action: ['s3:GetObject'], Resource: stateObjects},
    {Sid: 'TakeTheStateLock', Effect: 'Allow', Action: ['s3:PutObject', 's3:DeleteObject'], Resource: `${stateObjects}.tflock`},
    {
      // The state key only (by its alias: kms:ResourceAliases), only as S3 uses it for the state bucket
      // (kms:ViaService; S3's encryption context names the bucket or object: kms:EncryptionContext:aws:s3:arn).
      // AWS docs: "AWS KMS condition keys" (kms:ResourceAliases, kms:ViaService) and "Protecting data with
      // server-side encryption using AWS KMS keys" (the aws:s3:arn encryption context).
      Sid: 'UseTheStateKeyThroughS3',
      Effect: 'Allow',
      Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
      Resource: `arn:aws:kms:${env.region}:${env.accountId}:key/*`,
      Condition: {
        StringEquals: {'kms:ViaService': `s3.${env.region}.amazonaws.com`},
        'ForAnyValue:StringEquals': {'kms:ResourceAliases': `alias/${prefix}-state`},
        StringLike: {'kms:EncryptionContext:aws:s3:arn': [`arn:aws:s3:::${env.stateBucket}`, `arn:aws:s3:::${env.stateBucket}/*`]},
      },
    },
    {Sid: 'RefreshReads', Effect: 'Allow', Action: planReadActions(), Resource: '*'},
    ...scopedPlanReads(env).map((read, index) => ({Sid: `ScopedRefreshReads${index + 1}`, Effect: 'Allow', Action: read.actions, Resource: read.resources})),
  ])
}
