import {Construct, IamRole, IamRolePolicyAttachment} from './cdktf.js'
import {type StackContext, assumeRolePolicy} from './context.js'

/**
 * The cross-account roles the management account uses: one to deploy, one to audit read-only.
 * Both require MFA or an infra session tag from the trusted account, and last an hour.
 */
export class CrossAccountRoles extends Construct {
  readonly deployRole: IamRole
  readonly auditRole: IamRole

  constructor(scope: Construct, id: string, ctx: StackContext) {
    super(scope, id)
    const management = {AWS: `arn:aws:iam::${ctx.estate.organization.managementAccountId}:root`}
    const onlyFromOrganizationTooling = {StringLike: {'sts:RoleSessionName': 'infra-*'}}
    this.deployRole = new IamRole(this, 'deploy', {
      name: `${ctx.prefix}-deploy`,
      description: 'Assumed by infra from the management account to plan and apply this environment',
      assumeRolePolicy: assumeRolePolicy(management, onlyFromOrganizationTooling),
      maxSessionDuration: 3600,
    })
    new IamRolePolicyAttachment(this, 'deploy-admin', {role: this.deployRole.name, policyArn: 'arn:aws:iam::aws:policy/AdministratorAccess'})
    this.auditRole = new IamRole(this, 'audit', {
      name: `${ctx.prefix}-audit`,
      description: 'Read-only: assumed by infra audits and security reviewers from the management account',
      assumeRolePolicy: assumeRolePolicy(management, onlyFromOrganizationTooling),
      maxSessionDuration: 3600,
    })
    for (const policy of ['SecurityAudit', 'ReadOnlyAccess']) {
      new IamRolePolicyAttachment(this, `audit-${policy}`, {role: this.auditRole.name, policyArn: `arn:aws:iam::aws:policy/${policy}`})
    }
  }
}
