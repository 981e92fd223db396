// Types of scripts/sbom.mjs, for the tests.
export const SPEC_VERSION: string
export interface CycloneDxHash {
  alg: string
  content: string
}
export type CycloneDxLicence = {license: {id?: string; name?: string}} | {expression: string}
export interface LockEntry {
  name?: string
  version: string
  integrity?: string
  license?: string
  dev?: boolean
  optional?: boolean
  devOptional?: boolean
  inBundle?: boolean
  link?: boolean
  dependencies?: Record<string, string>
  optionalDependencies?: Record<string, string>
  peerDependencies?: Record<string, string>
}
export interface PackageLock {
  name?: string
  lockfileVersion: number
  packages: Record<string, LockEntry>
}
export interface SbomComponent {
  type: string
  'bom-ref': string
  group?: string
  name: string
  version: string
  scope: 'required' | 'optional'
  purl: string
  hashes?: CycloneDxHash[]
  licenses?: CycloneDxLicence[]
  properties: {name: string; value: string}[]
}
export interface Sbom {
  bomFormat: string
  specVersion: string
  serialNumber: string
  version: number
  metadata: {timestamp: string; component: {type: string; 'bom-ref': string; name: string; version: string; purl: string}; tools: unknown}
  components: SbomComponent[]
  dependencies: {ref: string; dependsOn: string[]}[]
}
export function nameAtPath(installPath: string): string
export function npmPurl(name: string, version: string): string
export function sriToHashes(integrity: string | undefined): CycloneDxHash[]
export function declaredLicence(manifest: unknown): string | undefined
export function cyclonedxLicences(licence: string | undefined, ids?: Set<string>): CycloneDxLicence[]
export function resolveInstallPath(packages: Record<string, unknown>, fromPath: string, name: string): string | undefined
export function productionPackages(lock: PackageLock): [string, LockEntry][]
export function buildSbom(
  lock: PackageLock,
  options?: {readManifest?: (installPath: string) => unknown; serialNumber?: string; timestamp?: string; ids?: Set<string>},
): Sbom
