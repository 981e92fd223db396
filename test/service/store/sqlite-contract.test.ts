import {mkdtempSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import {SqliteJobStore} from '../../../src/service/store/sqlite-store.js'
import {jobStoreContract} from './contract.js'

// Stores that do not own the file (no in-memory cache), as two processes on one database.
jobStoreContract('SQLite', async () => {
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'infra-contract-')), 'jobs.db')
  return {store: new SqliteJobStore(file), another: async () => new SqliteJobStore(file)}
})
