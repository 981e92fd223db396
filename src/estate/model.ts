/** The estate as infra uses it: every field resolved, defaults applied, validated. */

/**
 * The AWS regions infra accepts: the aws, aws-cn, aws-us-gov and aws-eusc partitions as the AWS
 * SDK's endpoint data lists them (test/estate/regions.test.ts keeps this list equal to it).
 */
export const AWS_REGIONS: readonly string[] = [
  'af-south-1', 'ap-east-1', 'ap-east-2', 'ap-northeast-1', 'ap-northeast-2', 'ap-northeast-3', 'ap-south-1', 'ap-south-2',
  'ap-southeast-1', 'ap-southeast-2', 'ap-southeast-3', 'ap-southeast-4', 'ap-southeast-5', 'ap-southeast-6', 'ap-southeast-7',
  'ca-central-1', 'ca-west-1', 'eu-central-1', 'eu-central-2', 'eu-north-1', 'eu-south-1', 'eu-south-2', 'eu-west-1', 'eu-west-2',
  'eu-west-3', 'il-central-1', 'me-central-1', 'me-south-1', 'me-west-1', 'mx-central-1', 'sa-east-1', 'sa-west-1', 'us-east-1',
  'us-east-2', 'us-west-1', 'us-west-2', 'cn-north-1', 'cn-northwest-1', 'us-gov-east-1', 'us-gov-west-1', 'eusc-de-east-1',
]

export const SIZINGS = ['small', 'ha'] as const
export type Sizing = (typeof SIZINGS)[number]

export const EGRESS_MODES = ['nat', 'none'] as const
export type EgressMode = (typeof EGRESS_MODES)[number]

/** Layers of an environment's stack that may be left out (the network is always there). */
export const OPTIONAL_LAYERS = [
  'endpoints',
  'cloudtrail',
  'flow-logs',
  'bastion',
  'eks',
  'database',
  'monitoring',
  'waf',
  'roles',
] as const
export type OptionalLayer = (typeof OPTIONAL_LAYERS)[number]

export interface SizingProfile {
  /** NAT gateways: one shared in small environments, one per AZ when highly available. */
  natGatewayPerAz: boolean
  bastionInstanceType: string
  eksNodeInstanceTypes: string[]
  eksNodes: {min: number; desired: number; max: number}
  database: {
    instanceClass: string
    allocatedStorageGb: number
    multiAz: boolean
    deletionProtection: boolean
    backupRetentionDays: number
  }
  logRetentionDays: number
}

export interface EnvironmentSpec {
  name: string
  kind: 'environment' | 'client'
  accountId: string
  region: string
  availabilityZones: string[]
  vpcCidr: string
  /** The role infra assumes in the account to plan and apply. */
  roleArn: string
  stateBucket: string
  sizing: Sizing
  egress: EgressMode
  /** Production-like: changes need the person to type the environment's name. */
  protected: boolean
  omitLayers: OptionalLayer[]
  /** Email of the account's root user, used when a client account is vended. */
  email?: string
  /** Where the service's logs go besides CloudWatch Logs; absent on specs built by hand (= off). */
  logs?: LogSettings
  /** The collection service's settings on the environment's cluster (`service:` in the estate). */
  service?: ServiceSettings
}

export interface LogSettings {
  opensearch: OpenSearchSettings
}

/** `logs.opensearch` of a target: a VPC-only OpenSearch domain as a second destination, off by default. */
export interface OpenSearchSettings {
  enabled: boolean
  /** Data node type, e.g. m6g.large.search. */
  instanceType: string
  instanceCount: number
  /** gp3 EBS volume per data node, in GiB. */
  volumeGb: number
}

/** What `logs.opensearch` gets when a field is left out (docs/service.md "Central logs" has the cost). */
export const OPENSEARCH_DEFAULTS: Record<Sizing, Omit<OpenSearchSettings, 'enabled'>> = {
  small: {instanceType: 'm6g.large.search', instanceCount: 1, volumeGb: 20},
  ha: {instanceType: 'm6g.large.search', instanceCount: 3, volumeGb: 100},
}

/** The domain's name: 3-28 characters, so the organization and target names must leave room. */
export function openSearchDomainName(organization: string, envName: string): string {
  return `${organization}-${envName}-logs`
}

/**
 * Over how many zones a domain of `instanceCount` nodes spreads (AWS wants the node count to be
 * a multiple of it): 3 when the count divides by 3 and the target has 3 zones, else 2 for an
 * even count, 1 for a single node; undefined when no spread fits (1, even, or a multiple of 3).
 */
export function openSearchZoneCount(instanceCount: number, availabilityZones: number): number | undefined {
  if (instanceCount === 1) return 1
  if (instanceCount % 3 === 0 && availabilityZones >= 3) return 3
  if (instanceCount % 2 === 0) return 2
  return undefined
}

