import {accessSync, constants, existsSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import {execa} from 'execa'
import {describe, expect, it} from 'vitest'

import {type ParsedDockerfile, parseDockerfile} from '../support/dockerfile.js'
import {imageAddedFiles} from '../support/pod.js'
import {stageEnv} from '../support/production-install.js'
import {DATABASE_SECRET, RDS_CA_BUNDLE} from '../../src/k8s/service-manifests.js'
import {synthesizedObjects} from '../k8s/fixtures.js'

const ROOT = path.resolve(import.meta.dirname, '../..')
const dockerfile = parseDockerfile(readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8'))
const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {files: string[]; devDependencies: Record<string, string>}

function byName(parsed: ParsedDockerfile, name: string) {
  const stage = parsed.stages.find((candidate) => candidate.name === name)
  expect(stage, `stage ${name}`).toBeDefined()
  return stage!
}

describe('the Dockerfile', () => {
  it('builds in one stage, installs production dependencies in a clean one, and runs on distroless Node 20', () => {
    expect(dockerfile.stages.map((stage) => stage.name)).toEqual(['build', 'production-dependencies', 'runtime'])
    const build = byName(dockerfile, 'build')
    const runs = build.instructions.filter((i) => i.keyword === 'RUN').map((i) => i.text)
    expect(runs.some((run) => /^npm ci\b/.test(run) && !run.includes('--omit=dev'))).toBe(true)
    expect(runs.at(-1)).toBe('npm run build')
    const dependencies = byName(dockerfile, 'production-dependencies')
    // A clean stage: nothing copied from the build stage, only the manifests.
    expect(dependencies.instructions.filter((i) => i.keyword === 'COPY').flatMap((i) => [i.flags.from ?? 'context', ...i.args])).toEqual(['context', 'package.json', 'package-lock.json', './'])
    expect(dependencies.instructions.some((i) => i.keyword === 'RUN' && /npm ci .*--omit=dev/.test(i.text))).toBe(true)
    const runtime = dockerfile.stages.at(-1)!
    expect(runtime.image).toMatch(/^gcr\.io\/distroless\/nodejs20-debian12(:|@)/)
    // The same Debian release the native addon is built on.
    expect(dependencies.image).toMatch(/^node:20[.\d]*-bookworm/)
  })

  it('runs as a numeric non-root user, with no HEALTHCHECK and no shell form anywhere at run time', () => {
    const runtime = dockerfile.stages.at(-1)!
    const users = runtime.instructions.filter((i) => i.keyword === 'USER')
    expect(users).toHaveLength(1)
    const [user, group] = users[0].args[0].split(':')
    expect(Number(user)).toBeGreaterThan(0)
    expect(Number(group)).toBeGreaterThan(0)
    expect(dockerfile.stages.flatMap((stage) => stage.instructions).filter((i) => i.keyword === 'HEALTHCHECK')).toEqual([])
    // Distroless has no shell: RUN cannot work there, and ENTRYPOINT/CMD must be exec form.
    expect(runtime.instructions.filter((i) => i.keyword === 'RUN')).toEqual([])
    for (const keyword of ['ENTRYPOINT', 'CMD']) expect(runtime.instructions.find((i) => i.keyword === keyword)?.json, keyword).toBe(true)
  })

  it('copies into the runtime only production node_modules and the built files the npm package ships', () => {
    const runtime = dockerfile.stages.at(-1)!
    // The one ADD is the RDS CA bundle, fetched by URL and pinned (the next test).
    const copies = runtime.instructions.filter((i) => i.keyword === 'COPY' || (i.keyword === 'ADD' && !imageAddedFiles().some((added) => added.url === i.args[0])))
    expect(copies.every((i) => i.keyword === 'COPY' && i.flags.from)).toBe(true)
    const fromBuild = copies.filter((i) => i.flags.from === 'build').flatMap((i) => i.args.slice(0, -1).map((source) => path.posix.relative('/src', source)))
    // Nothing that is source, tests or the build's own node_modules (which holds the dev dependencies).
    for (const source of fromBuild) {
      expect(pkg.files.includes(source) || source === 'package.json', `${source} is not part of the package`).toBe(true)
      expect(source).not.toMatch(/^(src|test|node_modules|scripts)\b/)
    }
    const modules = copies.filter((i) => i.args.some((arg) => arg.includes('node_modules')))
    expect(modules.map((i) => i.flags.from)).toEqual(['production-dependencies'])
  })

  it('carries the RDS global CA bundle the pod\'s database URL names, fetched at build and pinned by SHA-256', () => {
    const added = imageAddedFiles()
    expect(added).toEqual([{url: 'https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem', dest: RDS_CA_BUNDLE, checksum: expect.stringMatching(/^sha256:[0-9a-f]{64}$/)}])
    // BuildKit checks the download against the sum and fails the build on any other bytes
    // (ADD --checksum, Dockerfile 1.6; the file's syntax line asks for the current frontend).
    expect(readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8').split('\n')[0]).toBe('# syntax=docker/dockerfile:1')
    const url = new URL(synthesizedObjects('dev').find('ExternalSecret', DATABASE_SECRET).spec.target.template.data.url.replace(/\{\{[^}]*\}\}/g, 'x'))
    expect(url.searchParams.get('sslrootcert')).toBe(added[0].dest)
    expect(url.searchParams.get('sslmode')).toBe('verify-full')
  })

  it('keeps every write on the volumes, so the root filesystem can be read-only', () => {
    const runtime = dockerfile.stages.at(-1)!
    const env = stageEnv(runtime)
    const volumes = runtime.instructions.filter((i) => i.keyword === 'VOLUME').flatMap((i) => i.args)
    const onVolume = (dir: string) => volumes.some((volume) => dir === volume || dir.startsWith(`${volume}/`))
    for (const key of ['HOME', 'TMPDIR', 'XDG_CACHE_HOME', 'XDG_DATA_HOME', 'XDG_CONFIG_HOME', 'INFRA_SERVICE_DATA_DIR']) expect(onVolume(env[key]), `${key}=${env[key]}`).toBe(true)
    expect(env.INFRA_SERVICE_HOST).toBe('0.0.0.0')
  })

  it('sends the builder no local state, secrets or dependencies (.dockerignore starts from nothing)', () => {
    const ignore = readFileSync(path.join(ROOT, '.dockerignore'), 'utf8').split('\n').filter((line) => line && !line.startsWith('#'))
    expect(ignore[0]).toBe('**')
    const allowed = ignore.filter((line) => line.startsWith('!')).map((line) => line.slice(1).replace(/\/$/, ''))
    for (const never of ['node_modules', 'dist', '.infra', '.git', 'test']) expect(allowed).not.toContain(never)
    // Everything the build stage copies from the context is let through.
    const copied = byName(dockerfile, 'build').instructions.filter((i) => i.keyword === 'COPY' && !i.flags.from).flatMap((i) => i.args.slice(0, -1))
    for (const source of copied) expect(allowed, source).toContain(source)
  })
})

describe('base image pinning', () => {
  const PIN_SCRIPT = path.join(ROOT, 'scripts/pin-base-images.sh')
  const DIGEST = /@sha256:[0-9a-f]{64}$/

  it('pins every base image by digest, or ships the pinning routine and documents it', () => {
    const images = dockerfile.stages.map((stage) => stage.image).filter((image) => !dockerfile.stages.some((stage) => stage.name === image))
    expect(images.length).toBeGreaterThanOrEqual(2)
    if (images.every((image) => DIGEST.test(image))) return
    // Not pinned (yet): the script that pins them is there, runnable, and the delivery docs say how to use it.
    accessSync(PIN_SCRIPT, constants.X_OK)
    const page = readFileSync(path.join(ROOT, 'docs/delivery.md'), 'utf8')
    const section = /^## Supply chain\n[\s\S]*?(?=^## |(?![\s\S]))/m.exec(page)?.[0]
    expect(section, 'docs/delivery.md has a "## Supply chain" section').toBeDefined()
    expect(section).toContain('scripts/pin-base-images.sh')
  })

  /** A folder with the tools the script uses, and a stand-in for crane (the registry is unreachable here). */
  async function toolbox(withCrane: boolean) {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'infra-pin-'))
    const bin = path.join(dir, 'bin')
    mkdirSync(bin)
    for (const tool of ['bash', 'env', 'sed', 'grep', 'head', 'tr', 'mktemp', 'cp', 'mv', 'chmod', 'dirname', 'rm', 'sha256sum', 'cut', 'cat']) {
      const found = (await execa('sh', ['-c', `command -v ${tool}`])).stdout.trim()
      symlinkSync(found, path.join(bin, tool))
    }
    const calls = path.join(dir, 'crane-calls')
    if (withCrane) {
      // Stand-in for `crane digest REF`: a digest derived from the reference, and a record of the call.
      writeFileSync(path.join(bin, 'crane'), `#!${path.join(bin, 'bash')}\necho "$*" >> ${calls}\n[ "$1" = digest ] || exit 9\necho "sha256:$(printf %s "$2" | sha256sum | cut -c1-64)"\n`, {mode: 0o755})
    }
    const copy = path.join(dir, 'Dockerfile')
    // Start from tags only, whatever the committed Dockerfile holds.
    writeFileSync(copy, readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8').replace(/^(ARG (?:NODE|RUNTIME)_IMAGE=[^@\n]+)@sha256:[0-9a-f]{64}$/gm, '$1'))
    const run = (args: string[]) => execa(path.join(bin, 'bash'), [PIN_SCRIPT, ...args, copy], {env: {PATH: bin}, extendEnv: false, reject: false})
    return {copy, calls, run}
  }

  it('scripts/pin-base-images.sh rewrites both ARGs to tag@digest, asks for the tags, and is idempotent', async () => {
    const {copy, calls, run} = await toolbox(true)
    const before = parseDockerfile(readFileSync(copy, 'utf8'))
    // The tags the Dockerfile names (node:20.20.0-bookworm, gcr.io/distroless/nodejs20-debian12:nonroot).
    const asked = ['NODE_IMAGE', 'RUNTIME_IMAGE'].map((arg) => `digest ${new RegExp(`^ARG ${arg}=(.+)$`, 'm').exec(readFileSync(copy, 'utf8'))![1]}`)
    expect(asked).toEqual(['digest node:20.20.0-bookworm', 'digest gcr.io/distroless/nodejs20-debian12:nonroot'])
    expect((await run(['--check'])).exitCode).toBe(1)

    const first = await run([])
    expect(first.exitCode, first.stderr).toBe(0)
    const pinned = parseDockerfile(readFileSync(copy, 'utf8'))
    const tagOf = (image: string) => image.replace(DIGEST, '')
    for (const [index, stage] of pinned.stages.entries()) {
      expect(stage.image, stage.name).toMatch(DIGEST)
      expect(tagOf(stage.image)).toBe(tagOf(before.stages[index].image))
    }
    expect(readFileSync(calls, 'utf8').trim().split('\n')).toEqual(asked)
    expect((await run(['--check'])).exitCode).toBe(0)

    // Again: the tag is resolved afresh (not the old digest), the file keeps one digest per image.
    const again = await run([])
    expect(again.exitCode).toBe(0)
    expect(readFileSync(calls, 'utf8').trim().split('\n').slice(2)).toEqual(asked)
    expect(parseDockerfile(readFileSync(copy, 'utf8')).stages.map((s) => s.image)).toEqual(pinned.stages.map((s) => s.image))
    // Only the two ARG lines changed.
    const diff = readFileSync(copy, 'utf8').split('\n').filter((line, i) => line !== readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8').split('\n')[i])
    expect(diff.every((line) => /^ARG (NODE|RUNTIME)_IMAGE=/.test(line))).toBe(true)
  })

  it('scripts/pin-base-images.sh without crane or docker: a one-line error, exit 3, the Dockerfile untouched', async () => {
    const {copy, run} = await toolbox(false)
    const before = readFileSync(copy, 'utf8')
    const result = await run([])
    expect(result.exitCode).toBe(3)
    expect(result.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^Error: neither crane nor docker buildx is installed: install crane/)])
    expect(readFileSync(copy, 'utf8')).toBe(before)
    expect(existsSync(copy)).toBe(true)
  })
})

describe('parseDockerfile', () => {
  it('joins continuations, drops comments, splits flags and substitutes global ARGs in FROM', () => {
    const parsed = parseDockerfile(['ARG BASE=node:20', '# c', 'FROM ${BASE} AS one', 'RUN a \\', '  # inner comment', '  && b', 'COPY --from=one --chown=1:1 /x /y', 'CMD ["node", "x"]'].join('\n'))
    expect(parsed.stages[0]).toMatchObject({name: 'one', image: 'node:20'})
    expect(parsed.stages[0].instructions.map((i) => [i.keyword, i.text])).toEqual([
      ['RUN', 'a && b'],
      ['COPY', '/x /y'],
      ['CMD', '["node", "x"]'],
    ])
    expect(parsed.stages[0].instructions[1].flags).toEqual({from: 'one', chown: '1:1'})
    expect(parsed.stages[0].instructions[2]).toMatchObject({json: true, args: ['node', 'x']})
  })
})
