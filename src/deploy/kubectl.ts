import {execa} from 'execa'

import {InfraError} from '../errors.js'

export interface KubectlSettings {
  /** kubectl binary (default: INFRA_KUBECTL, then kubectl on PATH). */
  binary?: string
  /** The kubeconfig context `infra tunnel eks` writes: infra-<env>. */
  context: string
  /** Kubeconfig file (default: kubectl's own: KUBECONFIG, then ~/.kube/config). */
  kubeconfig?: string
}

export interface KubectlResult {
  exitCode: number
  stdout: string
  stderr: string
}

/** The last non-empty line kubectl wrote: its error, for a one-line message. */
export function lastLine(text: string): string {
  return text.trim().split('\n').filter(Boolean).at(-1)?.trim() ?? ''
}

/** Runs kubectl against one context, recording every argv it ran (for the report and --json). */
export class Kubectl {
  readonly commands: string[][] = []
  readonly binary: string

  constructor(readonly settings: KubectlSettings) {
    this.binary = settings.binary ?? process.env.INFRA_KUBECTL ?? 'kubectl'
  }

  /** The global flags every call gets, so no call can reach another cluster by a changed current-context. */
  globalArgs(): string[] {
    return [...(this.settings.kubeconfig ? ['--kubeconfig', this.settings.kubeconfig] : []), '--context', this.settings.context]
  }

  async run(args: string[], timeoutMs = 15 * 60_000): Promise<KubectlResult> {
    const argv = [...this.globalArgs(), ...args]
    this.commands.push([this.binary, ...argv])
    const result = await execa(this.binary, argv, {reject: false, timeout: timeoutMs, stdin: 'ignore'})
    if ((result as {code?: string}).code === 'ENOENT') {
      throw new InfraError(`kubectl not found (${this.binary})`, 'install kubectl, or point INFRA_KUBECTL at it', 'KUBECTL_NOT_FOUND')
    }
    return {exitCode: result.exitCode ?? 1, stdout: String(result.stdout ?? ''), stderr: String(result.stderr ?? '')}
  }
}
