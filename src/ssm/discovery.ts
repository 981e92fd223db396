import {AutoScalingClient, DescribeAutoScalingGroupsCommand} from '@aws-sdk/client-auto-scaling'
import {DescribeInstancesCommand, type Filter, type Instance} from '@aws-sdk/client-ec2'
import {EC2Client} from '@aws-sdk/client-ec2'
import {GetParameterCommand, SSMClient} from '@aws-sdk/client-ssm'

import {InfraError} from '../errors.js'
import {type DiscoveryKey, discoveryParameterName} from '../stacks/discovery-keys.js'
import type {SessionApi} from './session-api.js'

/** A managed instance a session can start on. */
export interface SessionTarget {
  instanceId: string
  name?: string
  state: string
  /** Systems Manager's ping status: Online when the agent is connected. */
  pingStatus: string
  privateIp?: string
  launchTime?: string
  /** How it was found, for the person and for --dry-run. */
  foundBy: string
}

export interface DiscoveryClients {
  ec2: EC2Client
  autoScaling: AutoScalingClient
  ssm: SSMClient
  sessions: SessionApi
}

/** Chooses one of several candidates (a picker at a terminal); absent when nobody can choose. */
export type PickTarget = (candidates: SessionTarget[], question: string) => Promise<SessionTarget>

/** One of the /infra/<env>/ discovery parameters, or undefined when the stack did not publish it. */
export async function readDiscoveryParameter(ssm: SSMClient, envName: string, key: DiscoveryKey): Promise<string | undefined> {
  try {
    const answer = await ssm.send(new GetParameterCommand({Name: discoveryParameterName(envName, key)}))
    return answer.Parameter?.Value || undefined
  } catch (error) {
    if ((error as {name?: string}).name === 'ParameterNotFound') return undefined
    throw error
  }
}

/**
 * The environment's bastion: the InService instance of the Auto Scaling group named by
 * /infra/<env>/bastion/asg-name, else instances tagged Role=bastion and Environment=<env>;
 * then only those running and online in Systems Manager.
 */
export async function findBastion(clients: DiscoveryClients, envName: string, pick?: PickTarget): Promise<SessionTarget> {
  const groupName = await readDiscoveryParameter(clients.ssm, envName, 'bastionAsg')
  let instances: Instance[] = []
  let foundBy = ''
  if (groupName) {
    const groups = await clients.autoScaling.send(new DescribeAutoScalingGroupsCommand({AutoScalingGroupNames: [groupName]}))
    const ids = (groups.AutoScalingGroups?.[0]?.Instances ?? []).filter((i) => i.LifecycleState === 'InService' && i.InstanceId).map((i) => i.InstanceId!)
    if (ids.length > 0) {
      instances = await describeInstances(clients.ec2, {InstanceIds: ids})
      foundBy = `Auto Scaling group ${groupName} (${discoveryParameterName(envName, 'bastionAsg')})`
    }
  }
  if (instances.length === 0) {
    instances = await describeInstances(clients.ec2, {
      Filters: [
        {Name: 'tag:Role', Values: ['bastion']},
        {Name: 'tag:Environment', Values: [envName]},
        {Name: 'instance-state-name', Values: ['pending', 'running', 'stopping', 'stopped']},
      ],
    })
    foundBy = `tags Role=bastion, Environment=${envName}`
  }
  if (instances.length === 0) {
    throw new InfraError(
      `no bastion found for ${envName}: ${groupName ? `Auto Scaling group ${groupName} has no InService instance and ` : `no ${discoveryParameterName(envName, 'bastionAsg')} parameter and `}no instance is tagged Role=bastion, Environment=${envName}`,
      `provision the bastion layer (infra provision --env ${envName}), or name an instance: infra session <instance-id> --env ${envName}`,
      'BASTION_NOT_FOUND',
    )
  }
  return chooseOnline(clients, instances, foundBy, `bastion of ${envName}`, envName, pick)
}

const INSTANCE_ID = /^(i|mi)-[0-9a-f]{8,17}$/

