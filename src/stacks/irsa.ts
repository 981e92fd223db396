import {type Construct, Fn, type IamOpenidConnectProvider, IamRole, TerraformLocal} from './cdktf.js'
import {policyDocument} from './context.js'

export interface IrsaRoleProps {
  name: string
  description: string
  oidcProvider: IamOpenidConnectProvider
  /** The one Kubernetes service account that may assume the role. */
  namespace: string
  serviceAccount: string
}

/**
 * An IAM role for a Kubernetes service account (IRSA): trusted only through the cluster's OIDC
 * provider, only for `system:serviceaccount:<namespace>:<serviceAccount>` with the STS audience.
 * Creates `oidc-issuer` and `role` in the given scope (the ids the callers' state already holds).
 */
export function irsaRole(scope: Construct, props: IrsaRoleProps): IamRole {
  // A local, so the trust policy holds a plain reference and stays JSON that audits can read.
  const issuer = new TerraformLocal(scope, 'oidc-issuer', Fn.replace(props.oidcProvider.url, 'https://', '')).asString
  return new IamRole(scope, 'role', {
    name: props.name,
    description: props.description,
    assumeRolePolicy: policyDocument([
      {
        Effect: 'Allow',
        Principal: {Federated: props.oidcProvider.arn},
        Action: 'sts:AssumeRoleWithWebIdentity',
        Condition: {
          StringEquals: {[`${issuer}:sub`]: `system:serviceaccount:${props.namespace}:${props.serviceAccount}`, [`${issuer}:aud`]: 'sts.amazonaws.com'},
        },
      },
    ]),
    maxSessionDuration: 3600,
  })
}
