import {
  type DescribeInstanceInformationCommandOutput,
  type DescribeSessionsCommandOutput,
  DescribeInstanceInformationCommand,
  DescribeSessionsCommand,
  ResumeSessionCommand,
  SSMClient,
  StartSessionCommand,
  TerminateSessionCommand,
} from '@aws-sdk/client-ssm'

import {InfraError} from '../errors.js'

/** What StartSession sends: the API's own shape, also what the plugin gets as its fifth argument. */
export interface StartSessionRequest {
  Target: string
  DocumentName?: string
  Parameters?: Record<string, string[]>
  Reason?: string
}

/** The three fields of StartSession's (or ResumeSession's) answer the plugin needs. */
export interface SessionHandle {
  SessionId: string
  TokenValue: string
  StreamUrl: string
}

export interface OpenSession {
  sessionId: string
  target: string
  status: string
  startDate?: string
  owner?: string
  reason?: string
  documentName?: string
}

/**
 * The Session Manager calls infra makes that only AWS answers (no emulator has them): start,
 * resume and end a session, ask whether instances are online, list open sessions. Everything
 * else (EC2, Auto Scaling, SSM parameters, STS) goes through the ordinary SDK clients.
 */
export interface SessionApi {
  /** The SSM endpoint URL the plugin is given (its sixth argument). */
  readonly endpoint: string
  startSession(request: StartSessionRequest): Promise<SessionHandle>
  resumeSession(sessionId: string): Promise<SessionHandle>
  terminateSession(sessionId: string): Promise<void>
  /** Ping status (Online, ConnectionLost, Inactive) of each instance known to Systems Manager. */
  pingStatus(instanceIds: string[]): Promise<Map<string, string>>
  /** Active sessions, only those owned by `owner` when given. */
  activeSessions(owner?: string): Promise<OpenSession[]>
}

/** The default public SSM endpoint of a region, as the AWS CLI reports it to the plugin. */
export function ssmEndpointUrl(region: string, override?: string): string {
  if (override) return override
  return `https://ssm.${region}.${region.startsWith('cn-') ? 'amazonaws.com.cn' : 'amazonaws.com'}`
}

/** The SessionApi of AWS itself, through the SDK's SSM client. */
export class SdkSessionApi implements SessionApi {
  constructor(
    private readonly client: SSMClient,
    readonly endpoint: string,
  ) {}

  /**
   * One Session Manager call. An endpoint that answers it with something other than the API's JSON
   * (an emulator without Session Manager, a proxy's page) is named as such, not as a parse error.
   */
  private async send<Output>(command: {input: unknown}, call: string): Promise<Output> {
    try {
      return (await this.client.send(command as never)) as Output
    } catch (error) {
      const err = error as {name?: string; message?: string; $metadata?: {httpStatusCode?: number}}
      if (err.name === 'SyntaxError' || /not valid JSON|Unexpected token|Deserialization error/i.test(err.message ?? '') || err.$metadata?.httpStatusCode === 404) {
        throw new InfraError(
          `${this.endpoint} does not answer ${call} as Systems Manager does`,
          'Session Manager needs the real SSM API (emulators such as moto do not implement its session calls); check AWS_ENDPOINT_URL and the estate\'s endpoint',
          'SSM_CALL_UNSUPPORTED',
        )
      }
      if (call === 'StartSession' && err.name === 'TargetNotConnected') {
        // StartSession's own refusal: the instance's SSM Agent has no open control channel.
        throw new InfraError(
          `the target is not connected to Session Manager: ${(err.message ?? '').split('\n')[0]}`,
          'check that the instance runs, that its SSM Agent is running, and that it reaches the ssm, ssmmessages and ec2messages endpoints (infra session list / DescribeInstanceInformation shows its ping status)',
          'SESSION_TARGET_NOT_CONNECTED',
        )
      }
      throw error
    }
  }

  async startSession(request: StartSessionRequest): Promise<SessionHandle> {
    return handle(await this.send<SessionHandleLike>(new StartSessionCommand(request), 'StartSession'), 'StartSession')
  }

  async resumeSession(sessionId: string): Promise<SessionHandle> {
    return handle(await this.send<SessionHandleLike>(new ResumeSessionCommand({SessionId: sessionId}), 'ResumeSession'), 'ResumeSession')
  }

  async terminateSession(sessionId: string): Promise<void> {
    await this.send(new TerminateSessionCommand({SessionId: sessionId}), 'TerminateSession')
  }

  async pingStatus(instanceIds: string[]): Promise<Map<string, string>> {
    const status = new Map<string, string>()
    // The API takes at most 50 ids per InstanceIds filter.
    for (let i = 0; i < instanceIds.length; i += 50) {
      let next: string | undefined
      do {
        const page = await this.send<DescribeInstanceInformationCommandOutput>(new DescribeInstanceInformationCommand({Filters: [{Key: 'InstanceIds', Values: instanceIds.slice(i, i + 50)}], NextToken: next}), 'DescribeInstanceInformation')
        for (const info of page.InstanceInformationList ?? []) if (info.InstanceId) status.set(info.InstanceId, info.PingStatus ?? 'Unknown')
        next = page.NextToken
      } while (next)
    }
    return status
  }

  async activeSessions(owner?: string): Promise<OpenSession[]> {
    const sessions: OpenSession[] = []
    let next: string | undefined
    do {
      const page = await this.send<DescribeSessionsCommandOutput>(new DescribeSessionsCommand({State: 'Active', Filters: owner ? [{key: 'Owner', value: owner}] : undefined, NextToken: next}), 'DescribeSessions')
      for (const s of page.Sessions ?? []) {
        sessions.push({
          sessionId: s.SessionId ?? '',
          target: s.Target ?? '',
          status: s.Status ?? '',
          startDate: s.StartDate?.toISOString(),
          owner: s.Owner,
          reason: s.Reason,
          documentName: s.DocumentName,
        })
      }
      next = page.NextToken
    } while (next)
    return sessions
  }
}

type SessionHandleLike = {SessionId?: string; TokenValue?: string; StreamUrl?: string}

function handle(response: SessionHandleLike, call: string): SessionHandle {
  if (!response.SessionId || !response.TokenValue || !response.StreamUrl) {
    throw new InfraError(`${call} answered without a session id, token or stream URL`, 'retry; if it persists, check the SSM endpoint', 'SESSION_START_FAILED')
  }
  return {SessionId: response.SessionId, TokenValue: response.TokenValue, StreamUrl: response.StreamUrl}
}
