/**
 * For every rule, a small Terraform JSON configuration that passes it and one that fails it.
 * References are written as terraform writes them in synthesized JSON: "${type.name.attr}".
 */
type Doc = Record<string, Record<string, Record<string, any>>>
export interface RuleFixture {
  rule: string
  pass: Doc
  fail: Doc
  /** Run as a protected (production) environment. */
  protected?: boolean
}

const ref = (address: string, attribute = 'id') => `\${${address}.${attribute}}`
const tlsDeny = JSON.stringify({Version: '2012-10-17', Statement: [{Effect: 'Deny', Principal: '*', Action: 's3:*', Resource: '*', Condition: {Bool: {'aws:SecureTransport': 'false'}}}]})
const fullFormat = '${version} ${interface-id} ${action} ${tcp-flags} ${pkt-srcaddr} ${pkt-dstaddr} ${pkt-dst-aws-service} ${flow-direction} ${traffic-path}'.replaceAll('${', '$${')
const policy = (statement: object) => JSON.stringify({Version: '2012-10-17', Statement: [statement]})
const sg = (ingress: object[]) => ({aws_security_group: {sg: {name: 'x', ingress, egress: []}}})
const rule = (from: number, to: number, cidrs: string[] = ['10.0.0.0/16'], protocol = 'tcp') => ({from_port: from, to_port: to, protocol, cidr_blocks: cidrs})
const bucket = {aws_s3_bucket: {b: {bucket: 'audit'}}}
const withBucket = (extra: Doc): Doc => ({...bucket, ...extra})
const db = (values: object) => ({aws_db_instance: {db: {engine: 'postgres', storage_encrypted: true, manage_master_user_password: true, backup_retention_period: 7, iam_database_authentication_enabled: true, ...values}}})

/** An OpenSearch domain with every secure default, as src/stacks/log-search.ts writes it. */
const SEARCH_DOMAIN = {
  domain_name: 'acme-dev-logs',
  encrypt_at_rest: {enabled: true, kms_key_id: 'arn:aws:kms:eu-west-1:111111111111:key/3f1c2d4e-0000-4000-8000-000000000001'},
  node_to_node_encryption: {enabled: true},
  domain_endpoint_options: {enforce_https: true, tls_security_policy: 'Policy-Min-TLS-1-2-PFS-2023-10'},
  vpc_options: {subnet_ids: ['subnet-0a1b2c3d4e5f60718'], security_group_ids: ['sg-0a1b2c3d4e5f60718']},
}

