import {
  AutoscalingGroup,
  Construct,
  DataAwsSsmParameter,
  IamInstanceProfile,
  IamRole,
  IamRolePolicy,
  IamRolePolicyAttachment,
  LaunchTemplate,
  SecurityGroup,
  SsmDocument,
} from './cdktf.js'
import {type StackContext, assumeRolePolicy, policyDocument} from './context.js'
import type {Network} from './network.js'
import type {SecureBucket} from './secure-bucket.js'
import type {CloudwatchLogGroup} from './cdktf.js'

export const BASTION_AMI_PARAMETER = '/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64'
export const SESSION_IDLE_TIMEOUT_MINUTES = 20

export interface BastionProps {
  network: Network
  keyArn: string
  auditBucket: SecureBucket
  sessionLogGroup: CloudwatchLogGroup
  /** Where S3 goes for the bastion: the gateway endpoint's prefix list. */
  s3PrefixListId?: string
  /** Port forwarding to the database: its port and the data subnets it lives in. */
  database?: {port: number; subnetCidrs: string[]}
}

/**
 * The bastion: reached only through Session Manager. No key pair, no public IP, no ingress,
 * IMDSv2 only, encrypted root volume; an Auto Scaling group of one replaces it if it dies.
 */
export class Bastion extends Construct {
  readonly securityGroup: SecurityGroup
  readonly autoScalingGroup: AutoscalingGroup
  readonly role: IamRole

  constructor(scope: Construct, id: string, ctx: StackContext, props: BastionProps) {
    super(scope, id)
    const {prefix, env} = ctx
    this.role = new IamRole(this, 'role', {
      name: `${prefix}-bastion`,
      assumeRolePolicy: assumeRolePolicy({Service: 'ec2.amazonaws.com'}),
    })
    new IamRolePolicyAttachment(this, 'ssm-core', {role: this.role.name, policyArn: 'arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore'})
    new IamRolePolicy(this, 'session-logging', {
      role: this.role.id,
      policy: policyDocument([
        {Sid: 'SessionTranscriptsToS3', Effect: 'Allow', Action: 's3:PutObject', Resource: `${props.auditBucket.bucket.arn}/ssm-sessions/*`},
        {Sid: 'SessionBucketEncryption', Effect: 'Allow', Action: 's3:GetEncryptionConfiguration', Resource: props.auditBucket.bucket.arn},
        {Sid: 'SessionTranscriptsToLogs', Effect: 'Allow', Action: ['logs:CreateLogStream', 'logs:PutLogEvents', 'logs:DescribeLogGroups', 'logs:DescribeLogStreams'], Resource: '*'},
        {Sid: 'SessionEncryption', Effect: 'Allow', Action: ['kms:Decrypt', 'kms:GenerateDataKey'], Resource: props.keyArn},
      ]),
    })
    const profile = new IamInstanceProfile(this, 'profile', {name: `${prefix}-bastion`, role: this.role.name})

    const egress = [
      {description: 'HTTPS to VPC endpoints', protocol: 'tcp', fromPort: 443, toPort: 443, cidrBlocks: [env.vpcCidr]},
      ...(props.s3PrefixListId
        ? [{description: 'HTTPS to S3 through the gateway endpoint', protocol: 'tcp', fromPort: 443, toPort: 443, prefixListIds: [props.s3PrefixListId]}]
        : []),
      ...(props.database
        ? [{description: 'Port forwards to the database', protocol: 'tcp', fromPort: props.database.port, toPort: props.database.port, cidrBlocks: props.database.subnetCidrs}]
        : []),
    ]
    this.securityGroup = new SecurityGroup(this, 'sg', {
      name: `${prefix}-bastion`,
      description: 'Bastion: no ingress; HTTPS to AWS endpoints and the database port only',
      vpcId: props.network.vpc.id,
      ingress: [],
      egress,
      tags: {Name: `${prefix}-bastion`},
    })

    const ami = new DataAwsSsmParameter(this, 'ami', {name: BASTION_AMI_PARAMETER})
    const template = new LaunchTemplate(this, 'template', {
      name: `${prefix}-bastion`,
      imageId: ami.value,
      instanceType: ctx.sizing.bastionInstanceType,
      iamInstanceProfile: {arn: profile.arn},
      metadataOptions: {httpEndpoint: 'enabled', httpTokens: 'required', httpPutResponseHopLimit: 1, instanceMetadataTags: 'disabled'},
      networkInterfaces: [{associatePublicIpAddress: 'false', deleteOnTermination: 'true', securityGroups: [this.securityGroup.id]}],
      blockDeviceMappings: [{deviceName: '/dev/xvda', ebs: {encrypted: 'true', kmsKeyId: props.keyArn, volumeSize: 20, volumeType: 'gp3', deleteOnTermination: 'true'}}],
      monitoring: {enabled: true},
      updateDefaultVersion: true,
      tagSpecifications: [
        {resourceType: 'instance', tags: {Name: `${prefix}-bastion`, Role: 'bastion'}},
        {resourceType: 'volume', tags: {Name: `${prefix}-bastion`}},
      ],
    })
    this.autoScalingGroup = new AutoscalingGroup(this, 'asg', {
      name: `${prefix}-bastion`,
      minSize: 1,
      maxSize: 1,
      desiredCapacity: 1,
      vpcZoneIdentifier: props.network.appSubnets.map((subnet) => subnet.id),
      healthCheckType: 'EC2',
      healthCheckGracePeriod: 120,
      launchTemplate: {id: template.id, version: '$Latest'},
      tag: [
        {key: 'Name', value: `${prefix}-bastion`, propagateAtLaunch: true},
        {key: 'Role', value: 'bastion', propagateAtLaunch: true},
      ],
    })

    // Session Manager preferences: every session logged, encrypted, and closed when idle.
    new SsmDocument(this, 'session-preferences', {
      name: 'SSM-SessionManagerRunShell',
      documentType: 'Session',
      documentFormat: 'JSON',
      content: JSON.stringify({
        schemaVersion: '1.0',
        description: `${prefix} Session Manager preferences`,
        sessionType: 'Standard_Stream',
        inputs: {
          s3BucketName: props.auditBucket.bucket.id,
          s3KeyPrefix: 'ssm-sessions',
          s3EncryptionEnabled: true,
          cloudWatchLogGroupName: props.sessionLogGroup.name,
          cloudWatchEncryptionEnabled: true,
          cloudWatchStreamingEnabled: true,
          kmsKeyId: props.keyArn,
          idleSessionTimeout: String(SESSION_IDLE_TIMEOUT_MINUTES),
          maxSessionDuration: '120',
          runAsEnabled: false,
          shellProfile: {linux: 'cd ~ && exec bash -l', windows: ''},
        },
      }),
    })
  }
}
