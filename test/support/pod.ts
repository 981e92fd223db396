import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

import {type ResultPromise, execa} from 'execa'

import {BIN} from './cli.js'
import {parseDockerfile} from './dockerfile.js'
import {freePort} from './net.js'
import {stageEnv} from './production-install.js'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))

/**
 * The service's pod as the synthesized manifests write it, run here as a real `infra service start`
 * process: the image's ENTRYPOINT (node bin/run.js) and ENV from the Dockerfile's runtime stage,
 * the Deployment's container args and env, and the Secret values the ExternalSecret renders. Only
 * what cannot exist on this machine is moved, and each move is named by the caller:
 * - every volumeMount's path becomes a temporary folder (emptyDir or Secret volume); a Secret
 *   volume's folder holds one file per key of the Secret, as the kubelet writes it (the test's
 *   `secrets` give the data: the TLS pair it makes with openssl);
 * - the container port becomes a free loopback port (eight engineers share this machine);
 * - `files`: a path the image or a Secret puts in place (the RDS CA bundle, the TLS pair) is
 *   swapped for a local file.
 */
export interface PodObjects {
  deployment: any
  externalSecret?: any
}

export interface PodProcess {
  child: ResultPromise
  /** Base URL of the container port, http or https as the readiness probe's scheme says. */
  url: string
  env: Record<string, string>
  args: string[]
  mounts: Record<string, string>
  /** The readiness probe's path and the liveness probe's. */
  probes: {ready: string; live: string; startup: string}
  output(): string
}

