import {cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import {execa} from 'execa'
import {describe, expect, it} from 'vitest'
import {parse as parseYaml} from 'yaml'

import {localPrebuildsEnv} from '../support/native-prebuilds.js'
import {runCli} from '../support/cli.js'

const ROOT = path.resolve(import.meta.dirname, '../..')
const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {name: string; version: string; files: string[]; scripts: Record<string, string>; dependencies: Record<string, string>; devDependencies: Record<string, string>}

type Step = {id?: string; run?: string}
type Workflow = {env: Record<string, string>; jobs: Record<string, {steps: Step[]}>}

/** A step's script as GitHub runs it on Linux (`bash --noprofile --norc -eo pipefail {0}`). */
const runStep = (script: string, cwd: string, env: Record<string, string>) => execa('bash', ['--noprofile', '--norc', '-eo', 'pipefail', '-c', script], {cwd, env: {...process.env, ...env}, reject: false})

/**
 * The package as `npm pack` makes it, and installed the way the pipelines of an estate repository
 * install it: by the workflow's own install step, into a global prefix, from a repository that holds
 * nothing but its estate file.
 */
describe('the installable CLI, in an estate repository\'s pipeline', () => {
  it('packs with its SBOM and lockfile, installs by the workflow\'s step only when the integrity matches, and runs every infra command the workflows call', async () => {
    const work = mkdtempSync(path.join(os.tmpdir(), 'infra-install-'))
    // The package's files, staged, with what `prepack` adds: the SBOM and the lockfile as npm-shrinkwrap.json
    // (so an install gets exactly the locked tree the SBOM describes). --ignore-scripts keeps pack from rebuilding dist.
    expect(pkg.scripts.prepack).toBe('node scripts/sbom.mjs --output sbom.cdx.json && cp package-lock.json npm-shrinkwrap.json')
    const staging = path.join(work, 'staging')
    for (const entry of [...pkg.files.filter((file) => !['sbom.cdx.json', 'npm-shrinkwrap.json'].includes(file)), 'package.json']) cpSync(path.join(ROOT, entry), path.join(staging, entry), {recursive: true})
    await execa('node', [path.join(ROOT, 'scripts/sbom.mjs'), '--root', ROOT, '--output', path.join(staging, 'sbom.cdx.json')])
    cpSync(path.join(ROOT, 'package-lock.json'), path.join(staging, 'npm-shrinkwrap.json'))
    const packDir = path.join(work, 'packed')
    mkdirSync(packDir)
    const packed = await execa('npm', ['pack', staging, '--ignore-scripts', '--json', '--pack-destination', packDir], {cwd: work})
    const [{filename, files, integrity}] = JSON.parse(packed.stdout) as [{filename: string; integrity: string; files: {path: string}[]}]
    const shipped = files.map((file) => file.path)
    for (const file of ['oclif.manifest.json', 'templates/ci/github/infra-environment.yml', 'config/estate.yaml', 'sbom.cdx.json', 'npm-shrinkwrap.json']) expect(shipped).toContain(file)
    expect(shipped.filter((file) => file.startsWith('src/') || file.startsWith('test/'))).toEqual([])

    // A repository holding only its estate file; infra init ci writes its workflows, pinned to this tarball.
    const repo = path.join(work, 'estate-repo')
    mkdirSync(repo)
    writeFileSync(path.join(repo, 'infra.estate.yaml'), `${readFileSync(path.join(ROOT, 'config/estate.yaml'), 'utf8')}\ndelivery:\n  repository: acme/estate\n`)
    const init = await runCli(['init', 'ci', '--dir', repo, '--estate', path.join(repo, 'infra.estate.yaml'), '--infra-integrity', integrity, '--json'])
    expect(init.exitCode, init.stderr).toBe(0)
    const workflow = parseYaml(readFileSync(path.join(repo, '.github/workflows/infra-dev.yml'), 'utf8')) as Workflow
    expect(workflow.env.INFRA_PACKAGE).toBe(`${pkg.name}@${pkg.version}`)
    expect(workflow.env.INFRA_INTEGRITY).toBe(integrity)

    // The workflow's install step, as the runner runs it; the registry's answer for INFRA_PACKAGE is this tarball.
    const runnerTemp = path.join(work, 'runner-temp')
    mkdirSync(runnerTemp)
    const githubPath = path.join(work, 'github-path')
    writeFileSync(githubPath, '')
    const stepEnv = {...workflow.env, INFRA_PACKAGE: path.join(packDir, filename), RUNNER_TEMP: runnerTemp, GITHUB_PATH: githubPath, npm_config_prefer_offline: 'true', CI: 'true', TF_PLUGIN_CACHE_DIR: path.join(work, 'plugins'), ...(await localPrebuildsEnv())}
    const install = workflow.jobs['supply-chain'].steps.find((step) => step.id === 'install')!.run!
    const forged = await runStep(install, repo, {...stepEnv, INFRA_INTEGRITY: `sha512-${Buffer.alloc(64).toString('base64')}`})
    expect(forged.exitCode).toBe(1)
    expect(forged.stdout).toContain(`::error::${stepEnv.INFRA_PACKAGE} is ${integrity}, not the pinned`)
    expect(existsSync(path.join(runnerTemp, 'infra', 'package.json'))).toBe(false)
    const installed = await runStep(install, repo, stepEnv)
    expect(installed.exitCode, installed.stderr).toBe(0)
    // The next steps find infra on the PATH the step added (GitHub's GITHUB_PATH file).
    const added = readFileSync(githubPath, 'utf8').trim()
    expect(added).toBe(path.join(runnerTemp, 'bin'))

    const packageDir = path.join(runnerTemp, 'infra')
    const modules = new Set(readdirSync(path.join(packageDir, 'node_modules')).flatMap((name) => (name.startsWith('@') ? readdirSync(path.join(packageDir, 'node_modules', name)).map((inner) => `${name}/${inner}`) : [name])))
    // No dev dependency, unless the lockfile says a production package wants it too (devOptional: an optional peer of one).
    const lock = JSON.parse(readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8')) as {packages: Record<string, {devOptional?: boolean}>}
    for (const dev of Object.keys(pkg.devDependencies)) expect(modules.has(dev) && !lock.packages[`node_modules/${dev}`]?.devOptional, `${dev} is a dev dependency`).toBe(false)
    for (const dependency of Object.keys(pkg.dependencies)) expect(modules.has(dependency), `${dependency} is missing`).toBe(true)

    // The SBOM step copies what the package carries, and it names the installed tree.
    const sbomStep = workflow.jobs['supply-chain'].steps.find((step) => step.run?.includes('sbom.cdx.json'))!.run!
    const copied = await runStep(sbomStep, repo, stepEnv)
    expect(copied.exitCode, copied.stderr).toBe(0)
    const sbom = JSON.parse(readFileSync(path.join(repo, 'supply-chain-reports/infra.sbom.cdx.json'), 'utf8')) as {bomFormat: string; components: {group?: string; name: string; version: string}[]}
    expect(sbom.bomFormat).toBe('CycloneDX')
    const described = new Set(sbom.components.map((component) => `${component.group ? `${component.group}/` : ''}${component.name}@${component.version}`))
    // npm ci from the shrinkwrap made the install the locked tree: every package installed at the top is in the SBOM at its version.
    for (const name of [...modules].filter((entry) => !entry.startsWith('.'))) {
      const {version} = JSON.parse(readFileSync(path.join(packageDir, 'node_modules', name, 'package.json'), 'utf8')) as {version: string}
      expect(described.has(`${name}@${version}`), `${name}@${version} is installed but not in the SBOM`).toBe(true)
    }

    // Every infra command line of every job runs from the installed package, in the estate repository, with the workflow's environment.
    const binEnv = {...stepEnv, PATH: `${added}:${process.env.PATH}`, GITHUB_SHA: 'b'.repeat(40)}
    const version = await runStep('infra --version', repo, binEnv)
    expect(version.stdout).toMatch(new RegExp(`^infra/${pkg.version.replaceAll('.', '\\.')} `))
    const lines = Object.values(workflow.jobs).flatMap((job) => job.steps.flatMap((step) => (step.run ?? '').split('\n').filter((line) => line.startsWith('infra '))))
    expect(lines.length).toBeGreaterThanOrEqual(5)
    for (const line of lines) {
      const help = await runStep(`${line} --help`, repo, binEnv)
      expect(help.exitCode, `${line}: ${help.stderr}`).toBe(0)
    }
    // The estate it reads is the repository's (INFRA_ESTATE from the workflow), not the shipped default.
    const dryRun = await runStep('infra provision --env dev --dry-run --no-validate --json', repo, binEnv)
    expect(dryRun.exitCode, dryRun.stderr).toBe(0)
    expect(JSON.parse(dryRun.stdout)).toMatchObject({environment: 'dev', mode: 'dry-run'})
    expect(existsSync(path.join(repo, '.infra', 'dev', 'cdktf.out'))).toBe(true)
  })
})
