/**
 * The series a PromQL expression selects: each metric name with the label names its matchers
 * use. Enough of PromQL for alert rules and dashboards: strings, label matchers, ranges,
 * offsets, function calls, aggregations with by/without, and binary operators.
 */
export interface Selector {
  metric: string
  labels: string[]
}

const KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'and', 'or', 'unless', 'bool', 'offset', 'inf', 'nan'])

export function selectors(expr: string): Selector[] {
  const found: Selector[] = []
  // Template text ({{ }}) is never part of an expression; quoted strings are values, not names.
  let text = expr.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""')
  // by (...) / without (...) / on (...) / ignoring (...) / group_x (...) list labels, not metrics.
  text = text.replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
  text = text.replace(/\[[^\]]*\]/g, ' ')
  // Numbers and durations (0.99, 1000, 5m after offset) are not names.
  text = text.replace(/(?<![a-zA-Z0-9_:])\d+(?:\.\d+)?(?:e[+-]?\d+)?[a-z]*/gi, ' ')
  const pattern = /([a-zA-Z_:][a-zA-Z0-9_:]*)?\s*(\{[^}]*\})?/g
  for (let match = pattern.exec(text); match; match = pattern.exec(text)) {
    if (match[0] === '') {
      pattern.lastIndex++
      continue
    }
    const [whole, name, braces] = match
    const after = text.slice(match.index + whole.length).trimStart()
    if (name && !braces && after.startsWith('(')) continue // a function or aggregation
    if (name && KEYWORDS.has(name.toLowerCase())) continue
    const labels = braces ? [...braces.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)/g)].map((m) => m[1]) : []
    if (name) found.push({metric: name, labels})
  }
  return found
}

/** Prometheus text exposition: each sample's metric name with the label names it carries. */
export function exportedSeries(exposition: string): Map<string, Set<string>> {
  const series = new Map<string, Set<string>>()
  for (const line of exposition.split('\n')) {
    if (!line || line.startsWith('#')) continue
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})?\s/.exec(line)
    if (!match) continue
    const labels = series.get(match[1]) ?? new Set<string>()
    for (const label of (match[3] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="/g)) labels.add(label[1])
    series.set(match[1], labels)
  }
  return series
}
