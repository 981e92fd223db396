/**
 * What `terraform plan` of our stacks reads, by terraform resource type: the calls the AWS provider
 * (hashicorp/aws 5.x) makes to refresh each resource, as IAM actions. The pipeline's plan role gets
 * these and nothing else, so a pull request can plan but read no data. A test synthesizes every
 * stack and fails when a resource type is missing here: adding a resource type means adding its reads.
 *
 * Rules for an entry: metadata only. A `Describe*` family is used only where no action of it returns
 * stored data (EC2, Auto Scaling); elsewhere the actions are named. Never an object read
 * (s3:GetObject), a secret value (secretsmanager:GetSecretValue), a parameter value outside our own
 * String parameters (ssm:GetParameter is scoped in SCOPED_PLAN_READS), a decrypt, or a log event.
 */
export const PLAN_READS: Record<string, string[]> = {
  aws_autoscaling_group: ['autoscaling:Describe*'],
  aws_cloudtrail: ['cloudtrail:DescribeTrails', 'cloudtrail:GetTrail', 'cloudtrail:GetTrailStatus', 'cloudtrail:GetEventSelectors', 'cloudtrail:GetInsightSelectors', 'cloudtrail:ListTags'],
  aws_cloudwatch_log_group: ['logs:DescribeLogGroups', 'logs:ListTagsForResource', 'logs:ListTagsLogGroup'],
  aws_cloudwatch_log_metric_filter: ['logs:DescribeMetricFilters'],
  aws_cloudwatch_metric_alarm: ['cloudwatch:DescribeAlarms', 'cloudwatch:ListTagsForResource'],
  aws_cloudwatch_query_definition: ['logs:DescribeQueryDefinitions'],
  aws_db_instance: ['rds:DescribeDBInstances', 'rds:ListTagsForResource'],
  aws_db_parameter_group: ['rds:DescribeDBParameterGroups', 'rds:DescribeDBParameters', 'rds:ListTagsForResource'],
  aws_db_subnet_group: ['rds:DescribeDBSubnetGroups', 'rds:ListTagsForResource'],
  aws_default_security_group: ['ec2:Describe*'],
  aws_eip: ['ec2:Describe*'],
  aws_eks_access_entry: ['eks:DescribeAccessEntry', 'eks:ListTagsForResource'],
  aws_eks_access_policy_association: ['eks:ListAssociatedAccessPolicies'],
  aws_eks_cluster: ['eks:DescribeCluster', 'eks:ListTagsForResource'],
  aws_eks_node_group: ['eks:DescribeNodegroup', 'eks:ListTagsForResource'],
  aws_flow_log: ['ec2:Describe*'],
  aws_iam_instance_profile: ['iam:GetInstanceProfile', 'iam:ListInstanceProfileTags'],
  aws_iam_openid_connect_provider: ['iam:GetOpenIDConnectProvider'],
  aws_iam_role: ['iam:GetRole', 'iam:ListRolePolicies', 'iam:ListAttachedRolePolicies', 'iam:ListRoleTags'],
  aws_iam_role_policy: ['iam:GetRolePolicy'],
  aws_iam_role_policy_attachment: ['iam:ListAttachedRolePolicies'],
  aws_internet_gateway: ['ec2:Describe*'],
  aws_kms_alias: ['kms:ListAliases'],
  aws_kms_key: ['kms:DescribeKey', 'kms:GetKeyPolicy', 'kms:GetKeyRotationStatus', 'kms:ListResourceTags'],
  aws_launch_template: ['ec2:Describe*'],
  aws_nat_gateway: ['ec2:Describe*'],
  aws_route: ['ec2:Describe*'],
  aws_route_table: ['ec2:Describe*'],
  aws_route_table_association: ['ec2:Describe*'],
  // The bucket's configuration, never its objects. s3:ListBucket is what HeadBucket needs; it lists keys, not contents.
  aws_s3_bucket: [
    's3:ListBucket',
    's3:GetBucketAcl',
    's3:GetBucketCORS',
    's3:GetBucketLogging',
    's3:GetBucketObjectLockConfiguration',
    's3:GetBucketPolicy',
    's3:GetBucketRequestPayment',
    's3:GetBucketTagging',
    's3:GetBucketVersioning',
    's3:GetBucketWebsite',
    's3:GetAccelerateConfiguration',
    's3:GetEncryptionConfiguration',
    's3:GetLifecycleConfiguration',
    's3:GetReplicationConfiguration',
  ],
  aws_s3_bucket_lifecycle_configuration: ['s3:GetLifecycleConfiguration'],
  aws_s3_bucket_ownership_controls: ['s3:GetBucketOwnershipControls'],
  aws_s3_bucket_policy: ['s3:GetBucketPolicy'],
  aws_s3_bucket_public_access_block: ['s3:GetBucketPublicAccessBlock'],
  aws_s3_bucket_server_side_encryption_configuration: ['s3:GetEncryptionConfiguration'],
  aws_s3_bucket_versioning: ['s3:GetBucketVersioning'],
  aws_security_group: ['ec2:Describe*'],
  aws_sns_topic: ['sns:GetTopicAttributes', 'sns:ListTagsForResource'],
  aws_ssm_document: ['ssm:DescribeDocument', 'ssm:GetDocument', 'ssm:DescribeDocumentPermission', 'ssm:ListTagsForResource'],
  // Its value is read by GetParameter, scoped to our own parameters below.
  aws_ssm_parameter: ['ssm:DescribeParameters', 'ssm:ListTagsForResource'],
  aws_subnet: ['ec2:Describe*'],
  aws_vpc: ['ec2:Describe*'],
  aws_vpc_endpoint: ['ec2:Describe*'],
  aws_wafv2_web_acl: ['wafv2:GetWebACL', 'wafv2:ListTagsForResource'],
}

/** Data sources read at every plan, by terraform type. */
export const PLAN_DATA_READS: Record<string, string[]> = {
  // The bastion's AMI: AWS's public parameter, scoped below.
  aws_ssm_parameter: [],
}

/**
 * Reads that return values, scoped to what is ours or public: our discovery parameters are Strings
 * (never SecureString), and the AMI parameters are AWS's public ones.
 */
export function scopedPlanReads(env: {name: string; region: string; accountId: string}): {actions: string[]; resources: string[]}[] {
  return [
    {
      actions: ['ssm:GetParameter', 'ssm:GetParameters'],
      resources: [`arn:aws:ssm:${env.region}:${env.accountId}:parameter/infra/${env.name}/*`, `arn:aws:ssm:${env.region}::parameter/aws/service/*`],
    },
  ]
}

/** Every action of the table, once, sorted: the plan role's unscoped reads. */
export function planReadActions(): string[] {
  return [...new Set([...Object.values(PLAN_READS), ...Object.values(PLAN_DATA_READS)].flat())].sort()
}
