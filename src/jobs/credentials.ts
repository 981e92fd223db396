import {chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import {InfraError} from '../errors.js'

/** ~/.infra/credentials.json (or INFRA_CREDENTIALS_FILE): service endpoint -> token, readable by its owner only. */
export function credentialsFile(env = process.env): string {
  return env.INFRA_CREDENTIALS_FILE ?? path.join(os.homedir(), '.infra', 'credentials.json')
}

function read(file: string): {tokens: Record<string, string>} {
  if (!existsSync(file)) return {tokens: {}}
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8'))
    return {tokens: typeof parsed?.tokens === 'object' && parsed.tokens ? parsed.tokens : {}}
  } catch {
    throw new InfraError(`credentials file ${file} is not valid JSON`, 'fix or delete it, then save the token again', 'BAD_CREDENTIALS_FILE')
  }
}

const normalize = (endpoint: string) => endpoint.replace(/\/+$/, '')

export function savedToken(endpoint: string, env = process.env): string | undefined {
  return read(credentialsFile(env)).tokens[normalize(endpoint)]
}

/** Saves a token for an endpoint, atomically, with 0600 permissions. */
export function saveToken(endpoint: string, token: string, env = process.env): string {
  const file = credentialsFile(env)
  const data = read(file)
  data.tokens[normalize(endpoint)] = token
  mkdirSync(path.dirname(file), {recursive: true, mode: 0o700})
  writeFileSync(`${file}.tmp`, `${JSON.stringify(data, null, 2)}\n`, {mode: 0o600})
  chmodSync(`${file}.tmp`, 0o600)
  renameSync(`${file}.tmp`, file)
  return file
}
