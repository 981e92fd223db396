#!/usr/bin/env node
// `npm run sbom`: a CycloneDX 1.5 SBOM (JSON) of the production dependencies, read from
// package-lock.json (lockfileVersion 3) and the installed packages' package.json files.
// Written here rather than taken from @cyclonedx/cyclonedx-npm because node_modules is shared and
// no dependency may be added for it; the test compares the result with `npm ls --omit=dev`.
//
//   node scripts/sbom.mjs [--output FILE] [--root DIR]     (default: sbom.cdx.json in the root)
import {randomUUID} from 'node:crypto'
import {existsSync, mkdirSync, readFileSync, renameSync, writeFileSync} from 'node:fs'
import {createRequire} from 'node:module'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

export const SPEC_VERSION = '1.5'
const SRI_ALGORITHMS = {sha1: 'SHA-1', sha256: 'SHA-256', sha384: 'SHA-384', sha512: 'SHA-512'}

/** The package name an install path holds: `node_modules/a/node_modules/@s/b` -> `@s/b`. */
export function nameAtPath(installPath) {
  return installPath.slice(installPath.lastIndexOf('node_modules/') + 'node_modules/'.length)
}

/** pkg:npm/%40scope/name@version (purl spec: the scope is the namespace, its `@` percent-encoded). */
export function npmPurl(name, version) {
  const segments = name.split('/').map((segment) => encodeURIComponent(segment))
  return `pkg:npm/${segments.join('/')}@${encodeURIComponent(version)}`
}

/** An SRI string (`sha512-<base64>`, possibly several, space-separated) as CycloneDX hashes in hex. */
export function sriToHashes(integrity) {
  if (!integrity) return []
  return integrity
    .trim()
    .split(/\s+/)
    .map((token) => {
      const match = /^(sha1|sha256|sha384|sha512)-([A-Za-z0-9+/]+={0,2})(\?.*)?$/.exec(token)
      if (!match) throw new Error(`"${token}" is not a Subresource Integrity hash (expected sha512-<base64>)`)
      return {alg: SRI_ALGORITHMS[match[1]], content: Buffer.from(match[2], 'base64').toString('hex')}
    })
}

/** The licence as declared by a package.json: the SPDX `license` string, or the legacy object/array forms. */
export function declaredLicence(manifest) {
  const {license, licenses} = manifest ?? {}
  if (typeof license === 'string' && license.trim()) return license.trim()
  if (license && typeof license === 'object' && typeof license.type === 'string') return license.type
  if (Array.isArray(licenses) && licenses.length > 0) {
    const types = licenses.map((entry) => (typeof entry === 'string' ? entry : entry?.type)).filter(Boolean)
    if (types.length === 1) return types[0]
    // The legacy array meant "any of these" (npm's documentation of the deprecated field).
    if (types.length > 1) return `(${types.join(' OR ')})`
  }
  return undefined
}

function spdxIds() {
  // spdx-license-ids is in the lockfile (dev, through the validate-npm-package-license chain); without
  // it every single token is recorded as a licence name, which is valid CycloneDX too.
  try {
    return new Set(createRequire(import.meta.url)('spdx-license-ids'))
  } catch {
    return undefined
  }
}

/** CycloneDX `licenses`: one SPDX id, an SPDX expression, or a free-text name. */
export function cyclonedxLicences(licence, ids = spdxIds()) {
  if (!licence) return []
  const single = /^[A-Za-z0-9.+-]+$/.test(licence)
  if (single && (ids ? ids.has(licence) : false)) return [{license: {id: licence}}]
  if (/\s(OR|AND|WITH)\s/.test(licence)) return [{expression: licence}]
  return [{license: {name: licence}}]
}

/** Where Node would find `name` required from the package installed at `fromPath` (lockfile keys). */
export function resolveInstallPath(packages, fromPath, name) {
  let base = fromPath
  for (;;) {
    const candidate = base ? `${base}/node_modules/${name}` : `node_modules/${name}`
    if (packages[candidate]) return candidate
    if (!base) return undefined
    const cut = base.lastIndexOf('/node_modules/')
    base = cut === -1 ? '' : base.slice(0, cut)
  }
}

/**
 * The production set, as `npm ci --omit=dev` installs it: every package not flagged `dev`.
 * `devOptional` packages (a dev dependency that is also an optional dependency or optional peer of
 * a production one, here @types/node for @inquirer/*) are installed by --omit=dev, so they are
 * listed with scope "optional", like packages flagged `optional`.
 */
export function productionPackages(lock) {
  if ((lock.lockfileVersion !== 3 && lock.lockfileVersion !== 2) || !lock.packages?.['']) {
    throw new Error(`package-lock.json has lockfileVersion ${lock.lockfileVersion}; this generator reads version 3 (npm 7 or later): run npm install --package-lock-only with npm >= 9`)
  }
  return Object.entries(lock.packages).filter(([installPath, entry]) => installPath !== '' && !entry.dev && !entry.link)
}

function readInstalledManifest(root, installPath) {
  const file = path.join(root, installPath, 'package.json')
  return existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : undefined
}

/**
 * Builds the document. `readManifest(installPath)` returns an installed package.json (or undefined
 * when that package is not installed here, e.g. an optional one for another platform).
 */
