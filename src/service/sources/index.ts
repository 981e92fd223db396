import {databaseSource} from './database.js'
import {fileSource} from './file.js'
import {httpSource} from './http.js'
import type {Source} from './source.js'

/** The sources the service runs; s3 joins with the scale-out work. */
export const SOURCES: Record<string, Source> = Object.fromEntries([databaseSource, fileSource, httpSource].map((source) => [source.type, source]))
