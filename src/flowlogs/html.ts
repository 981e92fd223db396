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

const isoSeconds = (t: number) => new Date(t * 1000).toISOString().replace('.000Z', 'Z')

/**
 * Records per minute as a line. The last minute is where the input stops, usually part way
 * through it: drawn on the line it would fall towards zero though traffic did not, so it is shown
 * apart, as a hollow point labelled as partial.
 */
function timeline(points: [number, number, number][]): string {
  if (points.length < 2) return '<h2>Traffic over time</h2><p class="muted">not enough data</p>'
  const whole = points.slice(0, -1)
  const partial = points.at(-1)!
  const max = Math.max(...points.map((p) => p[1]), 1)
  const t0 = points[0][0]
  const span = Math.max(partial[0] - t0, 1)
  const x = (t: number) => ((t - t0) / span) * 980 + 10
  const y = (n: number) => 190 - (n / max) * 170
  const path = whole.map((p, i) => `${i ? 'L' : 'M'}${x(p[0])},${y(p[1])}`).join(' ')
  return `<h2>Traffic over time (records per minute)</h2><svg viewBox="0 0 1000 220" width="100%" height="220" role="img" aria-label="records per minute"><path d="${path}" class="line"/><circle cx="${x(partial[0])}" cy="${y(partial[1])}" r="4" class="partial"><title>last minute, ${escape(isoSeconds(partial[0]))}: ${partial[1].toLocaleString('en')} records so far (partial)</title></circle><text x="10" y="212" class="label">${isoSeconds(t0)}</text><text x="990" y="212" class="label" text-anchor="end">${isoSeconds(partial[0])} (last minute partial: ${partial[1].toLocaleString('en')} records, not on the line)</text><text x="10" y="14" class="label">${max.toLocaleString('en')}/min</text></svg>`
}

function inputs(report: FlowAuditReport): string {
  const {files, s3Objects, cloudwatchEvents, inputs: names} = report.sources
  const total = files + s3Objects + (cloudwatchEvents ? 1 : 0)
  const shown = names.slice(0, 50)
  const more = Math.max(0, Math.max(total, names.length) - shown.length)
  return `<h2>Inputs</h2><p>${files.toLocaleString('en')} file(s), ${s3Objects.toLocaleString('en')} S3 object(s), ${cloudwatchEvents.toLocaleString('en')} CloudWatch event(s)</p>${shown.length ? `<ul class="inputs">${shown.map((name) => `<li><code>${escape(name)}</code></li>`).join('')}</ul>` : ''}${more ? `<p class="muted">and ${more.toLocaleString('en')} more</p>` : ''}`
}

