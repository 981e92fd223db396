import {databaseSource} from './database.js'
import {fileSource} from './file.js'
import {httpSource} from './http.js'
import {s3Source} from './s3.js'
import type {Source} from './source.js'

/** The sources the service runs. */
export const SOURCES: Record<string, Source> = Object.fromEntries([databaseSource, fileSource, httpSource, s3Source].map((source) => [source.type, source]))
