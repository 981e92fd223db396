export interface AllowList {
  allowed: Set<string>
  exceptions: {name: string; version?: string; licence: string; reason: string}[]
}
export interface LicenceViolation {
  component: string
  licence: string | null
  problem: string
}
export function expressionAllowed(expression: string, allowed: Set<string>): boolean
export function parseAllowList(raw: unknown, source?: string): AllowList
export function componentLicence(component: {licenses?: unknown[]}): string | undefined
export function licenceViolations(sbom: {components?: unknown[]}, allowList: AllowList): LicenceViolation[]
