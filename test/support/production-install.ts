import {cpSync, mkdirSync, mkdtempSync, readFileSync, renameSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import {execa} from 'execa'

import {type Stage, parseDockerfile} from './dockerfile.js'
import {localPrebuildsEnv} from './native-prebuilds.js'

export const ROOT = path.resolve(import.meta.dirname, '../..')

export interface InstalledImage {
  /** Holds both stages' folders (about 550 MB): remove it when done. */
  work: string
  /** The runtime stage's WORKDIR, assembled on this machine. */
  dir: string
  /** The runtime stage's ENV. */
  env: Record<string, string>
  /** ENTRYPOINT then CMD, with the image's /app and node paths mapped to this machine. */
  command: string[]
}

function stage(stages: Stage[], name: string): Stage {
  const found = stages.find((candidate) => candidate.name === name)
  if (!found) throw new Error(`the Dockerfile has no stage ${name}`)
  return found
}

/** ENV lines as the Dockerfile sets them (key=value pairs, quotes removed). */
export function stageEnv(target: Stage): Record<string, string> {
  const env: Record<string, string> = {}
  for (const instruction of target.instructions.filter((i) => i.keyword === 'ENV')) {
    for (const pair of instruction.args) {
      const [key, ...value] = pair.split('=')
      env[key] = value.join('=').replace(/^"(.*)"$/, '$1')
    }
  }
  return env
}

/**
 * Does on this machine what the Dockerfile's last two stages do, with no Docker engine: the
 * production-dependencies stage's COPY of the manifests and its RUN lines, verbatim, in a clean
 * folder; then the runtime stage's COPYs (node_modules from that folder, the rest from the build
 * stage, which is this checkout after `npm run build`).
 */
export async function installLikeTheImage(dockerfile = path.join(ROOT, 'Dockerfile')): Promise<InstalledImage> {
  const {stages} = parseDockerfile(readFileSync(dockerfile, 'utf8'))
  const dependencies = stage(stages, 'production-dependencies')
  const runtime = stages.at(-1)!
  const work = mkdtempSync(path.join(os.tmpdir(), 'infra-image-'))
  const depsDir = path.join(work, 'production-dependencies')
  const appDir = path.join(work, 'app')
  mkdirSync(depsDir)
  mkdirSync(appDir)
  for (const instruction of dependencies.instructions) {
    if (instruction.keyword === 'COPY') {
      if (instruction.flags.from) throw new Error(`production-dependencies copies from ${instruction.flags.from}: not expected`)
      for (const source of instruction.args.slice(0, -1)) cpSync(path.join(ROOT, source), path.join(depsDir, source), {recursive: true})
    } else if (instruction.keyword === 'RUN') {
      // The addon's prebuilt binary comes from a local prebuilds folder (none can be downloaded here).
      await execa('sh', ['-c', instruction.text], {cwd: depsDir, env: {CI: 'true', npm_config_update_notifier: 'false', ...(await localPrebuildsEnv())}})
    }
  }
  const stageDirs: Record<string, string> = {'production-dependencies': depsDir, build: ROOT}
  const stageWorkdir: Record<string, string> = {'production-dependencies': '/app', build: '/src'}
  for (const instruction of runtime.instructions.filter((i) => i.keyword === 'COPY')) {
    const from = instruction.flags.from
    if (!from || !stageDirs[from]) throw new Error(`runtime COPY without a known --from (line ${instruction.line})`)
    const sources = instruction.args.slice(0, -1)
    const target = instruction.args.at(-1)!
    for (const source of sources) {
      const local = path.join(stageDirs[from], path.relative(stageWorkdir[from], source))
      const destination = target.endsWith('/') ? path.join(appDir, path.basename(source)) : path.join(appDir, target)
      if (from === 'production-dependencies') renameSync(local, destination)
      else cpSync(local, destination, {recursive: true})
    }
  }
  const entrypoint = runtime.instructions.find((i) => i.keyword === 'ENTRYPOINT')!.args
  const cmd = runtime.instructions.find((i) => i.keyword === 'CMD')?.args ?? []
  const command = [...entrypoint, ...cmd].map((arg) => (arg === '/nodejs/bin/node' ? process.execPath : arg.replace(/^\/app\//, `${appDir}/`)))
  return {work, dir: appDir, env: stageEnv(runtime), command}
}