/** The ExternalSecret template as External Secrets (Go text/template, engine v2) renders it; only what it uses. */
export function renderTemplate(template: string, data: Record<string, string>): string {
  const rendered = template.replace(/\{\{\s*\.(\w+)\s*(\|\s*urlquery\s*)?\}\}/g, (_whole, key: string, urlquery?: string) => {
    if (!(key in data)) throw new Error(`the template names .${key}, which the secret data has not`)
    // Go's url.QueryEscape: space as +, everything but A-Z a-z 0-9 - _ . ~ escaped.
    return urlquery ? encodeURIComponent(data[key]).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`).replaceAll('%20', '+') : data[key]
  })
  if (rendered.includes('{{')) throw new Error(`unrendered template syntax left in ${rendered}`)
  return rendered
}

/** The runtime stage's ENV, as the image sets it. */
export function imageEnv(): Record<string, string> {
  return stageEnv(parseDockerfile(readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8')).stages.at(-1)!)
}

/** Where the runtime stage puts a file fetched with ADD from a URL (the RDS CA bundle). */
export function imageAddedFiles(): {url: string; dest: string; checksum?: string}[] {
  const runtime = parseDockerfile(readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8')).stages.at(-1)!
  // The stage's own ARG defaults, substituted as BuildKit does in ADD's flags.
  const args: Record<string, string> = {}
  for (const instruction of runtime.instructions.filter((i) => i.keyword === 'ARG')) {
    const [name, ...value] = instruction.text.split('=')
    args[name.trim()] = value.join('=')
  }
  const substitute = (text: string | undefined) => text?.replace(/\$\{(\w+)\}/g, (_whole, name: string) => args[name] ?? '')
  return runtime.instructions
    .filter((i) => i.keyword === 'ADD' && /^https:\/\//.test(i.args[0] ?? ''))
    .map((i) => ({url: i.args[0], dest: i.args[1], checksum: substitute(i.flags.checksum)}))
}

export async function startPod(objects: PodObjects, options: {secrets?: Record<string, Record<string, string>>; files?: Record<string, string>; extraArgs?: string[]; envOverrides?: Record<string, string>} = {}): Promise<PodProcess> {
  const spec = objects.deployment.spec.template.spec
  const [container] = spec.containers
  const mounts: Record<string, string> = {}
  for (const mount of container.volumeMounts ?? []) {
    const folder = mkdtempSync(path.join(os.tmpdir(), `infra-pod-${mount.name}-`))
    mounts[mount.mountPath] = folder
    const volume = (spec.volumes ?? []).find((v: any) => v.name === mount.name)
    if (volume?.secret) {
      const data = options.secrets?.[volume.secret.secretName]
      if (!data) throw new Error(`the pod mounts Secret ${volume.secret.secretName}, which the test did not render`)
      for (const [key, value] of Object.entries(data)) writeFileSync(path.join(folder, key), value, {mode: volume.secret.defaultMode ?? 0o644})
    }
  }
  const port = await freePort()
  const containerPort = container.ports.find((p: any) => p.name === container.readinessProbe.httpGet.port || p.containerPort === container.readinessProbe.httpGet.port).containerPort
  // Mount paths first, then single files (which may themselves lie in a temporary folder).
  const swap = (value: string) => {
    for (const [mountPath, local] of Object.entries(mounts)) {
      if (value === mountPath || value.startsWith(`${mountPath}/`)) value = local + value.slice(mountPath.length)
      else value = value.replaceAll(`=${mountPath}/`, `=${local}/`)
    }
    for (const [from, to] of Object.entries(options.files ?? {})) value = value.replaceAll(from, to)
    return value
  }
  const env: Record<string, string> = {}
  for (const [name, value] of Object.entries(imageEnv())) env[name] = swap(value)
  for (const entry of container.env) {
    if (entry.valueFrom?.secretKeyRef) {
      const {name, key} = entry.valueFrom.secretKeyRef
      const value = options.secrets?.[name]?.[key]
      if (value === undefined) throw new Error(`the pod reads ${key} of Secret ${name}, which the test did not render`)
      env[entry.name] = swap(value)
    } else env[entry.name] = swap(String(entry.value))
  }
  if (env.INFRA_SERVICE_PORT !== String(containerPort)) throw new Error(`INFRA_SERVICE_PORT ${env.INFRA_SERVICE_PORT} is not the container port ${containerPort}`)
  env.INFRA_SERVICE_PORT = String(port)
  for (const [name, value] of Object.entries(options.envOverrides ?? {})) {
    if (!(name in env)) throw new Error(`the pod sets no ${name} to override`)
    env[name] = value
  }
  const args = [...container.args.map(swap), ...(options.extraArgs ?? [])]
  let output = ''
  const child = execa('node', [BIN, ...args], {env: {PATH: process.env.PATH!, ...env}, extendEnv: false, reject: false, stdin: 'ignore', all: true, forceKillAfterDelay: false})
  child.all?.on('data', (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-2_000_000)
  })
  const scheme = (container.readinessProbe.httpGet.scheme ?? 'HTTP').toLowerCase()
  return {
    child,
    url: `${scheme}://127.0.0.1:${port}`,
    env,
    args,
    mounts,
    probes: {ready: container.readinessProbe.httpGet.path, live: container.livenessProbe.httpGet.path, startup: container.startupProbe.httpGet.path},
    output: () => output,
  }
}

/** Polls a probe path until it answers `status` (or the process ends); returns the last answer. */
export async function waitForStatus(pod: PodProcess, route: string, status: number, timeoutMs = 30_000, fetchOptions: RequestInit = {}): Promise<{status: number; body: any}> {
  const deadline = Date.now() + timeoutMs
  let last: {status: number; body: any} = {status: 0, body: undefined}
  for (;;) {
    if (pod.child.exitCode !== null) throw new Error(`the pod's process exited ${pod.child.exitCode}:\n${pod.output()}`)
    try {
      const response = await fetch(`${pod.url}${route}`, {signal: AbortSignal.timeout(3000), ...fetchOptions})
      last = {status: response.status, body: await response.json().catch(() => undefined)}
      if (response.status === status) return last
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${route} answered ${last.status} ${JSON.stringify(last.body)}, not ${status}, within ${timeoutMs} ms:\n${pod.output()}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}