/** A managed instance named by its id or its Name tag. */
export async function findInstance(clients: DiscoveryClients, idOrName: string, envName: string, pick?: PickTarget): Promise<SessionTarget> {
  const byId = INSTANCE_ID.test(idOrName)
  if (idOrName.startsWith('mi-') && byId) {
    // Hybrid managed nodes are not EC2 instances: Systems Manager alone knows them.
    const ping = (await clients.sessions.pingStatus([idOrName])).get(idOrName)
    if (ping !== 'Online') throw notOnline(idOrName, ping, envName)
    return {instanceId: idOrName, state: 'managed', pingStatus: ping, foundBy: 'managed node id'}
  }
  let instances: Instance[]
  try {
    instances = await describeInstances(
      clients.ec2,
      byId ? {InstanceIds: [idOrName]} : {Filters: [{Name: 'tag:Name', Values: [idOrName]}, {Name: 'instance-state-name', Values: ['pending', 'running', 'stopping', 'stopped']}]},
    )
  } catch (error) {
    if (!/InvalidInstanceID/.test((error as {name?: string}).name ?? '')) throw error
    instances = []
  }
  if (instances.length === 0) {
    throw new InfraError(
      `no instance ${byId ? 'with id' : 'named'} ${idOrName} in ${envName}`,
      `check the name and the environment (--env); "infra session bastion --env ${envName}" reaches the bastion`,
      'INSTANCE_NOT_FOUND',
    )
  }
  return chooseOnline(clients, instances, byId ? 'instance id' : `Name tag ${idOrName}`, idOrName, envName, pick)
}

async function chooseOnline(
  clients: DiscoveryClients,
  instances: Instance[],
  foundBy: string,
  what: string,
  envName: string,
  pick?: PickTarget,
): Promise<SessionTarget> {
  const running = instances.filter((i) => i.State?.Name === 'running')
  if (running.length === 0) {
    const states = instances.map((i) => `${i.InstanceId} ${i.State?.Name ?? 'unknown'}`).join(', ')
    throw new InfraError(
      `the ${what} is not running (${states})`,
      instances.some((i) => i.State?.Name === 'stopped')
        ? `start it: aws ec2 start-instances --instance-ids ${instances.map((i) => i.InstanceId).join(' ')} (or let its Auto Scaling group replace it), then run again`
        : 'wait until it is running, then run again',
      'TARGET_NOT_RUNNING',
    )
  }
  const ping = await clients.sessions.pingStatus(running.map((i) => i.InstanceId!))
  const targets = running.map((i) => toTarget(i, ping.get(i.InstanceId!) ?? 'NotRegistered', foundBy))
  const online = targets.filter((t) => t.pingStatus === 'Online')
  if (online.length === 0) {
    throw notOnline(targets.map((t) => t.instanceId).join(', '), targets.map((t) => t.pingStatus).join(', '), envName)
  }
  if (online.length === 1) return online[0]
  const list = online.map(describeTarget).join('; ')
  if (!pick) {
    throw new InfraError(
      `${online.length} instances match the ${what}: ${list}`,
      `name one: infra session <instance-id> --env ${envName} (no terminal to choose on)`,
      'TARGET_AMBIGUOUS',
      1,
      {candidates: online},
    )
  }
  return pick(online, `Several instances match the ${what}; which one?`)
}

function notOnline(ids: string, ping: string | undefined, envName: string): InfraError {
  return new InfraError(
    `${ids} is running but not online in Systems Manager (ping status ${ping ?? 'NotRegistered'})`,
    `wait a minute after a start; otherwise check its instance role (AmazonSSMManagedInstanceCore) and the ssm, ssmmessages and ec2messages endpoints of ${envName}`,
    'TARGET_NOT_ONLINE',
  )
}

export function describeTarget(target: SessionTarget): string {
  return [target.instanceId, target.name, target.privateIp, target.launchTime && `launched ${target.launchTime}`].filter(Boolean).join(' ')
}

function toTarget(instance: Instance, pingStatus: string, foundBy: string): SessionTarget {
  return {
    instanceId: instance.InstanceId!,
    name: instance.Tags?.find((t) => t.Key === 'Name')?.Value,
    state: instance.State?.Name ?? 'unknown',
    pingStatus,
    privateIp: instance.PrivateIpAddress,
    launchTime: instance.LaunchTime?.toISOString(),
    foundBy,
  }
}

async function describeInstances(ec2: EC2Client, query: {InstanceIds?: string[]; Filters?: Filter[]}): Promise<Instance[]> {
  const instances: Instance[] = []
  let next: string | undefined
  do {
    const page = await ec2.send(new DescribeInstancesCommand({...query, NextToken: next}))
    for (const reservation of page.Reservations ?? []) instances.push(...(reservation.Instances ?? []))
    next = page.NextToken
  } while (next)
  return instances.filter((i) => i.State?.Name !== 'terminated' && i.State?.Name !== 'shutting-down')
}
