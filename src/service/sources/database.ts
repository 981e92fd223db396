import Database from 'better-sqlite3'

import {PermanentJobError, type Source} from './source.js'

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/

/**
 * One value as JSON, exactly as SQLite holds it (docs/service.md, "Database values"):
 * - INTEGER: read as a BigInt (better-sqlite3's safeIntegers) and written with all its digits, so
 *   9007199254740993 stays 9007199254740993 (JSON numbers have no precision limit, RFC 8259 §6;
 *   a reader must not parse them into doubles, e.g. Python's json, Go's json.Number, jq 1.7);
 * - REAL: the shortest text that reads back to the same double; ±Infinity (JSON has none) as
 *   {"$real": "Infinity"} / {"$real": "-Infinity"}; -0 as -0.0;
 * - TEXT: a JSON string; NULL: null;
 * - BLOB: {"$base64": "..."} (RFC 4648 base64 of the bytes): an object, so it can never be taken
 *   for a TEXT value.
 */
export function encodeValue(value: unknown): string {
  if (value === null || value === undefined) return 'null'
  if (typeof value === 'bigint') return value.toString()
  if (typeof value === 'number') {
    if (Number.isFinite(value)) return Object.is(value, -0) ? '-0.0' : JSON.stringify(value)
    return `{"$real":"${value > 0 ? 'Infinity' : '-Infinity'}"}`
  }
  if (Buffer.isBuffer(value)) return `{"$base64":"${value.toString('base64')}"}`
  return JSON.stringify(value)
}

/** One row as a JSON object line, its keys in column order (as SELECTed, even names like "1"). */
export function encodeRow(keys: readonly string[], values: readonly unknown[]): string {
  let line = '{'
  for (let i = 0; i < keys.length; i++) line += `${i ? ',' : ''}${keys[i]}:${encodeValue(values[i])}`
  return `${line}}\n`
}
const quote = (identifier: string) => `"${identifier.replaceAll('"', '""')}"`

/**
 * Rows of a table from a connection named in the server's configuration. Table and column names
 * are checked as identifiers and against the schema, then quoted; they are never pasted raw.
 */
export const databaseSource: Source = {
  type: 'database',
  contentType: 'application/x-ndjson',
  configSchema: (settings) => ({
    type: 'object',
    required: ['table'],
    properties: {
      connection: {type: 'string', maxLength: 64, default: 'default', description: 'a connection name the service was started with (--connection NAME=file)'},
      table: {type: 'string', pattern: IDENTIFIER.source, description: 'table or view to read'},
      columns: {type: 'array', items: {type: 'string', pattern: IDENTIFIER.source}, minItems: 1, maxItems: 500, description: 'columns to read (default: all)'},
      limit: {type: 'integer', minimum: 1, maximum: settings.maxRows, description: 'read at most this many rows (the server\'s row ceiling applies regardless)'},
    },
  }),
  validate(config, settings) {
    const connection = config.connection ?? 'default'
    // Own names only: `in` would accept what every object inherits (constructor, toString).
    if (typeof connection !== 'string' || !Object.hasOwn(settings.connections, connection)) {
      return `config.connection "${String(connection)}" is not configured on the server (known: ${Object.keys(settings.connections).join(', ') || 'none'})`
    }
    if (typeof config.table !== 'string' || !IDENTIFIER.test(config.table)) return 'config.table must be a plain identifier (letters, digits, underscore)'
    if (config.columns !== undefined && (!Array.isArray(config.columns) || config.columns.some((c) => typeof c !== 'string' || !IDENTIFIER.test(c)))) {
      return 'config.columns must be a list of plain identifiers'
    }
    if (config.limit !== undefined && (!Number.isInteger(config.limit) || (config.limit as number) < 1)) return 'config.limit must be a positive integer'
    return undefined
  },
  async run(config, ctx, settings) {
    const name = String(config.connection ?? 'default')
    if (!Object.hasOwn(settings.connections, name)) throw new PermanentJobError(`config.connection "${name}" is not configured on the server`)
    let db: Database.Database
    try {
      db = new Database(settings.connections[name], {readonly: true, fileMustExist: true})
    } catch (error) {
      // A missing file or one that is not a database stays so on every retry.
      throw new PermanentJobError(`config.connection "${name}" cannot be opened: ${(error as Error).message}`)
    }
    try {
      const table = String(config.table)
      const known = db.prepare("SELECT name FROM sqlite_master WHERE type IN ('table', 'view') AND name = ?").get(table)
      if (!known) throw new PermanentJobError(`table ${table} does not exist`)
      const existing = new Set((db.prepare(`PRAGMA table_info(${quote(table)})`).all() as {name: string}[]).map((c) => c.name))
      const columns = (config.columns as string[] | undefined) ?? [...existing]
      const unknown = columns.filter((column) => !existing.has(column))
      if (unknown.length) throw new PermanentJobError(`unknown column${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')} in ${table}`)
      // A limit the job asked for truncates; the server's ceiling refuses: a partial table is
      // only returned when someone asked for one.
      const asked = config.limit === undefined ? undefined : Number(config.limit)
      const cap = Math.min(asked ?? Infinity, ctx.limits.maxRows)
      const total = Math.min((db.prepare(`SELECT COUNT(*) AS n FROM ${quote(table)}`).get() as {n: number}).n, cap)
      // Integers as BigInt: a double would round those beyond 2^53 before they are written (and hashed).
      const statement = db.prepare(`SELECT ${columns.map(quote).join(', ')} FROM ${quote(table)} LIMIT ?`).safeIntegers(true).raw(true)
      const keys = statement.columns().map((column) => JSON.stringify(column.name))
      // One row past the cap is read only to tell "exactly the cap" from "more".
      let rows = 0
      for (const row of statement.iterate(BigInt(cap + 1))) {
        if (ctx.signal.aborted) throw ctx.signal.reason
        if (rows === cap) {
          if (asked !== undefined && asked <= ctx.limits.maxRows) break
          throw new PermanentJobError(`${table} has more than ${ctx.limits.maxRows} rows, the row limit; set config.limit to read part of it`)
        }
        // ctx.write refuses once the byte limit would be passed: the cap holds while reading.
        await ctx.write(encodeRow(keys, row as unknown[]))
        rows++
        if (rows % 1000 === 0) ctx.progress(rows / Math.max(total, 1))
      }
      return {rows}
    } finally {
      db.close()
    }
  },
}
