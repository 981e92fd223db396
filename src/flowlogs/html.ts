import type {FlowAuditReport} from './audit.js'

const escape = (text: unknown) => String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)

function bars(title: string, rows: {key: string; count: number}[], unit: string): string {
  if (rows.length === 0) return `<h2>${escape(title)}</h2><p class="muted">none</p>`
  const max = Math.max(...rows.map((r) => r.count), 1)
  const height = rows.length * 22 + 10
  const items = rows
    .map((row, i) => {
      const width = Math.max(2, Math.round((row.count / max) * 520))
      return `<text x="0" y="${i * 22 + 16}" class="label">${escape(row.key)}</text><rect x="330" y="${i * 22 + 4}" width="${width}" height="16" rx="2"/><text x="${336 + width}" y="${i * 22 + 16}" class="value">${row.count.toLocaleString('en')} ${unit}</text>`
    })
    .join('')
  return `<h2>${escape(title)}</h2><svg viewBox="0 0 1000 ${height}" width="100%" height="${height}" role="img" aria-label="${escape(title)}">${items}</svg>`
}

function timeline(points: [number, number, number][]): string {
  if (points.length < 2) return '<h2>Traffic over time</h2><p class="muted">not enough data</p>'
  const max = Math.max(...points.map((p) => p[1]), 1)
  const t0 = points[0][0]
  const span = Math.max(points.at(-1)![0] - t0, 1)
  const path = points.map((p, i) => `${i ? 'L' : 'M'}${((p[0] - t0) / span) * 980 + 10},${190 - (p[1] / max) * 170}`).join(' ')
  const label = (t: number) => new Date(t * 1000).toISOString().replace('.000Z', 'Z')
  return `<h2>Traffic over time (records per minute)</h2><svg viewBox="0 0 1000 220" width="100%" height="220" role="img" aria-label="records per minute"><path d="${path}" class="line"/><text x="10" y="212" class="label">${label(t0)}</text><text x="990" y="212" class="label" text-anchor="end">${label(points.at(-1)![0])}</text><text x="10" y="14" class="label">${max.toLocaleString('en')}/min</text></svg>`
}

/** A self-contained page (no scripts, no external assets) for people who would rather look than read. */
export function renderHtml(report: FlowAuditReport, generatedAt = new Date()): string {
  const records = report.records
  const findings = [
    ...report.configuration.flatMap((c) => c.findings.map((f) => ({severity: 'critical', title: `${f.environment} ${f.vpcId}: ${f.problem}`, detail: f.detail, fix: f.fix}))),
    ...(records?.findings ?? []).map((f) => ({severity: f.severity, title: f.title, detail: `${f.count.toLocaleString('en')} records on ${f.interfaces.map((i) => i.interfaceId).join(', ')}`, fix: f.fix})),
  ]
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>infra audit flow-logs</title><style>
body{font:14px/1.4 system-ui,sans-serif;margin:2rem;color:#222;max-width:1100px}h1{font-size:1.4rem}h2{font-size:1.1rem;margin-top:2rem}
.verdict{padding:.6rem 1rem;border-radius:6px;font-weight:600}.pass{background:#e6f4ea;color:#1e6b34}.fail{background:#fde7e7;color:#a01717}
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ddd;padding:.35rem;text-align:left;vertical-align:top}
.critical{color:#a01717;font-weight:600}.medium{color:#9a5b00}.muted{color:#777}rect{fill:#4a78b5}.line{fill:none;stroke:#4a78b5;stroke-width:2}
.label{font-size:12px;fill:#333}.value{font-size:12px;fill:#555}</style></head><body>
<h1>Flow log audit</h1><p class="muted">Generated ${escape(generatedAt.toISOString())}</p>
<p class="verdict ${report.passed ? 'pass' : 'fail'}">${report.passed ? 'The isolation promise holds in what was read.' : 'The isolation promise is broken or unproven: see the findings.'}</p>
${records ? `<p>${records.coverage.records.toLocaleString('en')} records, ${records.coverage.nodata} NODATA, ${records.coverage.skipdata} SKIPDATA, ${records.coverage.malformed} malformed; NAT interfaces: ${records.natInterfaces.map((n) => `${escape(n.interfaceId)} (${n.source})`).join(', ') || 'none known'}</p>` : ''}
<h2>Findings</h2>${findings.length ? `<table><tr><th>Severity</th><th>Finding</th><th>Detail</th><th>Fix</th></tr>${findings.map((f) => `<tr><td class="${escape(f.severity)}">${escape(f.severity)}</td><td>${escape(f.title)}</td><td>${escape(f.detail)}</td><td>${escape(f.fix)}</td></tr>`).join('')}</table>` : '<p>None.</p>'}
${records ? timeline(records.timeline) + bars('Top talkers by bytes', records.topTalkersByBytes, 'bytes') + bars('Top talkers by packets', records.topTalkersByPackets, 'packets') + bars('Rejected traffic', records.rejected, 'records') : ''}
</body></html>
`
}
