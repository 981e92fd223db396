import {accessSync, constants, statSync} from 'node:fs'

import {InfraError} from '../errors.js'
import type {SourceSettings} from './sources/source.js'

/**
 * What the sources will read, checked before the service starts: a job should not be the first to
 * find a missing folder or a mistyped connection file.
 */
export function checkSourceSettings(settings: SourceSettings): void {
  const kind = (file: string) => {
    try {
      return statSync(file)
    } catch {
      return undefined
    }
  }
  const root = kind(settings.fileRoot)
  if (!root) throw new InfraError(`--file-root ${settings.fileRoot} does not exist`, 'create it, or pass the folder the file source may read', 'FILE_ROOT_MISSING', 2)
  if (!root.isDirectory()) throw new InfraError(`--file-root ${settings.fileRoot} is not a folder`, 'pass the folder the file source may read', 'FILE_ROOT_MISSING', 2)
  for (const [name, file] of Object.entries(settings.connections)) {
    const found = kind(file)
    if (!found?.isFile()) throw new InfraError(`--connection ${name}=${file}: ${found ? 'is not a file' : 'no such file'}`, 'pass NAME=path/to/an/existing/sqlite.db', 'CONNECTION_MISSING', 2)
    try {
      accessSync(file, constants.R_OK)
    } catch {
      throw new InfraError(`--connection ${name}=${file}: not readable by this user`, `give the service's user read access to ${file}`, 'CONNECTION_UNREADABLE', 2)
    }
  }
}
