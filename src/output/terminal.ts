import pc from 'picocolors'
import stringWidth from 'string-width'

/**
 * How output is shaped for whoever reads it: colour and the terminal's width for a person at a
 * terminal; plain, full-width text when piped, so scripts and grep see every character.
 */
export interface OutputSettings {
  color: boolean
  /** Columns a table may take; undefined when nothing limits it (a pipe, a file, --wide). */
  width: number | undefined
}

/**
 * Colour follows the conventions other CLIs share: NO_COLOR present and not empty turns it off
 * (no-color.org), FORCE_COLOR turns it on, otherwise only a terminal that is not "dumb" gets it.
 */
export function detectOutput(options: {noColor?: boolean; wide?: boolean} = {}, stream: {isTTY?: boolean; columns?: number} = process.stdout, env = process.env): OutputSettings {
  const forced = env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '0' && env.FORCE_COLOR !== 'false'
  const color = !options.noColor && !env.NO_COLOR && (forced || (Boolean(stream.isTTY) && env.TERM !== 'dumb'))
  const width = options.wide || !stream.isTTY ? undefined : stream.columns || Number(env.COLUMNS) || 80
  return {color, width}
}

let current: OutputSettings = detectOutput()

/** Set once by the base command from --no-color and --wide. */
export function configureOutput(options: {noColor?: boolean; wide?: boolean}): void {
  current = detectOutput(options)
}

export function outputSettings(): OutputSettings {
  return current
}

/** Colours by meaning, never by position: the same word is the same colour in every command. */
const TONES: Record<string, 'bad' | 'warn' | 'good' | 'dim'> = {
  critical: 'bad',
  high: 'bad',
  failed: 'bad',
  missing: 'bad',
  error: 'bad',
  denied: 'bad',
  medium: 'warn',
  warning: 'warn',
  unproven: 'warn',
  pending: 'warn',
  queued: 'warn',
  running: 'warn',
  low: 'dim',
  info: 'dim',
  skipped: 'dim',
  'not run': 'dim',
  ok: 'good',
  passed: 'good',
  succeeded: 'good',
  active: 'good',
  applied: 'good',
}

/** A severity or status word in its colour (bold red for critical), or the text as it is. */
export function tone(text: string, settings: OutputSettings = current): string {
  if (!settings.color) return text
  const colors = pc.createColors(true)
  const word = text.trim().toLowerCase()
  switch (TONES[word]) {
    case 'bad':
      return word === 'critical' ? colors.bold(colors.red(text)) : colors.red(text)
    case 'warn':
      return colors.yellow(text)
    case 'good':
      return colors.green(text)
    case 'dim':
      return colors.dim(text)
    default:
      return text
  }
}

export function bold(text: string, settings: OutputSettings = current): string {
  return settings.color ? pc.createColors(true).bold(text) : text
}

export function dim(text: string, settings: OutputSettings = current): string {
  return settings.color ? pc.createColors(true).dim(text) : text
}

export const displayWidth = (text: string): number => stringWidth(text)

/**
 * A cell cut to a width: identifiers (no spaces: ARNs, ids, paths) keep their head and tail, where
 * what tells them apart usually is (the role name at the end of an ARN); prose keeps its start.
 */
export function shorten(text: string, width: number): string {
  if (displayWidth(text) <= width) return text
  if (width <= 1) return '…'.slice(0, width)
  if (!/\s/.test(text) && width >= 9) {
    const tail = Math.ceil((width - 1) / 2)
    const head = width - 1 - tail
    return `${text.slice(0, head)}…${text.slice(text.length - tail)}`
  }
  let cut = text.slice(0, width - 1)
  while (displayWidth(cut) > width - 1) cut = cut.slice(0, -1)
  return `${cut.trimEnd()}…`
}

/**
 * Prose wrapped at the terminal's width on word boundaries, later lines indented by `hang`;
 * unchanged when nothing limits the width (piped output stays one line per item for grep).
 */
export function wrap(text: string, hang = 0, settings: OutputSettings = current): string {
  if (!settings.width || displayWidth(text) <= settings.width) return text
  const lines: string[] = []
  const lead = /^ */.exec(text)![0]
  let line = lead
  for (const word of text.slice(lead.length).split(' ')) {
    const candidate = line.trim() ? `${line} ${word}` : `${line}${word}`
    if (line.trim() && displayWidth(candidate) > settings.width) {
      lines.push(line)
      line = `${' '.repeat(hang)}${word}`
    } else {
      line = candidate
    }
  }
  if (line) lines.push(line)
  return lines.join('\n')
}
