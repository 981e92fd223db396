import {mkdirSync, readFileSync, renameSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import {parse, stringify} from 'yaml'

import {InfraError} from '../errors.js'
import {EXEC_CREDENTIAL_API} from './eks-token.js'

export interface KubeContext {
  /** Context, cluster and user name, e.g. infra-prod. */
  name: string
  localPort: number
  /** The cluster's private API host: the name its certificate carries. */
  serverName: string
  certificateAuthority: string
  /** The command and arguments kubectl runs for a token (infra eks token ...). */
  exec: {command: string; args: string[]; env?: {name: string; value: string}[]}
}

/** Where kubectl reads its configuration: --kubeconfig, the first file of KUBECONFIG, else ~/.kube/config. */
export function kubeconfigPath(flag?: string, env = process.env): string {
  if (flag) return path.resolve(flag)
  const first = env.KUBECONFIG?.split(path.delimiter).find(Boolean)
  return first ? path.resolve(first) : path.join(os.homedir(), '.kube', 'config')
}

interface Named {
  name: string
  [key: string]: unknown
}

/**
 * Adds or replaces one cluster, user and context in a kubeconfig, keeping everything else; the
 * file is written whole to a temporary name and renamed, so a failure never leaves half a file.
 */
export function writeKubeContext(file: string, context: KubeContext): void {
  let config: Record<string, unknown> = {}
  let text = ''
  try {
    text = readFileSync(file, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
  }
  if (text.trim()) {
    try {
      config = parse(text) ?? {}
    } catch (error) {
      throw new InfraError(`${file} is not a readable kubeconfig: ${(error as Error).message.split('\n')[0]}`, 'fix it, or pass --kubeconfig another file', 'KUBECONFIG_INVALID')
    }
  }
  const upsert = (key: string, entry: Named) => {
    const list = (Array.isArray(config[key]) ? (config[key] as Named[]) : []).filter((item) => item?.name !== entry.name)
    config[key] = [...list, entry]
  }
  config.apiVersion ??= 'v1'
  config.kind ??= 'Config'
  config.preferences ??= {}
  upsert('clusters', {
    name: context.name,
    cluster: {
      server: `https://127.0.0.1:${context.localPort}`,
      'tls-server-name': context.serverName,
      'certificate-authority-data': context.certificateAuthority,
    },
  })
  upsert('users', {
    name: context.name,
    user: {
      exec: {
        apiVersion: EXEC_CREDENTIAL_API,
        command: context.exec.command,
        args: context.exec.args,
        env: context.exec.env ?? null,
        interactiveMode: 'Never',
        provideClusterInfo: false,
      },
    },
  })
  upsert('contexts', {name: context.name, context: {cluster: context.name, user: context.name}})
  config['current-context'] ??= context.name
  mkdirSync(path.dirname(file), {recursive: true})
  const temporary = `${file}.infra-${process.pid}`
  writeFileSync(temporary, stringify(config), {mode: 0o600})
  renameSync(temporary, file)
}