export function buildSbom(lock, {readManifest, serialNumber = `urn:uuid:${randomUUID()}`, timestamp = new Date().toISOString(), ids = spdxIds()} = {}) {
  const production = productionPackages(lock)
  const rootEntry = lock.packages['']
  const inProduction = new Map(production)
  const componentsByRef = new Map()
  const refAtPath = new Map()

  for (const [installPath, entry] of production) {
    const name = entry.name ?? nameAtPath(installPath)
    const manifest = readManifest?.(installPath)
    if (manifest && manifest.version !== entry.version) {
      throw new Error(`${installPath} is ${manifest.name}@${manifest.version} but package-lock.json locks ${entry.version}: node_modules is not the lockfile's; run npm ci first`)
    }
    const ref = npmPurl(name, entry.version)
    refAtPath.set(installPath, ref)
    let component = componentsByRef.get(ref)
    if (!component) {
      const scope = name.startsWith('@') ? name.slice(0, name.indexOf('/')) : undefined
      component = {
        type: 'library',
        'bom-ref': ref,
        ...(scope ? {group: scope, name: name.slice(scope.length + 1)} : {name}),
        version: entry.version,
        scope: 'optional',
        hashes: [],
        licenses: cyclonedxLicences(declaredLicence(manifest) ?? entry.license, ids),
        purl: ref,
        properties: [],
      }
      componentsByRef.set(ref, component)
    }
    // Required wherever any copy is required.
    if (!entry.optional && !entry.devOptional) component.scope = 'required'
    if (component.hashes.length === 0) component.hashes = sriToHashes(entry.integrity)
    component.properties.push({name: 'cdx:npm:package:path', value: installPath})
    if (entry.inBundle) component.properties.push({name: 'cdx:npm:package:bundled', value: 'true'})
  }

  const dependsOn = new Map()
  const edgesOf = (installPath, entry, kinds) => {
    const targets = new Set()
    for (const kind of kinds) {
      for (const dependency of Object.keys(entry[kind] ?? {})) {
        const target = resolveInstallPath(lock.packages, installPath, dependency)
        if (target && inProduction.has(target)) targets.add(refAtPath.get(target))
      }
    }
    return targets
  }
  const rootRef = npmPurl(rootEntry.name, rootEntry.version)
  dependsOn.set(rootRef, edgesOf('', rootEntry, ['dependencies', 'optionalDependencies']))
  for (const [installPath, entry] of production) {
    const ref = refAtPath.get(installPath)
    const targets = dependsOn.get(ref) ?? new Set()
    for (const target of edgesOf(installPath, entry, ['dependencies', 'optionalDependencies', 'peerDependencies'])) if (target !== ref) targets.add(target)
    dependsOn.set(ref, targets)
  }

  const components = [...componentsByRef.values()]
    .map(({hashes, licenses, properties, ...rest}) => ({...rest, ...(hashes.length ? {hashes} : {}), ...(licenses.length ? {licenses} : {}), properties}))
    .sort((a, b) => a['bom-ref'].localeCompare(b['bom-ref']))
  return {
    $schema: `http://cyclonedx.org/schema/bom-${SPEC_VERSION}.schema.json`,
    bomFormat: 'CycloneDX',
    specVersion: SPEC_VERSION,
    serialNumber,
    version: 1,
    metadata: {
      timestamp,
      lifecycles: [{phase: 'build'}],
      tools: {components: [{type: 'application', name: 'infra scripts/sbom.mjs', version: rootEntry.version}]},
      component: {
        type: 'application',
        'bom-ref': rootRef,
        name: rootEntry.name,
        version: rootEntry.version,
        purl: rootRef,
        ...(rootEntry.license ? {licenses: cyclonedxLicences(rootEntry.license, ids)} : {}),
      },
    },
    components,
    dependencies: [...dependsOn.entries()].map(([ref, targets]) => ({ref, dependsOn: [...targets].sort()})).sort((a, b) => a.ref.localeCompare(b.ref)),
  }
}

function main(argv) {
  const option = (flag) => {
    const index = argv.indexOf(flag)
    if (index === -1) return undefined
    const value = argv[index + 1]
    if (!value || value.startsWith('--')) throw new Error(`${flag} needs a value`)
    return value
  }
  const unknown = argv.filter((arg, index) => arg.startsWith('--') && !['--output', '--root'].includes(arg) && !['--output', '--root'].includes(argv[index - 1]))
  if (unknown.length) throw new Error(`unknown option ${unknown[0]}: use --output FILE and --root DIR`)
  const root = path.resolve(option('--root') ?? path.join(path.dirname(fileURLToPath(import.meta.url)), '..'))
  const output = path.resolve(option('--output') ?? path.join(root, 'sbom.cdx.json'))
  const lockFile = path.join(root, 'package-lock.json')
  if (!existsSync(lockFile)) throw new Error(`${lockFile} does not exist: run npm install --package-lock-only, or pass --root the folder that holds it`)
  const lock = JSON.parse(readFileSync(lockFile, 'utf8'))
  const sbom = buildSbom(lock, {readManifest: (installPath) => readInstalledManifest(root, installPath)})
  // Whole or nothing: a half-written SBOM would be uploaded as if it were one.
  mkdirSync(path.dirname(output), {recursive: true})
  const temp = `${output}.${process.pid}.tmp`
  writeFileSync(temp, `${JSON.stringify(sbom, null, 2)}\n`)
  renameSync(temp, output)
  const shown = path.relative(process.cwd(), output)
  process.stderr.write(`${shown.startsWith('..') ? output : shown}: CycloneDX ${SPEC_VERSION}, ${sbom.components.length} production components\n`)
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    main(process.argv.slice(2))
  } catch (error) {
    process.stderr.write(`Error: ${error.message}\n`)
    process.exitCode = 1
  }
}
