import {type OutputSettings, bold, dim, displayWidth, outputSettings, shorten, tone} from './terminal.js'

/** Columns whose words are severities or statuses, coloured at a terminal. */
const TONED_COLUMNS = /^(SEVERITY|STATUS|VERDICT|STATE|RESULT|LEVEL)$/

/** Columns never narrowed below this, so a shortened cell still says something. */
const MIN_COLUMN = 8
const GAP = 2

/**
 * An aligned text table with no borders, so it pipes and greps cleanly. At a terminal it fits the
 * width (the widest columns give way first, cells shortened with an ellipsis) and colours
 * severities and statuses; piped, or with --wide, every cell is whole.
 */
export function renderTable(
  allHeaders: string[],
  rows: (string | number | boolean | undefined)[][],
  options: {
    /** Columns left out, last first, when the table is too wide for the terminal (as kubectl's -o wide columns). */
    optional?: string[]
    settings?: OutputSettings
  } = {},
): string {
  const settings = options.settings ?? outputSettings()
  const all = [allHeaders, ...rows.map((row) => allHeaders.map((_, column) => (row[column] === undefined ? '-' : String(row[column]))))]
  const kept = keptColumns(all, options.optional ?? [], settings.width)
  const headers = kept.map((column) => allHeaders[column])
  const cells = all.map((row) => kept.map((column) => row[column]))
  const natural = headers.map((_, column) => Math.max(...cells.map((row) => displayWidth(row[column]))))
  const widths = settings.width ? fitWidths(natural, headers, cells, settings.width) : natural
  return cells
    .map((row, index) =>
      row
        .map((cell, column) => {
          const text = shorten(cell, widths[column])
          const padding = ' '.repeat(Math.max(0, widths[column] - displayWidth(text)))
          if (index === 0) return bold(text, settings) + padding
          return (TONED_COLUMNS.test(headers[column]) ? tone(text, settings) : text) + padding
        })
        .join(' '.repeat(GAP))
        .trimEnd(),
    )
    .join('\n')
    .concat(widths.some((w, column) => w < natural[column]) || headers.length < allHeaders.length ? `\n${dim('(shortened to fit: --wide shows all)', settings)}` : '')
}

/** The columns that stay: all of them, unless optional ones must go for the rest to fit. */
function keptColumns(cells: string[][], optional: string[], width: number | undefined): number[] {
  const kept = cells[0].map((_, column) => column)
  const tableWidth = (columns: number[]) => columns.reduce((sum, column) => sum + Math.max(...cells.map((row) => displayWidth(row[column]))), 0) + GAP * (columns.length - 1)
  for (const name of [...optional].reverse()) {
    if (!width || tableWidth(kept) <= width) break
    const column = cells[0].indexOf(name)
    if (column >= 0) kept.splice(kept.indexOf(column), 1)
  }
  return kept
}

/**
 * Narrows columns until the table fits, in the order that loses least: prose first (cells with
 * spaces: descriptions, fixes), then long identifiers, and short columns (names, states, regions)
 * only when nothing else can give. Within a phase the widest column gives way first.
 */
function fitWidths(natural: number[], headers: string[], cells: string[][], width: number): number[] {
  const widths = [...natural]
  const prose = headers.map((_, column) => cells.slice(1).filter((row) => /\s/.test(row[column])).length * 2 > cells.length - 1)
  const phases = [
    (column: number) => (prose[column] ? Math.max(16, displayWidth(headers[column])) : Infinity),
    (column: number) => (natural[column] > 16 ? 16 : Infinity),
    (column: number) => Math.max(MIN_COLUMN, displayWidth(headers[column])),
  ]
  let excess = widths.reduce((sum, w) => sum + w, 0) + GAP * (widths.length - 1) - width
  for (const floorOf of phases) {
    while (excess > 0) {
      let widest = -1
      for (let column = 0; column < widths.length; column++) {
        if (widths[column] > floorOf(column) && (widest < 0 || widths[column] > widths[widest])) widest = column
      }
      if (widest < 0) break
      widths[widest]--
      excess--
    }
  }
  return widths
}
