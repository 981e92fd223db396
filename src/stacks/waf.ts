import {Construct, Wafv2WebAcl} from './cdktf.js'
import type {StackContext} from './context.js'

export const WAF_MANAGED_RULE_GROUPS = [
  'AWSManagedRulesCommonRuleSet',
  'AWSManagedRulesKnownBadInputsRuleSet',
  'AWSManagedRulesAmazonIpReputationList',
  'AWSManagedRulesSQLiRuleSet',
] as const
export const WAF_RATE_LIMIT_PER_5_MIN = 2000

const visibility = (metricName: string) => ({cloudwatchMetricsEnabled: true, sampledRequestsEnabled: true, metricName})

/** A regional web ACL for the service's load balancer: AWS managed rules and a per-IP rate limit. */
export class Waf extends Construct {
  readonly webAcl: Wafv2WebAcl

  constructor(scope: Construct, id: string, ctx: StackContext) {
    super(scope, id)
    const name = `${ctx.prefix}-service`
    // Rule statements pass through to terraform untyped, so their keys must be snake_case.
    const managedRules = WAF_MANAGED_RULE_GROUPS.map((group, index) => ({
      name: group,
      priority: index + 1,
      overrideAction: {none: {}},
      statement: {managed_rule_group_statement: {name: group, vendor_name: 'AWS'}},
      visibilityConfig: visibility(group),
    }))
    this.webAcl = new Wafv2WebAcl(this, 'web-acl', {
      name,
      scope: 'REGIONAL',
      description: `${ctx.prefix}: managed rules and rate limit for the collection service`,
      defaultAction: {allow: {}},
      visibilityConfig: visibility(name),
      rule: [
        {
          name: 'rate-limit-per-ip',
          priority: 0,
          action: {block: {}},
          statement: {rate_based_statement: {limit: WAF_RATE_LIMIT_PER_5_MIN, aggregate_key_type: 'IP'}},
          visibilityConfig: visibility('rate-limit-per-ip'),
        },
        ...managedRules,
      ],
    })
  }
}