export const RULE_FIXTURES: RuleFixture[] = [
  {rule: 'INFRA_EBS_LAUNCH_TEMPLATE_ENCRYPTED',
    // Plan JSON writes the nested block as a list, as terraform show -json does.
    pass: {aws_launch_template: {lt: {block_device_mappings: [{ebs: [{encrypted: 'true'}]}]}}},
    fail: {aws_launch_template: {lt: {block_device_mappings: [{ebs: {encrypted: 'false'}}]}}}},
  {rule: 'INFRA_EBS_INSTANCE_ENCRYPTED',
    pass: {aws_instance: {i: {root_block_device: [{encrypted: true}]}}},
    fail: {aws_instance: {i: {root_block_device: [{encrypted: false}]}}}},
  {rule: 'INFRA_EBS_VOLUME_ENCRYPTED', pass: {aws_ebs_volume: {v: {encrypted: true}}}, fail: {aws_ebs_volume: {v: {size: 10}}}},
  {rule: 'INFRA_RDS_ENCRYPTED', pass: db({}), fail: db({storage_encrypted: false})},
  {rule: 'INFRA_EKS_SECRETS_ENCRYPTED',
    pass: {aws_eks_cluster: {c: {encryption_config: {resources: ['secrets'], provider: {key_arn: ref('aws_kms_key.k', 'arn')}}}}},
    fail: {aws_eks_cluster: {c: {name: 'c'}}}},
  {rule: 'INFRA_S3_ENCRYPTED',
    pass: withBucket({aws_s3_bucket_server_side_encryption_configuration: {e: {bucket: ref('aws_s3_bucket.b'), rule: [{apply_server_side_encryption_by_default: {sse_algorithm: 'aws:kms'}}]}}}),
    fail: withBucket({aws_s3_bucket_server_side_encryption_configuration: {e: {bucket: ref('aws_s3_bucket.b'), rule: [{apply_server_side_encryption_by_default: {sse_algorithm: 'AES256'}}]}}})},
  {rule: 'INFRA_LOGS_ENCRYPTED', pass: {aws_cloudwatch_log_group: {g: {kms_key_id: 'k', retention_in_days: 90}}}, fail: {aws_cloudwatch_log_group: {g: {retention_in_days: 90}}}},
  {rule: 'INFRA_SNS_ENCRYPTED', pass: {aws_sns_topic: {t: {kms_master_key_id: 'k'}}}, fail: {aws_sns_topic: {t: {name: 't'}}}},
  {rule: 'INFRA_SECRET_CMK', pass: {aws_secretsmanager_secret: {s: {kms_key_id: 'k'}}}, fail: {aws_secretsmanager_secret: {s: {name: 's'}}}},
  {rule: 'INFRA_CLOUDTRAIL_ENCRYPTED',
    pass: {aws_cloudtrail: {t: {kms_key_id: 'k', is_multi_region_trail: true, enable_log_file_validation: true}}},
    fail: {aws_cloudtrail: {t: {is_multi_region_trail: true, enable_log_file_validation: true}}}},
  {rule: 'INFRA_KMS_ROTATION', pass: {aws_kms_key: {k: {enable_key_rotation: true}}}, fail: {aws_kms_key: {k: {enable_key_rotation: false}}}},
  {rule: 'INFRA_RDS_PASSWORD_MANAGED', pass: db({}), fail: db({manage_master_user_password: false, password: 'hunter2hunter2'})},
  {rule: 'INFRA_INSTANCE_NO_PUBLIC_IP',
    pass: {aws_instance: {i: {associate_public_ip_address: false}}}, fail: {aws_instance: {i: {associate_public_ip_address: true}}}},
  {rule: 'INFRA_LAUNCH_TEMPLATE_NO_PUBLIC_IP',
    pass: {aws_launch_template: {lt: {network_interfaces: [{associate_public_ip_address: 'false'}]}}},
    fail: {aws_launch_template: {lt: {network_interfaces: [{associate_public_ip_address: 'true'}]}}}},
  {rule: 'INFRA_SUBNET_NO_PUBLIC_IP', pass: {aws_subnet: {s: {map_public_ip_on_launch: false}}}, fail: {aws_subnet: {s: {map_public_ip_on_launch: true}}}},
  (() => {
    const publicNet = {
      aws_internet_gateway: {igw: {vpc_id: 'vpc'}},
      aws_route_table: {rt: {vpc_id: 'vpc'}},
      aws_route: {r: {route_table_id: ref('aws_route_table.rt'), destination_cidr_block: '0.0.0.0/0', gateway_id: ref('aws_internet_gateway.igw')}},
      aws_subnet: {pub: {cidr_block: '10.0.224.0/24'}, app: {cidr_block: '10.0.0.0/18'}},
      aws_route_table_association: {a: {subnet_id: ref('aws_subnet.pub'), route_table_id: ref('aws_route_table.rt')}},
    }
    return {rule: 'INFRA_PUBLIC_SUBNET_NAT_ONLY',
      pass: {...publicNet, aws_nat_gateway: {n: {subnet_id: ref('aws_subnet.pub')}}, aws_instance: {i: {subnet_id: ref('aws_subnet.app')}}},
      fail: {...publicNet, aws_instance: {i: {subnet_id: ref('aws_subnet.pub')}}}}
  })(),
  {rule: 'INFRA_INSTANCE_IMDSV2',
    pass: {aws_launch_template: {lt: {metadata_options: {http_tokens: 'required'}}}},
    fail: {aws_instance: {i: {metadata_options: [{http_tokens: 'optional'}]}}}},
  {rule: 'INFRA_SG_NO_WORLD_INGRESS', pass: sg([rule(443, 443)]), fail: {aws_vpc_security_group_ingress_rule: {r: {from_port: 443, to_port: 443, ip_protocol: 'tcp', cidr_ipv6: '::/0'}}}},
  {rule: 'INFRA_SG_NO_SSH', pass: sg([rule(443, 443), rule(23, 100)]), fail: {aws_security_group_rule: {r: {type: 'ingress', ...rule(0, 1024)}}}},
  {rule: 'INFRA_SG_NO_RDP', pass: sg([rule(3390, 65535)]), fail: sg([rule(0, 0, ['10.0.0.0/8'], '-1')])},
  {rule: 'INFRA_DEFAULT_SG_CLOSED',
    pass: {aws_vpc: {v: {cidr_block: '10.0.0.0/16'}}, aws_default_security_group: {d: {vpc_id: ref('aws_vpc.v'), ingress: [], egress: []}}},
    fail: {aws_vpc: {v: {cidr_block: '10.0.0.0/16'}}}},
  {rule: 'INFRA_RDS_PRIVATE', pass: db({publicly_accessible: false}), fail: db({publicly_accessible: true})},
  {rule: 'INFRA_EKS_PRIVATE_ENDPOINT',
    pass: {aws_eks_cluster: {c: {vpc_config: {endpoint_public_access: false}}}},
    fail: {aws_eks_cluster: {c: {vpc_config: {endpoint_private_access: true}}}}},
  {rule: 'INFRA_EKS_NO_NODE_SSH', pass: {aws_eks_node_group: {n: {node_group_name: 'n'}}}, fail: {aws_eks_node_group: {n: {remote_access: {ec2_ssh_key: 'ops'}}}}},
  {rule: 'INFRA_NO_KEY_PAIR', pass: {aws_instance: {i: {instance_type: 't3.micro'}}}, fail: {aws_launch_template: {lt: {key_name: 'ops'}}}},
  {rule: 'INFRA_S3_PUBLIC_ACCESS_BLOCKED',
    pass: withBucket({aws_s3_bucket_public_access_block: {p: {bucket: ref('aws_s3_bucket.b'), block_public_acls: true, block_public_policy: true, ignore_public_acls: true, restrict_public_buckets: true}}}),
    fail: withBucket({aws_s3_bucket_public_access_block: {p: {bucket: ref('aws_s3_bucket.b'), block_public_acls: true, block_public_policy: false, ignore_public_acls: true, restrict_public_buckets: true}}})},
  {rule: 'INFRA_S3_TLS_ONLY',
    pass: withBucket({aws_s3_bucket_policy: {p: {bucket: ref('aws_s3_bucket.b'), policy: tlsDeny}}}),
    fail: withBucket({aws_s3_bucket_policy: {p: {bucket: ref('aws_s3_bucket.b'), policy: policy({Effect: 'Allow', Principal: {Service: 'logs.amazonaws.com'}, Action: 's3:PutObject', Resource: '*'})}}})},
  {rule: 'INFRA_S3_VERSIONED',
    pass: withBucket({aws_s3_bucket_versioning: {v: {bucket: ref('aws_s3_bucket.b'), versioning_configuration: {status: 'Enabled'}}}}),
    fail: withBucket({aws_s3_bucket_versioning: {v: {bucket: ref('aws_s3_bucket.b'), versioning_configuration: {status: 'Suspended'}}}})},
  {rule: 'INFRA_S3_OWNER_ENFORCED',
    pass: withBucket({aws_s3_bucket_ownership_controls: {o: {bucket: ref('aws_s3_bucket.b'), rule: {object_ownership: 'BucketOwnerEnforced'}}}}),
    fail: withBucket({aws_s3_bucket_ownership_controls: {o: {bucket: ref('aws_s3_bucket.b'), rule: {object_ownership: 'ObjectWriter'}}}})},
  {rule: 'INFRA_RDS_BACKUPS', pass: db({}), fail: db({backup_retention_period: 1})},
  {rule: 'INFRA_RDS_DELETION_PROTECTION', protected: true, pass: db({deletion_protection: true, multi_az: true}), fail: db({multi_az: true})},
  {rule: 'INFRA_RDS_MULTI_AZ', protected: true, pass: db({deletion_protection: true, multi_az: true}), fail: db({deletion_protection: true})},
  {rule: 'INFRA_RDS_IAM_AUTH', pass: db({}), fail: db({iam_database_authentication_enabled: false})},
  {rule: 'INFRA_EKS_CONTROL_PLANE_LOGS',
    pass: {aws_eks_cluster: {c: {enabled_cluster_log_types: ['api', 'audit', 'authenticator', 'controllerManager', 'scheduler']}}},
    fail: {aws_eks_cluster: {c: {enabled_cluster_log_types: ['api', 'audit']}}}},
  {rule: 'INFRA_CLOUDTRAIL_MULTI_REGION',
    pass: {aws_cloudtrail: {t: {kms_key_id: 'k', is_multi_region_trail: true, enable_log_file_validation: true}}},
    fail: {aws_cloudtrail: {t: {kms_key_id: 'k', enable_log_file_validation: true}}}},
  {rule: 'INFRA_CLOUDTRAIL_VALIDATION',
    pass: {aws_cloudtrail: {t: {kms_key_id: 'k', is_multi_region_trail: true, enable_log_file_validation: true}}},
    fail: {aws_cloudtrail: {t: {kms_key_id: 'k', is_multi_region_trail: true, enable_log_file_validation: false}}}},
  {rule: 'INFRA_VPC_FLOW_LOGS',
    pass: {aws_vpc: {v: {cidr_block: '10.0.0.0/16'}}, aws_flow_log: {f: {vpc_id: ref('aws_vpc.v'), traffic_type: 'ALL', log_format: fullFormat}}},
    fail: {aws_vpc: {v: {cidr_block: '10.0.0.0/16'}}, aws_flow_log: {f: {vpc_id: ref('aws_vpc.other'), traffic_type: 'ALL', log_format: fullFormat}}}},
  {rule: 'INFRA_FLOW_LOGS_ALL_TRAFFIC',
    pass: {aws_flow_log: {f: {traffic_type: 'ALL', log_format: fullFormat}}}, fail: {aws_flow_log: {f: {traffic_type: 'REJECT', log_format: fullFormat}}}},
  {rule: 'INFRA_FLOW_LOGS_FORMAT',
    pass: {aws_flow_log: {f: {traffic_type: 'ALL', log_format: fullFormat}}}, fail: {aws_flow_log: {f: {traffic_type: 'ALL'}}}},
  {rule: 'INFRA_LOG_RETENTION', pass: {aws_cloudwatch_log_group: {g: {kms_key_id: 'k', retention_in_days: 30}}}, fail: {aws_cloudwatch_log_group: {g: {kms_key_id: 'k'}}}},
  {rule: 'INFRA_IAM_NO_ADMIN_WILDCARD',
    pass: {aws_iam_role_policy: {p: {policy: policy({Effect: 'Allow', Action: 's3:GetObject', Resource: '*'})}}},
    fail: {aws_iam_policy: {p: {policy: policy({Effect: 'Allow', Action: '*', Resource: '*'})}}}},
  {rule: 'INFRA_IAM_NO_SERVICE_WILDCARD',
    pass: {aws_iam_role_policy: {p: {policy: policy({Effect: 'Allow', Action: ['s3:GetObject', 's3:PutObject'], Resource: 'arn:aws:s3:::b/*'})}}},
    // Every action of a service on one named resource is full control of it: failed too (issue 28).
    fail: {aws_iam_role_policy: {p: {policy: policy({Effect: 'Allow', Action: ['s3:*'], Resource: ['arn:aws:s3:::b/*']})}}}},
  {rule: 'INFRA_IAM_NO_USER_KEYS', pass: {aws_iam_role: {r: {name: 'r', assume_role_policy: policy({Effect: 'Allow', Principal: {Service: 'ec2.amazonaws.com'}, Action: 'sts:AssumeRole'})}}}, fail: {aws_iam_access_key: {k: {user: 'ci'}}}},
  {rule: 'INFRA_IAM_ROLE_TRUST_NOT_PUBLIC',
    pass: {aws_iam_role: {r: {assume_role_policy: policy({Effect: 'Allow', Principal: {AWS: 'arn:aws:iam::999999999999:root'}, Action: 'sts:AssumeRole'})}}},
    fail: {aws_iam_role: {r: {assume_role_policy: policy({Effect: 'Allow', Principal: {AWS: '*'}, Action: 'sts:AssumeRole'})}}}},
  {rule: 'INFRA_WAF_ON_PUBLIC_LB',
    pass: {aws_lb: {lb: {internal: false, drop_invalid_header_fields: true}}, aws_wafv2_web_acl_association: {a: {resource_arn: ref('aws_lb.lb', 'arn'), web_acl_arn: 'acl'}}},
    fail: {aws_lb: {lb: {internal: false, drop_invalid_header_fields: true}}}},
  {rule: 'INFRA_LB_DROP_INVALID_HEADERS',
    pass: {aws_lb: {lb: {internal: true, drop_invalid_header_fields: true}}}, fail: {aws_lb: {lb: {internal: true}}}},
  {rule: 'INFRA_OPENSEARCH_ENCRYPTED',
    pass: {aws_opensearch_domain: {logs: SEARCH_DOMAIN}}, fail: {aws_opensearch_domain: {logs: {...SEARCH_DOMAIN, encrypt_at_rest: {enabled: true}}}}},
  {rule: 'INFRA_OPENSEARCH_NODE_TO_NODE',
    pass: {aws_opensearch_domain: {logs: SEARCH_DOMAIN}}, fail: {aws_elasticsearch_domain: {logs: {...SEARCH_DOMAIN, node_to_node_encryption: {enabled: false}}}}},
  {rule: 'INFRA_OPENSEARCH_HTTPS',
    pass: {aws_opensearch_domain: {logs: SEARCH_DOMAIN}}, fail: {aws_opensearch_domain: {logs: {...SEARCH_DOMAIN, domain_endpoint_options: {enforce_https: true, tls_security_policy: 'Policy-Min-TLS-1-0-2019-07'}}}}},
  {rule: 'INFRA_OPENSEARCH_VPC_ONLY',
    pass: {aws_opensearch_domain: {logs: SEARCH_DOMAIN}}, fail: {aws_opensearch_domain: {logs: {...SEARCH_DOMAIN, vpc_options: undefined}}}},
]

/** The same resources as `terraform show -json` would give them. */
export function asPlan(doc: Doc): object {
  return {
    format_version: '1.2',
    planned_values: {
      root_module: {
        resources: Object.entries(doc).flatMap(([type, byName]) =>
          Object.entries(byName).map(([name, values]) => ({address: `${type}.${name}`, mode: 'managed', type, name, values})),
        ),
      },
    },
    resource_changes: [],
    configuration: {root_module: {resources: []}},
  }
}
