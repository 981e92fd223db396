/**
 * A Dockerfile read as BuildKit reads it (the parts the tests need): comments and blank lines
 * dropped, `\` continuations joined, instructions upper-cased, `--flag=value` options split
 * off, JSON (exec) form told apart from shell form, and FROM grouped into named stages with
 * global ARG defaults substituted.
 */
export interface Instruction {
  keyword: string
  /** --from=build, --chown=... */
  flags: Record<string, string>
  /** The arguments: a JSON array's items, else the rest of the line. */
  args: string[]
  /** Shell form text (RUN, CMD, ENTRYPOINT not in JSON form). */
  text: string
  json: boolean
  line: number
}

export interface Stage {
  name: string | undefined
  image: string
  index: number
  instructions: Instruction[]
}

export interface ParsedDockerfile {
  globalArgs: Record<string, string>
  stages: Stage[]
}

export function parseDockerfile(source: string): ParsedDockerfile {
  const logical: {text: string; line: number}[] = []
  let pending: {text: string; line: number} | undefined
  source.split(/\r?\n/).forEach((raw, index) => {
    const trimmed = raw.trim()
    if (!pending && (trimmed === '' || trimmed.startsWith('#'))) return
    if (pending && trimmed.startsWith('#')) return
    const continued = /\\\s*$/.test(raw)
    const part = continued ? raw.replace(/\\\s*$/, '') : raw
    pending = pending ? {text: `${pending.text} ${part.trim()}`, line: pending.line} : {text: part.trim(), line: index + 1}
    if (!continued) {
      logical.push(pending)
      pending = undefined
    }
  })
  if (pending) logical.push(pending)

  const globalArgs: Record<string, string> = {}
  const stages: Stage[] = []
  for (const {text, line} of logical) {
    const match = /^(\S+)\s*(.*)$/.exec(text)!
    const keyword = match[1].toUpperCase()
    let rest = match[2]
    const flags: Record<string, string> = {}
    for (let flag = /^--([\w-]+)(?:=(\S*))?\s*/.exec(rest); flag; flag = /^--([\w-]+)(?:=(\S*))?\s*/.exec(rest)) {
      flags[flag[1]] = flag[2] ?? 'true'
      rest = rest.slice(flag[0].length)
    }
    let args: string[]
    let json = false
    if (rest.startsWith('[')) {
      try {
        args = JSON.parse(rest) as string[]
        json = true
      } catch {
        args = rest.split(/\s+/)
      }
    } else {
      args = rest.split(/\s+/).filter(Boolean)
    }
    const instruction: Instruction = {keyword, flags, args, text: rest, json, line}
    if (keyword === 'ARG' && stages.length === 0) {
      const [name, value = ''] = rest.split('=')
      globalArgs[name] = value
      continue
    }
    if (keyword === 'FROM') {
      const image = args[0].replace(/\$\{?(\w+)\}?/g, (_, name: string) => globalArgs[name] ?? '')
      const as = args.findIndex((arg) => arg.toUpperCase() === 'AS')
      stages.push({name: as >= 0 ? args[as + 1] : undefined, image, index: stages.length, instructions: []})
      continue
    }
    if (stages.length === 0) throw new Error(`line ${line}: ${keyword} before the first FROM`)
    stages.at(-1)!.instructions.push(instruction)
  }
  return {globalArgs, stages}
}