/** A self-contained page (no scripts, no external assets) for people who would rather look than read. */
export function renderHtml(report: FlowAuditReport, generatedAt = new Date()): string {
  const records = report.records
  const findings = [
    ...report.configuration.flatMap((c) => c.findings.map((f) => ({severity: 'critical', id: f.problem, title: `${f.environment} ${f.vpcId}: ${f.problem}`, detail: f.detail, evidence: 'flow log configuration', fix: f.fix}))),
    ...(records?.findings ?? []).map((f) => ({
      severity: f.severity,
      id: f.id,
      title: f.title,
      detail: `${f.count.toLocaleString('en')} records, ${f.bytes.toLocaleString('en')} bytes, ${f.firstSeen === null ? '-' : isoSeconds(f.firstSeen)} to ${f.lastSeen === null ? '-' : isoSeconds(f.lastSeen)}, on ${f.interfaces.map((i) => i.interfaceId + (i.instanceId ? ` (${i.instanceId})` : '')).join(', ')}`,
      evidence: `${Object.entries(f.evidence).map(([name, count]) => `${name} ${count}`).join(', ')} (${f.confidence})`,
      fix: f.fix,
    })),
  ]
  const verdict = {
    passed: 'PASSED: the isolation promise holds in what was read.',
    failed: 'FAILED: the isolation promise is broken; see the findings.',
    unproven: 'UNPROVEN: what was read cannot show that the isolation promise holds.',
  }[report.verdict]
  const unproven = records?.unproven
  const range = records && records.coverage.firstSeen !== null ? `${isoSeconds(records.coverage.firstSeen)} to ${isoSeconds(records.coverage.lastSeen ?? records.coverage.firstSeen)}` : 'no records'
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>infra audit flow-logs</title><style>
body{font:14px/1.4 system-ui,sans-serif;margin:2rem;color:#222;max-width:1100px}h1{font-size:1.4rem}h2{font-size:1.1rem;margin-top:2rem}
.verdict{padding:.6rem 1rem;border-radius:6px;font-weight:600}.passed{background:#e6f4ea;color:#1e6b34}.failed{background:#fde7e7;color:#a01717}.unproven{background:#fff4d6;color:#7a5200}.partial{fill:#fff;stroke:#4a78b5;stroke-width:2}
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ddd;padding:.35rem;text-align:left;vertical-align:top}
.critical{color:#a01717;font-weight:600}.medium{color:#9a5b00}.muted{color:#777}rect{fill:#4a78b5}.line{fill:none;stroke:#4a78b5;stroke-width:2}
.label{font-size:12px;fill:#333}.value{font-size:12px;fill:#555}</style></head><body>
<h1>Flow log audit</h1><p class="muted">Generated ${escape(generatedAt.toISOString())}</p>
<p class="verdict ${report.verdict}">${escape(verdict)}</p>
${unproven ? `<ul>${unproven.reasons.map((reason) => `<li>${escape(reason)}</li>`).join('')}</ul>${unproven.missingFields.length ? `<p>Fix: deliver flow logs in a custom format with every field through version 5 (as <code>infra provision</code> creates): <code>${escape(unproven.logFormat)}</code></p>` : ''}` : ''}
${records?.warnings.length ? `<ul>${records.warnings.map((warning) => `<li><strong>Warning:</strong> ${escape(warning)}</li>`).join('')}</ul>` : ''}
<p>Time range: <strong>${escape(range)}</strong></p>
${inputs(report)}
${records ? `<p>${records.coverage.records.toLocaleString('en')} records, ${records.coverage.nodata} NODATA, ${records.coverage.skipdata} SKIPDATA, ${records.coverage.malformed} malformed; NAT interfaces: ${records.natInterfaces.map((n) => `${escape(n.interfaceId)} (${n.source})`).join(', ') || 'none known'}</p><p>Direction of ${records.direction.records.toLocaleString('en')} public inbound records: ${Object.entries(records.direction.placedBy).map(([name, n]) => `${name} ${n.toLocaleString('en')}`).join(', ')}; connections seen opening ${records.direction.connections.opened.toLocaleString('en')}, pushed out of the table ${records.direction.connections.evicted.toLocaleString('en')}, too long to hold ${records.direction.connections.tooLong.toLocaleString('en')}</p>` : ''}
<h2>Findings</h2>${findings.length ? `<table><tr><th>Severity</th><th>Id</th><th>Finding</th><th>Detail</th><th>Evidence</th><th>Fix</th></tr>${findings.map((f) => `<tr><td class="${escape(f.severity)}">${escape(f.severity)}</td><td><code>${escape(f.id)}</code></td><td>${escape(f.title)}</td><td>${escape(f.detail)}</td><td>${escape(f.evidence)}</td><td>${escape(f.fix)}</td></tr>`).join('')}</table>` : '<p>None.</p>'}
${records ? timeline(records.timeline) + bars('Top talkers by bytes', records.topTalkersByBytes, 'bytes') + bars('Top talkers by packets', records.topTalkersByPackets, 'packets') + bars('Rejected traffic', records.rejected, 'records') : ''}
</body></html>
`
}
