import {createReadStream, realpathSync, statSync} from 'node:fs'
import path from 'node:path'

import {PermanentJobError, type Source} from './source.js'

/** Files under the configured root; the resolved real path must stay inside it (no "..", no symlink escape). */
export const fileSource: Source = {
  type: 'file',
  contentType: 'application/octet-stream',
  configSchema: () => ({
    type: 'object',
    required: ['path'],
    properties: {path: {type: 'string', minLength: 1, maxLength: 4096, description: 'a path relative to the service\'s --file-root; it may not climb out of it'}},
  }),
  validate(config) {
    if (typeof config.path !== 'string' || config.path.length === 0) return 'config.path is required: a path under the file root'
    if (path.isAbsolute(config.path) || config.path.split(/[\\/]/).includes('..')) return 'config.path must be relative to the file root and must not climb out of it'
    return undefined
  },
  async run(config, ctx, settings) {
    // The system's realpath(3): the same answer as fs.realpathSync's walk, which costs an lstat per
    // path component in JavaScript (a tenth of the service's time when jobs fail fast, profiled).
    const root = realpathSync.native(settings.fileRoot)
    let real: string
    try {
      real = realpathSync.native(path.join(root, String(config.path)))
    } catch {
      throw new PermanentJobError(`config.path ${String(config.path)} does not exist under the file root`)
    }
    if (real !== root && !real.startsWith(root + path.sep)) throw new PermanentJobError('config.path resolves outside the file root')
    const stat = statSync(real)
    // A folder (or a device, a socket) stays one on every retry: refused for good, not retried.
    if (!stat.isFile()) throw new PermanentJobError(`config.path ${String(config.path)} is ${stat.isDirectory() ? 'a folder' : 'not a regular file'}; name a file under the file root`)
    const size = stat.size
    if (size > ctx.limits.maxBytes) throw new PermanentJobError(`config.path is ${size} bytes, more than the limit of ${ctx.limits.maxBytes}`)
    let read = 0
    try {
      for await (const chunk of createReadStream(real, {signal: ctx.signal, highWaterMark: 1 << 16})) {
        read += (chunk as Buffer).length
        await ctx.write(chunk as Buffer)
        if (size > 0) ctx.progress(read / size)
      }
    } catch (error) {
      // Permissions do not change between attempts; other read errors (EIO, EMFILE) may pass.
      const code = (error as NodeJS.ErrnoException).code
      if (code === 'EACCES' || code === 'EPERM' || code === 'EISDIR') throw new PermanentJobError(`config.path ${String(config.path)} cannot be read (${code})`)
      throw error
    }
    return {rows: null}
  },
}
