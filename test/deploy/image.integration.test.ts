import {existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import {execa} from 'execa'
import {describe, expect, it} from 'vitest'

import {freePort} from '../support/net.js'
import {ROOT, installLikeTheImage} from '../support/production-install.js'

const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {dependencies: Record<string, string>; devDependencies: Record<string, string>}

/** Every file under a folder with its size and modification time, to see that nothing was written there. */
function snapshot(dir: string): string[] {
  return readdirSync(dir, {recursive: true, withFileTypes: true})
    .filter((entry) => entry.isFile() || entry.isDirectory())
    .map((entry) => {
      const full = path.join(entry.parentPath, entry.name)
      const stat = statSync(full)
      return `${path.relative(dir, full)} ${stat.isFile() ? stat.size : 'dir'} ${stat.mtimeMs}`
    })
    .sort()
}

function installedPackages(dir: string): Set<string> {
  const modules = path.join(dir, 'node_modules')
  return new Set(readdirSync(modules).flatMap((name) => (name.startsWith('@') ? readdirSync(path.join(modules, name)).map((inner) => `${name}/${inner}`) : [name])))
}

describe('the image, assembled without Docker', () => {
  it('holds production dependencies only, and its entrypoint starts the service, which answers /health and /ready', async () => {
    const image = await installLikeTheImage()
    const installed = installedPackages(image.dir)
    for (const dev of Object.keys(pkg.devDependencies)) expect(installed.has(dev), `${dev} is a dev dependency`).toBe(false)
    for (const dependency of Object.keys(pkg.dependencies)) expect(installed.has(dependency), `${dependency} is missing`).toBe(true)
    // No build tools or sources: no TypeScript compiler, no test files, no src folder.
    expect(existsSync(path.join(image.dir, 'node_modules', 'typescript'))).toBe(false)
    expect(readdirSync(image.dir).sort()).toEqual(['bin', 'config', 'dist', 'node_modules', 'oclif.manifest.json', 'package.json'])

    // The image's paths (/tmp and the data volume) become fresh folders here; the rest of ENV as is.
    const scratch = mkdtempSync(path.join(os.tmpdir(), 'infra-image-run-'))
    const env = Object.fromEntries(Object.entries(image.env).map(([key, value]) => [key, value.replace(/^\/(tmp|var\/lib\/infra)/, (_, dir: string) => path.join(scratch, dir.replaceAll('/', '-')))]))
    const before = snapshot(image.dir)
    const port = await freePort()
    const child = execa(image.command[0], [...image.command.slice(1), '--host', '127.0.0.1', '--port', String(port)], {
      cwd: image.dir,
      env: {...env, PATH: process.env.PATH},
      extendEnv: false,
      reject: false,
    })
    try {
      const base = `http://127.0.0.1:${port}`
      const deadline = Date.now() + 30_000
      let health: Response | undefined
      while (!health && Date.now() < deadline) {
        health = await fetch(`${base}/health`).catch(() => undefined)
        if (!health) await new Promise((resolve) => setTimeout(resolve, 200))
      }
      expect(health?.status, 'the service did not answer /health').toBe(200)
      expect(await health!.json()).toMatchObject({status: 'ok', checks: {database: 'ok'}})
      expect((await fetch(`${base}/ready`)).status).toBe(200)
      // The jobs database went to the data volume, not the image.
      expect(readdirSync(path.join(scratch, 'var-lib-infra'))).toContain('jobs.db')
      // Nothing was written into the image's own files: a read-only root filesystem would not stop it.
      expect(snapshot(image.dir)).toEqual(before)
    } finally {
      child.kill('SIGTERM')
      await child
      rmSync(image.work, {recursive: true, force: true})
      rmSync(scratch, {recursive: true, force: true})
    }
  })
})