/** The target's OpenSearch settings when the domain is on, else undefined. */
export function openSearchEnabled(env: EnvironmentSpec): OpenSearchSettings | undefined {
  return env.logs?.opensearch.enabled ? env.logs.opensearch : undefined
}

export interface ServiceSettings {
  /** OpenTelemetry tracing: off unless an OTLP/HTTP collector is named. */
  tracing?: {otlpEndpoint: string}
  /**
   * The buckets the s3 source may read (`service.s3Buckets`): the service's IRSA role may read
   * exactly these, the service refuses any other, and never its own results bucket. None: the
   * s3 source reads nothing.
   */
  s3Buckets?: string[]
  /** Days finished jobs and their results are kept (the service's --retention-days; 30 when absent). */
  retentionDays?: number
}

export interface Estate {
  /** Where the estate was read from, for messages. */
  source: string
  organization: {name: string; managementAccountId: string}
  /** An AWS API endpoint override (an emulator such as moto); never set for real accounts. */
  endpoint?: string
  environments: EnvironmentSpec[]
  clients: EnvironmentSpec[]
  exceptions: RiskException[]
  /** Clients whose account is still being vended: their CIDR is taken, nothing can be provisioned yet. */
  pendingClients?: PendingClient[]
  /** Where client VPC ranges are allocated from, in blocks of one size. */
  clientCidrPool?: CidrPool
  /** The estate's defaults for new targets: region and the role infra assumes. */
  defaults?: {region: string; roleName: string}
  /** The repository whose pipelines change the estate, and the branch of each environment. */
  delivery?: DeliverySettings
  /**
   * Whether infra assumes each target's roleArn. False (INFRA_ASSUME_ROLE=false) when the
   * credentials already belong to the target account: a pipeline's OIDC role.
   */
  assumeRoles: boolean
}

/**
 * A client `infra onboard-client` has started but not finished: `status: pending` in the estate
 * file, with no account id yet. It reserves its CIDR so a second onboarding cannot take it.
 */
export interface PendingClient {
  name: string
  kind: 'client'
  status: 'pending'
  vpcCidr: string
  region: string
  email?: string
  sizing: Sizing
  /** Known once the account exists but before the client is fully recorded. */
  accountId?: string
}

export interface CidrPool {
  cidr: string
  /** Prefix length of each client's block, e.g. 16 for /16 blocks. */
  blockPrefix: number
}

export interface DeliverySettings {
  provider: 'github'
  /** owner/name */
  repository: string
  /** Environment name to the branch that deploys it. */
  branches: Record<string, string>
}

const PROFILES: Record<Sizing, SizingProfile> = {
  small: {
    natGatewayPerAz: false,
    bastionInstanceType: 't3.micro',
    eksNodeInstanceTypes: ['t3.large'],
    eksNodes: {min: 1, desired: 2, max: 3},
    database: {
      instanceClass: 'db.t4g.small',
      allocatedStorageGb: 20,
      multiAz: false,
      deletionProtection: false,
      backupRetentionDays: 7,
    },
    logRetentionDays: 90,
  },
  ha: {
    natGatewayPerAz: true,
    bastionInstanceType: 't3.small',
    eksNodeInstanceTypes: ['m6i.large'],
    eksNodes: {min: 3, desired: 3, max: 9},
    database: {
      instanceClass: 'db.m6g.large',
      allocatedStorageGb: 100,
      multiAz: true,
      deletionProtection: true,
      backupRetentionDays: 35,
    },
    logRetentionDays: 365,
  },
}

export function sizingProfile(sizing: Sizing): SizingProfile {
  return PROFILES[sizing]
}

/** Every account of the estate: environments first, then clients. */
export function allTargets(estate: Estate): EnvironmentSpec[] {
  return [...estate.environments, ...estate.clients]
}

export function hasLayer(env: EnvironmentSpec, layer: OptionalLayer): boolean {
  return !env.omitLayers.includes(layer)
}

/** A finding the organization has decided to live with, for a while, for a stated reason. */
export interface RiskException {
  rule: string
  /** Address or construct path, globs allowed: "dev-estate/bastion/*". */
  resource: string
  /** Limits the exception to one environment or client; all when absent. */
  environment?: string
  reason: string
  /** YYYY-MM-DD; after it the finding fails again. */
  expires: string
}

/** Days the service keeps finished jobs and results when the estate says nothing (the service's own --retention-days default). */
export const DEFAULT_SERVICE_RETENTION_DAYS = 30

/** Days the environment's service keeps finished jobs and their results. */
export const serviceRetentionDays = (env: Pick<EnvironmentSpec, 'service'>): number => env.service?.retentionDays ?? DEFAULT_SERVICE_RETENTION_DAYS
