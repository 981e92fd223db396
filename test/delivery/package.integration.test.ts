import {existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import {execa} from 'execa'
import {describe, expect, it} from 'vitest'

import {localPrebuildsEnv} from '../support/native-prebuilds.js'

const ROOT = path.resolve(import.meta.dirname, '../..')
const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {version: string; dependencies: Record<string, string>; devDependencies: Record<string, string>}

/** Installs `npm pack`'s tarball into an empty folder, as an operator would, with production dependencies only. */
describe('the installable CLI', () => {
  it('installs from its package into a clean folder and runs from there with production dependencies only', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'infra-install-'))
    // The build ran before the tests (pretest); --ignore-scripts keeps pack from rebuilding dist under the other tests.
    const packed = await execa('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], {cwd: ROOT})
    const [{filename, files}] = JSON.parse(packed.stdout) as [{filename: string; files: {path: string}[]}]
    const shipped = files.map((file) => file.path)
    expect(shipped).toContain('oclif.manifest.json')
    expect(shipped).toContain('templates/ci/github/infra-environment.yml')
    expect(shipped).toContain('config/estate.yaml')
    expect(shipped.filter((file) => file.startsWith('src/') || file.startsWith('test/'))).toEqual([])

    writeFileSync(path.join(dir, 'package.json'), JSON.stringify({name: 'infra-install-check', private: true}))
    await execa('npm', ['install', '--omit=dev', '--no-audit', '--no-fund', '--prefer-offline', `./${filename}`], {cwd: dir, env: {CI: 'true', ...(await localPrebuildsEnv())}})
    const installed = new Set(readdirSync(path.join(dir, 'node_modules')).flatMap((name) => (name.startsWith('@') ? readdirSync(path.join(dir, 'node_modules', name)).map((inner) => `${name}/${inner}`) : [name])))
    for (const dev of Object.keys(pkg.devDependencies)) expect(installed.has(dev), `${dev} is a dev dependency`).toBe(false)
    for (const dependency of Object.keys(pkg.dependencies)) expect(installed.has(dependency), `${dependency} is missing`).toBe(true)

    const infra = path.join(dir, 'node_modules', '.bin', 'infra')
    const run = (args: string[]) => execa(infra, args, {cwd: dir, reject: false, env: {CI: 'true'}})
    const version = await run(['--version'])
    expect(version.exitCode).toBe(0)
    expect(version.stdout).toMatch(new RegExp(`^infra/${pkg.version.replaceAll('.', '\\.')} `))
    const help = await run(['--help'])
    expect(help.exitCode).toBe(0)
    expect(help.stdout).toMatch(/provision/)
    const dryRun = await run(['provision', '--env', 'dev', '--dry-run', '--no-validate', '--json'])
    expect(dryRun.exitCode, dryRun.stderr).toBe(0)
    const report = JSON.parse(dryRun.stdout)
    expect(report).toMatchObject({environment: 'dev', mode: 'dry-run'})
    expect(report.stacks.map((stack: {name: string}) => stack.name)).toEqual(['dev-state', 'dev-estate'])
    expect(existsSync(path.join(dir, '.infra', 'dev', 'cdktf.out'))).toBe(true)
  })
})
