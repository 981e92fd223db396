import {existsSync, mkdirSync, renameSync} from 'node:fs'
import {createRequire} from 'node:module'
import os from 'node:os'
import path from 'node:path'

import {execa} from 'execa'

const ROOT = path.resolve(import.meta.dirname, '../..')

/**
 * better-sqlite3's install script is `prebuild-install || node-gyp rebuild`. With no network here,
 * prebuild-install finds nothing and node-gyp compiles SQLite: 1-2 minutes a clean install. Where
 * the network is, prebuild-install downloads the release's prebuilt binary; the offline equivalent
 * it documents is a local prebuilds folder (`npm_config_<package>_local_prebuilds`), which this
 * fills with the binary the checkout's own `npm ci` built. The clean installs still resolve,
 * fetch and lay out every package and run the install scripts; only the compile is skipped.
 * The compile path itself runs in CI's `npm ci`.
 */
export async function localPrebuildsEnv(): Promise<Record<string, string>> {
  const require = createRequire(path.join(ROOT, 'package.json'))
  const pkg = require('better-sqlite3/package.json') as {name: string; version: string}
  const moduleDir = path.dirname(require.resolve('better-sqlite3/package.json'))
  const binary = path.join(moduleDir, 'build', 'Release', 'better_sqlite3.node')
  if (!existsSync(binary)) throw new Error(`${binary} is missing: run npm ci first`)
  // prebuild-install's asset name: {name}-v{version}-{runtime}-v{abi}-{platform}{libc}-{arch}.tar.gz
  const asset = `${pkg.name}-v${pkg.version}-node-v${process.versions.modules}-${process.platform}-${process.arch}.tar.gz`
  const dir = path.join(os.tmpdir(), `infra-prebuilds-${process.getuid?.() ?? 0}`)
  const tarball = path.join(dir, asset)
  if (!existsSync(tarball)) {
    mkdirSync(dir, {recursive: true})
    const partial = `${tarball}.${process.pid}.partial`
    await execa('tar', ['-czf', partial, '-C', moduleDir, 'build/Release/better_sqlite3.node'])
    renameSync(partial, tarball)
  }
  return {[`npm_config_${pkg.name.replaceAll(/[^a-zA-Z0-9]/g, '_')}_local_prebuilds`]: dir}
}
