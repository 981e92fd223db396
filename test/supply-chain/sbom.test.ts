import {createHash} from 'node:crypto'
import {existsSync, mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {createRequire} from 'node:module'
import os from 'node:os'
import path from 'node:path'

import {execa} from 'execa'
import {beforeAll, describe, expect, it} from 'vitest'

import {buildSbom, declaredLicence, npmPurl, resolveInstallPath, type Sbom, sriToHashes} from '../../scripts/sbom.mjs'

const ROOT = path.resolve(import.meta.dirname, '../..')
const lock = JSON.parse(readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8'))

/** One node of `npm ls --json --long`: npm's own reading of the tree. */
interface NpmLsNode {
  name?: string
  version?: string
  path?: string
  integrity?: string
  license?: string
  missing?: boolean
  dependencies?: Record<string, NpmLsNode>
}

// A purl of the npm type: pkg:npm/[%40scope/]name@version, nothing else (purl specification, npm).
const NPM_PURL = /^pkg:npm\/(?:%40[a-z0-9][a-z0-9._~-]*\/)?[a-z0-9._~-][a-z0-9._~-]*@[A-Za-z0-9.%_~-]+$/i

describe('npm run sbom', () => {
  let sbom: Sbom
  let stderr: string
  const output = path.join(mkdtempSync(path.join(os.tmpdir(), 'infra-sbom-')), 'sbom.cdx.json')

  beforeAll(async () => {
    // The script as npm runs it, in a child process, on the real lockfile and node_modules.
    const result = await execa('node', ['scripts/sbom.mjs', '--output', output], {cwd: ROOT})
    stderr = result.stderr
    sbom = JSON.parse(readFileSync(output, 'utf8'))
  })

  it('writes a CycloneDX 1.5 document with the required fields', () => {
    expect(sbom.bomFormat).toBe('CycloneDX')
    expect(sbom.specVersion).toBe('1.5')
    expect(sbom.serialNumber).toMatch(/^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
    expect(sbom.version).toBe(1)
    expect(new Date(sbom.metadata.timestamp).toISOString()).toBe(sbom.metadata.timestamp)
    expect(sbom.metadata.component).toMatchObject({type: 'application', name: 'infra', version: lock.version, purl: `pkg:npm/infra@${lock.version}`})
    expect(stderr).toContain(`${sbom.components.length} production components`)
    // Every bom-ref is unique, as the specification requires.
    const refs = [sbom.metadata.component['bom-ref'], ...sbom.components.map((component) => component['bom-ref'])]
    expect(new Set(refs).size).toBe(refs.length)
  })

  it('lists exactly the packages `npm ls --omit=dev --all` reports, with their versions, integrity and licences', async () => {
    // npm's own view of the production tree from the same lockfile (--package-lock-only: the shared
    // node_modules of this machine holds other worktrees' packages too, which npm ls calls extraneous).
    const ls = await execa('npm', ['ls', '--omit=dev', '--all', '--long', '--json', '--package-lock-only'], {cwd: ROOT})
    const byPath = new Map<string, NpmLsNode>()
    const walk = (node: NpmLsNode) => {
      for (const child of Object.values(node.dependencies ?? {})) {
        if (child.missing || !child.version || !child.path) continue
        const installPath = path.relative(ROOT, child.path)
        if (!byPath.has(installPath)) byPath.set(installPath, child)
        // A package's second and later appearances are `deduped`, without their dependencies: walk all.
        walk(child)
      }
    }
    walk(JSON.parse(ls.stdout))
    expect(byPath.size).toBeGreaterThan(300)

    const ours = new Map<string, Sbom['components'][number]>()
    for (const component of sbom.components) {
      for (const property of component.properties.filter((p) => p.name === 'cdx:npm:package:path')) ours.set(property.value, component)
    }
    expect([...ours.keys()].sort()).toEqual([...byPath.keys()].sort())
    for (const [installPath, node] of byPath) {
      const component = ours.get(installPath)!
      const name = component.group ? `${component.group}/${component.name}` : component.name
      expect(`${name}@${component.version}`, installPath).toBe(`${node.name}@${node.version}`)
      if (node.integrity) expect(component.hashes, installPath).toEqual(sriToHashes(node.integrity))
      if (typeof node.license === 'string') {
        const licence = component.licenses?.[0]
        expect(licence && ('expression' in licence ? licence.expression : (licence.license.id ?? licence.license.name)), installPath).toBe(node.license)
      }
    }
    // Nothing from the dev tree.
    for (const dev of ['vitest', 'typescript', 'oclif', '@action-validator/core']) expect(sbom.components.some((c) => (c.group ? `${c.group}/${c.name}` : c.name) === dev), dev).toBe(false)
  })

  it('records the dependency graph npm resolved', async () => {
    const ls = JSON.parse((await execa('npm', ['ls', '--omit=dev', '--all', '--long', '--json', '--package-lock-only'], {cwd: ROOT})).stdout) as NpmLsNode
    const graph = new Map(sbom.dependencies.map((entry) => [entry.ref, new Set(entry.dependsOn)]))
    const purlOf = (node: NpmLsNode) => npmPurl(node.name!, node.version!)
    const expected = new Map<string, Set<string>>()
    const walk = (node: NpmLsNode, ref: string) => {
      const targets = expected.get(ref) ?? new Set<string>()
      expected.set(ref, targets)
      for (const child of Object.values(node.dependencies ?? {})) {
        if (child.missing || !child.version) continue
        const childRef = purlOf(child)
        if (childRef !== ref) targets.add(childRef)
        // Deduped appearances carry no dependencies; the union over all appearances is the graph.
        walk(child, childRef)
      }
    }
    walk(ls, sbom.metadata.component['bom-ref'])
    expect(graph.size).toBe(expected.size)
    for (const [ref, targets] of expected) expect([...(graph.get(ref) ?? [])].sort(), ref).toEqual([...targets].sort())
    // Every edge points at a component of the document.
    const refs = new Set(sbom.components.map((c) => c['bom-ref']))
    for (const entry of sbom.dependencies) for (const target of entry.dependsOn) expect(refs.has(target), `${entry.ref} -> ${target}`).toBe(true)
  })

  it('gives every component a well-formed npm purl that decodes to its name and version', () => {
    for (const component of sbom.components) {
      expect(component.purl, component['bom-ref']).toMatch(NPM_PURL)
      expect(component['bom-ref']).toBe(component.purl)
      const [, body] = component.purl.split('pkg:npm/')
      const at = body.lastIndexOf('@')
      const segments = body.slice(0, at).split('/').map(decodeURIComponent)
      expect(segments.join('/')).toBe(component.group ? `${component.group}/${component.name}` : component.name)
      expect(decodeURIComponent(body.slice(at + 1))).toBe(component.version)
    }
    expect(npmPurl('@aws-sdk/client-s3', '3.1175.0')).toBe('pkg:npm/%40aws-sdk/client-s3@3.1175.0')
    // A build suffix is percent-encoded (`+` is not allowed bare in a purl version).
    expect(npmPurl('x', '1.0.0+build.1')).toBe('pkg:npm/x@1.0.0%2Bbuild.1')
  })

  it('carries the lockfile integrity as hex SHA-512, for every package fetched from a registry', () => {
    const registry = Object.entries(lock.packages as Record<string, {dev?: boolean; integrity?: string; inBundle?: boolean}>).filter(([p, e]) => p && !e.dev && !e.inBundle)
    for (const [installPath, entry] of registry) expect(entry.integrity, installPath).toMatch(/^sha512-/)
    for (const component of sbom.components) {
      for (const hash of component.hashes ?? []) {
        expect(hash.alg).toBe('SHA-512')
        expect(hash.content).toMatch(/^[0-9a-f]{128}$/)
      }
    }
    expect(sbom.components.filter((c) => c.hashes).length).toBeGreaterThan(300)
  })

  it('can be checked against the published CycloneDX 1.5 JSON schema when CYCLONEDX_SCHEMA_DIR points at it', async () => {
    // No installed package ships the CycloneDX schema. With the schema folder of
    // github.com/CycloneDX/specification (bom-1.5.schema.json, spdx.schema.json, jsf-0.82.schema.json)
    // in CYCLONEDX_SCHEMA_DIR, the document is validated with ajv (already installed, through fastify).
    const dir = process.env.CYCLONEDX_SCHEMA_DIR
    if (!dir || !existsSync(path.join(dir, 'bom-1.5.schema.json'))) {
      // Without the schema: the required fields above are what is checked.
      expect(sbom.bomFormat).toBe('CycloneDX')
      return
    }
    const require = createRequire(import.meta.url)
    const Ajv = require('ajv').default as new (options: object) => {addSchema(s: object, key: string): void; compile(s: object): ((d: unknown) => boolean) & {errors?: unknown[]}}
    const addFormats = require('ajv-formats').default as (ajv: unknown) => void
    const load = (file: string) => JSON.parse(readFileSync(path.join(dir, file), 'utf8'))
    const ajv = new Ajv({strict: false, allErrors: true, logger: false})
    addFormats(ajv)
    ajv.addSchema(load('spdx.schema.json'), 'spdx.schema.json')
    ajv.addSchema(load('jsf-0.82.schema.json'), 'jsf-0.82.schema.json')
    const validate = ajv.compile(load('bom-1.5.schema.json'))
    expect(validate(sbom), JSON.stringify(validate.errors?.slice(0, 3))).toBe(true)
    const broken = structuredClone(sbom)
    broken.components[0].hashes = [{alg: 'sha512', content: 'x'}]
    expect(validate(broken)).toBe(false)
  })

  it('refuses, writing nothing, when node_modules does not hold the lockfile\'s versions or there is no lockfile', async () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'infra-sbom-root-'))
    const target = path.join(root, 'out.json')
    const none = await execa('node', [path.join(ROOT, 'scripts/sbom.mjs'), '--root', root, '--output', target], {reject: false})
    expect(none.exitCode).toBe(1)
    expect(none.stderr).toMatch(/^Error: .*package-lock\.json does not exist: run npm install --package-lock-only/)
    expect(existsSync(target)).toBe(false)

    const stale = {lockfileVersion: 3, packages: {'': {name: 'x', version: '1.0.0', dependencies: {a: '1.0.0'}}, 'node_modules/a': {version: '1.0.0', integrity: 'sha512-AAAA', license: 'MIT'}}}
    expect(() => buildSbom(stale, {readManifest: () => ({name: 'a', version: '2.0.0'})})).toThrow(/node_modules\/a is a@2.0.0 but package-lock.json locks 1.0.0: .*run npm ci/)
    expect(() => buildSbom({...stale, lockfileVersion: 1})).toThrow(/lockfileVersion 1/)
    writeFileSync(path.join(root, 'package-lock.json'), '{"lockfileVersion": 1, "dependencies": {}}')
    const old = await execa('node', [path.join(ROOT, 'scripts/sbom.mjs'), '--root', root, '--output', target], {reject: false})
    expect(old.exitCode).toBe(1)
    expect(old.stderr).toMatch(/lockfileVersion 1/)
    expect(existsSync(target)).toBe(false)
  })
})

