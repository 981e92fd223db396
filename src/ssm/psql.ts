import {spawn} from 'node:child_process'

import {Signer} from '@aws-sdk/rds-signer'

import {awsClientConfig} from '../aws/clients.js'
import {InfraError} from '../errors.js'
import type {SsmContext} from './context.js'
import {exitOf} from './process.js'

/** The database and user the stacks create (src/stacks/database.ts); the user needs the rds_iam role. */
export const DEFAULT_DB_NAME = 'infra'
export const DEFAULT_DB_USER = 'infra_admin'

/**
 * psql through a tunnel with an RDS IAM authentication token (valid 15 minutes, signed for the
 * real endpoint) in PGPASSWORD: no password is typed, stored or shown in argv. TLS is required;
 * the certificate names the RDS host, not 127.0.0.1, so it cannot be verified by name here.
 */
export async function runPsql(
  ctx: SsmContext,
  options: {database: {host: string; port: number}; localPort: number; user: string; dbName: string; psql?: string; extraArgs?: string[]},
): Promise<number> {
  const config = await awsClientConfig(ctx.access)
  const signer = new Signer({hostname: options.database.host, port: options.database.port, username: options.user, region: ctx.region, credentials: config.credentials})
  const token = await signer.getAuthToken()
  const psql = options.psql ?? 'psql'
  const child = spawn(psql, ['--host', '127.0.0.1', '--port', String(options.localPort), '--username', options.user, '--dbname', options.dbName, ...(options.extraArgs ?? [])], {
    stdio: 'inherit',
    env: {...process.env, PGPASSWORD: token, PGSSLMODE: process.env.PGSSLMODE ?? 'require', PGAPPNAME: 'infra tunnel'},
  })
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve)
    child.once('error', (error) =>
      reject(
        new InfraError(
          `cannot start ${psql}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'not found' : error.message}`,
          'install the PostgreSQL client (psql), or pass --psql-path',
          'PSQL_NOT_FOUND',
        ),
      ),
    )
  })
  return exitOf(child)
}
