import Database from 'better-sqlite3'

import {PermanentJobError, type Source} from './source.js'

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/
const quote = (identifier: string) => `"${identifier}"`

/**
 * Rows of a table from a connection named in the server's configuration. Table and column names
 * are checked as identifiers and against the schema, then quoted; they are never pasted raw.
 */
export const databaseSource: Source = {
  type: 'database',
  contentType: 'application/x-ndjson',
  validate(config, settings) {
    const connection = config.connection ?? 'default'
    if (typeof connection !== 'string' || !(connection in settings.connections)) {
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
    const db = new Database(settings.connections[String(config.connection ?? 'default')], {readonly: true, fileMustExist: true})
    try {
      const table = String(config.table)
      const known = db.prepare("SELECT name FROM sqlite_master WHERE type IN ('table', 'view') AND name = ?").get(table)
      if (!known) throw new PermanentJobError(`table ${table} does not exist`)
      const existing = new Set((db.prepare(`PRAGMA table_info(${quote(table)})`).all() as {name: string}[]).map((c) => c.name))
      const columns = (config.columns as string[] | undefined) ?? [...existing]
      const unknown = columns.filter((column) => !existing.has(column))
      if (unknown.length) throw new PermanentJobError(`unknown column${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')} in ${table}`)
      const total = (db.prepare(`SELECT COUNT(*) AS n FROM ${quote(table)}`).get() as {n: number}).n
      const limit = Math.min(Number(config.limit ?? total), total)
      const statement = db.prepare(`SELECT ${columns.map(quote).join(', ')} FROM ${quote(table)} LIMIT ?`)
      let rows = 0
      for (const row of statement.iterate(limit)) {
        if (ctx.signal.aborted) throw ctx.signal.reason
        await ctx.write(`${JSON.stringify(row)}\n`)
        rows++
        if (rows % 1000 === 0) ctx.progress(rows / Math.max(limit, 1))
      }
      return {rows}
    } finally {
      db.close()
    }
  },
}