describe('sbom building blocks', () => {
  it('converts SRI to hex: the W3C Subresource Integrity example', () => {
    // https://www.w3.org/TR/SRI/ : sha384 of "alert('Hello, world.');"
    const sri = 'sha384-H8BRh8j48O9oYatfu5AZzq6A9RINhZO5H16dQZngK7T62em8MUt1FLm52t+eX6xO'
    const expected = createHash('sha384').update("alert('Hello, world.');").digest('hex')
    expect(sriToHashes(sri)).toEqual([{alg: 'SHA-384', content: expected}])
    expect(() => sriToHashes('md5-abc')).toThrow(/not a Subresource Integrity hash/)
  })

  it('reads the licence forms package.json files use', () => {
    expect(declaredLicence({license: '(MIT OR Apache-2.0)'})).toBe('(MIT OR Apache-2.0)')
    expect(declaredLicence({license: {type: 'MIT', url: 'x'}})).toBe('MIT')
    expect(declaredLicence({licenses: [{type: 'MIT'}, {type: 'Apache-2.0'}]})).toBe('(MIT OR Apache-2.0)')
    expect(declaredLicence({})).toBeUndefined()
  })

  it('resolves a dependency the way Node does: nearest node_modules first, then upwards', () => {
    const packages = {'': {}, 'node_modules/a': {}, 'node_modules/b': {}, 'node_modules/a/node_modules/b': {}, 'node_modules/a/node_modules/c': {}}
    expect(resolveInstallPath(packages, 'node_modules/a/node_modules/c', 'b')).toBe('node_modules/a/node_modules/b')
    expect(resolveInstallPath(packages, 'node_modules/b', 'a')).toBe('node_modules/a')
    expect(resolveInstallPath(packages, 'node_modules/b', 'c')).toBeUndefined()
    expect(resolveInstallPath(packages, '', 'b')).toBe('node_modules/b')
  })
})
