import {readFileSync} from 'node:fs'

import {type Document, YAMLMap, isMap, parseDocument} from 'yaml'

import {InfraError} from '../errors.js'
import {parseEstate} from './load.js'
import type {Estate} from './model.js'
import {removeStaleTemps, withFileLock, writeFileAtomic} from './atomic-file.js'

/**
 * Changes the estate file in place: under a lock (concurrent writers take turns, each change
 * lands), through yaml's Document API (comments, order and quoting of everything untouched stay
 * as they were), validated before it is written (a change that would make the file invalid is
 * refused and nothing is written), and written atomically (a crash leaves the old file or the new).
 */
export async function updateEstateFile(file: string, change: (doc: Document) => void): Promise<Estate> {
  return withFileLock(file, () => {
    removeStaleTemps(file)
    const text = readFileSync(file, 'utf8')
    const doc = parseDocument(text)
    if (doc.errors.length > 0) {
      throw new InfraError(`estate file ${file} is not valid YAML`, doc.errors[0].message.split('\n')[0], 'ESTATE_INVALID')
    }
    change(doc)
    const estate = parseEstate(doc.toJS(), file)
    const json = file.endsWith('.json')
    writeFileAtomic(file, json ? `${JSON.stringify(doc.toJS(), null, 2)}\n` : doc.toString({lineWidth: 0}))
    return estate
  })
}

/**
 * Sets a client's fields, creating its entry (at the end of `clients:`) when it is new and keeping
 * the comments of an existing one. `undefined` removes a field.
 */
export function setClientFields(doc: Document, name: string, fields: Record<string, unknown>): void {
  let clients = doc.get('clients')
  // `clients: {}` (or no clients at all) becomes a block mapping, as a person would write it.
  if (!isMap(clients) || (clients.flow && clients.items.length === 0)) {
    clients = new YAMLMap()
    doc.set('clients', clients)
  }
  const map = clients as YAMLMap
  if (!map.has(name)) {
    const entry = doc.createNode(Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined))) as YAMLMap
    entry.flow = false
    map.set(name, entry)
    return
  }
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined) doc.deleteIn(['clients', name, key])
    else doc.setIn(['clients', name, key], value)
  }
}

/** Removes a client's entry; true when there was one. */
export function removeClientEntry(doc: Document, name: string): boolean {
  const clients = doc.get('clients')
  if (!isMap(clients) || !clients.has(name)) return false
  clients.delete(name)
  return true
}
