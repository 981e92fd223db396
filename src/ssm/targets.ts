import {DescribeClusterCommand, EKSClient} from '@aws-sdk/client-eks'

import {awsClientConfig} from '../aws/clients.js'
import {EXIT, InfraError} from '../errors.js'
import type {SsmContext} from './context.js'
import {readDiscoveryParameter} from './discovery.js'
import type {TunnelSpec} from './tunnel.js'

export const NAMED_TUNNELS = ['db', 'eks'] as const

export interface EksClusterInfo {
  name: string
  /** The private API host, e.g. ABC.gr7.eu-west-1.eks.amazonaws.com: the name its certificate carries. */
  host: string
  /** Base64 PEM of the cluster's certificate authority. */
  certificateAuthority: string
}

export interface ResolvedTunnels {
  specs: TunnelSpec[]
  eks?: EksClusterInfo
  database?: {host: string; port: number}
}

/** "host:port" of --to, checked. */
export function parseHostPort(value: string): {host: string; port: number} {
  const match = /^(\[[^\]]+\]|[^:\s]+):(\d{1,5})$/.exec(value.trim())
  const port = match ? Number(match[2]) : Number.NaN
  if (!match || port < 1 || port > 65535) {
    throw new InfraError(`--to ${value} is not host:port`, 'give the host and port the bastion should reach, e.g. --to 10.1.4.20:8080', 'BAD_FLAG', EXIT.usage)
  }
  return {host: match[1].replace(/^\[|\]$/g, ''), port}
}

/** Local ports: "15432" for a single tunnel, or "db=15432" per tunnel. */
export function parseLocalPorts(values: string[], names: string[]): Map<string, number> {
  const ports = new Map<string, number>()
  for (const value of values) {
    const [name, raw] = value.includes('=') ? value.split('=', 2) : [names.length === 1 ? names[0] : '', value]
    if (!name) throw new InfraError(`--local-port ${value} does not say which tunnel it is for`, 'with several tunnels, write --local-port NAME=PORT, e.g. db=15432', 'BAD_FLAG', EXIT.usage)
    if (!names.includes(name)) throw new InfraError(`--local-port names ${name}, which is not one of the tunnels (${names.join(', ')})`, 'use one of those names', 'BAD_FLAG', EXIT.usage)
    const port = Number(raw)
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new InfraError(`--local-port ${value}: ${raw} is not a port`, 'a number from 1 to 65535', 'BAD_FLAG', EXIT.usage)
    ports.set(name, port)
  }
  return ports
}

/** Tunnel specs for db, eks and each --to, their remote ends read from the discovery parameters. */
/** Checks the tunnel names, --to values and local ports before anything is asked or called. */
export function checkTunnelArguments(names: string[], to: string[], localPortFlags: string[]): Map<string, number> {
  const unknown = names.filter((n) => !(NAMED_TUNNELS as readonly string[]).includes(n))
  if (unknown.length > 0) {
    throw new InfraError(`unknown tunnel ${unknown.join(', ')}`, `name ${NAMED_TUNNELS.join(' or ')}, or use --to host:port`, 'BAD_ARGUMENT', EXIT.usage)
  }
  if (names.length === 0 && to.length === 0) throw new InfraError('no tunnel named', 'name db or eks, or give --to host:port', 'BAD_ARGUMENT', EXIT.usage)
  for (const value of to) parseHostPort(value)
  return parseLocalPorts(localPortFlags, [...new Set(names), ...to.map((value) => value.trim())])
}

export async function resolveTunnels(ctx: SsmContext, names: string[], to: string[], localPortFlags: string[]): Promise<ResolvedTunnels> {
  const ports = checkTunnelArguments(names, to, localPortFlags)
  const resolved: ResolvedTunnels = {specs: []}
  for (const name of new Set(names)) {
    if (name === 'db') {
      const endpoint = await readDiscoveryParameter(ctx.ssm, ctx.env.name, 'databaseEndpoint')
      if (!endpoint) throw missing(ctx.env.name, 'database/endpoint', 'database')
      const database = parseHostPort(endpoint.includes(':') ? endpoint : `${endpoint}:5432`)
      resolved.database = database
      resolved.specs.push({name, ...database, localPort: ports.get(name)})
    } else {
      resolved.eks = await describeEks(ctx)
      resolved.specs.push({name, host: resolved.eks.host, port: 443, localPort: ports.get(name)})
    }
  }
  for (const value of to) resolved.specs.push({name: value.trim(), ...parseHostPort(value), localPort: ports.get(value.trim())})
  return resolved
}

export async function describeEks(ctx: SsmContext, clusterName?: string): Promise<EksClusterInfo> {
  const name = clusterName ?? (await readDiscoveryParameter(ctx.ssm, ctx.env.name, 'eksClusterName'))
  if (!name) throw missing(ctx.env.name, 'eks/cluster-name', 'eks')
  const eks = new EKSClient(await awsClientConfig(ctx.access))
  const {cluster} = await eks.send(new DescribeClusterCommand({name})).catch((error: {name?: string}) => {
    // EKS: ResourceNotFoundException "No cluster found for name: X." (a stale name in the parameter).
    if (error?.name !== 'ResourceNotFoundException') throw error
    throw new InfraError(
      `EKS has no cluster ${name} in ${ctx.env.name} (${ctx.env.accountId}, ${ctx.region})${clusterName ? '' : `, the name /infra/${ctx.env.name}/eks/cluster-name gives`}`,
      `provision the eks layer again (infra provision --env ${ctx.env.name}), which publishes the cluster's name; or check --region`,
      'EKS_CLUSTER_NOT_FOUND',
    )
  })
  if (!cluster?.endpoint || !cluster.certificateAuthority?.data) {
    throw new InfraError(`EKS cluster ${name} has no endpoint or certificate yet (status ${cluster?.status ?? 'unknown'})`, 'wait until it is ACTIVE, then run again', 'EKS_NOT_READY')
  }
  return {name, host: new URL(cluster.endpoint).hostname, certificateAuthority: cluster.certificateAuthority.data}
}

function missing(envName: string, key: string, layer: string): InfraError {
  return new InfraError(
    `/infra/${envName}/${key} is not published in ${envName}`,
    `provision the ${layer} layer (infra provision --env ${envName}); for anything else use --to host:port`,
    'DISCOVERY_MISSING',
  )
}

/** The environment's deploy role (src/stacks/roles.ts names it), which the EKS access entry maps. */
export function deployRoleArn(organization: string, env: {name: string; accountId: string}): string {
  return `arn:aws:iam::${env.accountId}:role/${organization}-${env.name}-deploy`
}
