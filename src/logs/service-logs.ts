import type {AwsAccess} from '../aws/clients.js'
import {createClient} from '../aws/clients.js'
import {readDiscoveryParameter} from '../ssm/discovery.js'
import {discoveryParameterName, serviceLogGroupName} from '../stacks/discovery-keys.js'
import type {LogQuery} from './query.js'
import {type CloudWatchLogs, type LogLine, type TimeWindow, followCloudWatch, followLocalFile, readCloudWatch, readLocalFile} from './read.js'

export type LogSource = {kind: 'cloudwatch'; access: AwsAccess; envName: string; logGroupName?: string} | {kind: 'file'; file: string}

export interface ServiceLogsOptions {
  source: LogSource
  query: LogQuery
  window: TimeWindow
  /** With follow: poll every intervalMs until the signal aborts, each new line to onLine. */
  follow?: {intervalMs: number; signal: AbortSignal; onLine: (line: LogLine) => void}
}

export interface ServiceLogsResult {
  /** Where the lines came from: the log group, or the file. */
  from: string
  /** How the log group was found: named, the discovery parameter, or the stacks' naming convention. */
  foundBy?: string
  lines: LogLine[]
}

/** Where `infra logs` reads: --log-group, else /infra/<env>/service/log-group, else the name the stacks give it. */
async function cloudWatchLogs(source: Extract<LogSource, {kind: 'cloudwatch'}>): Promise<CloudWatchLogs & {foundBy: string}> {
  const {CloudWatchLogsClient} = await import('@aws-sdk/client-cloudwatch-logs')
  const client = await createClient(CloudWatchLogsClient, source.access)
  if (source.logGroupName) return {client, logGroupName: source.logGroupName, foundBy: '--log-group'}
  const {SSMClient} = await import('@aws-sdk/client-ssm')
  const published = await readDiscoveryParameter(await createClient(SSMClient, source.access), source.envName, 'serviceLogGroup')
  if (published) return {client, logGroupName: published, foundBy: discoveryParameterName(source.envName, 'serviceLogGroup')}
  return {client, logGroupName: serviceLogGroupName(source.envName), foundBy: 'the stacks\' naming (no discovery parameter)'}
}

/**
 * One job's or one request's log lines across every replica, in time order: from the
 * environment's CloudWatch Logs group, or from a local log file of the embedded service.
 * With follow, the lines so far go to onLine too, then new ones as they come.
 */
export async function serviceLogs(options: ServiceLogsOptions): Promise<ServiceLogsResult> {
  const {source, query, window, follow} = options
  if (source.kind === 'file') {
    if (follow) {
      await followLocalFile(source.file, query, window, follow.onLine, follow)
      return {from: source.file, lines: []}
    }
    return {from: source.file, lines: (await readLocalFile(source.file, query, window)).lines}
  }
  const logs = await cloudWatchLogs(source)
  if (follow) {
    await followCloudWatch(logs, query, window, follow.onLine, follow)
    return {from: logs.logGroupName, foundBy: logs.foundBy, lines: []}
  }
  return {from: logs.logGroupName, foundBy: logs.foundBy, lines: (await readCloudWatch(logs, query, window)).lines}
}
