import {writeFileSync} from 'node:fs'

import {stringify} from 'yaml'

/**
 * What a CLI child needs to reach moto as AWS: fake keys (moto checks signatures, not secrets),
 * no instance-metadata lookups, and trust in moto's test certificate.
 */
export function motoEnv(caBundle: string, extra: Record<string, string> = {}): Record<string, string> {
  return {AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_EC2_METADATA_DISABLED: 'true', AWS_CA_BUNDLE: caBundle, ...extra}
}

/**
 * Writes an estate whose AWS endpoint is moto (organization acme, management account
 * 999999999999), with the given environments and any other top-level settings.
 */
export function writeMotoEstate(file: string, endpoint: string, settings: {environments: Record<string, unknown>} & Record<string, unknown>): string {
  writeFileSync(file, stringify({organization: {name: 'acme', managementAccountId: '999999999999'}, endpoint, ...settings}))
  return file
}
