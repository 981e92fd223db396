import {describe, expect, it} from 'vitest'

import {renderTable} from '../../src/output/table.js'
import {detectOutput, shorten} from '../../src/output/terminal.js'

const ESC = '\u001B['
const plain = {color: false, width: undefined}
const rows = [
  ['INFRA_EBS_VOLUME_ENCRYPTED', 'critical', 'EBS volumes are encrypted with a customer-managed key so a snapshot cannot leave the account', 'arn:aws:iam::111111111111:role/OrganizationAccountAccessRole'],
  ['INFRA_S3_TLS', 'low', 'Buckets refuse plain HTTP', 'arn:aws:iam::222222222222:role/InfraDeploy'],
]
const headers = ['RULE', 'SEVERITY', 'CHECKS', 'ROLE']
const widest = (text: string) => Math.max(...text.split('\n').map((line) => [...line.replace(/\u001B\[[0-9;]*m/g, '')].length))

describe('tables for people and for pipes', () => {
  it('piped: every cell whole, no colour', () => {
    const text = renderTable(headers, rows, {settings: plain})
    expect(text).not.toContain(ESC)
    for (const row of rows) for (const cell of row) expect(text).toContain(cell)
  })

  it.each([60, 80, 100, 120])('at %i columns every line fits, ids are never cut before prose is', (width) => {
    const text = renderTable(headers, rows, {settings: {color: false, width}})
    expect(widest(text)).toBeLessThanOrEqual(width)
    // The rule ids stay whole while the prose column can still give.
    if (width >= 100) expect(text).toContain('INFRA_EBS_VOLUME_ENCRYPTED')
    expect(text.split('\n').at(-1)).toMatch(/--wide/)
  })

  it('drops optional columns before shortening cells', () => {
    const text = renderTable(headers, rows, {optional: ['ROLE'], settings: {color: false, width: 110}})
    expect(text.split('\n')[0]).not.toContain('ROLE')
    expect(text).toContain('INFRA_EBS_VOLUME_ENCRYPTED')
    expect(widest(text)).toBeLessThanOrEqual(110)
  })

  it('colours severities by meaning at a terminal, bold red for critical', () => {
    const text = renderTable(headers, rows, {settings: {color: true, width: undefined}})
    expect(text).toContain(`${ESC}1m${ESC}31mcritical`)
    expect(text).toContain(`${ESC}2mlow`)
  })

  it('shortens identifiers in the middle and prose at the end', () => {
    expect(shorten('arn:aws:iam::111111111111:role/OrganizationAccountAccessRole', 20)).toBe('arn:aws:i…AccessRole')
    expect(shorten('Buckets refuse plain HTTP', 12)).toBe('Buckets ref…')
  })

  it('follows NO_COLOR, FORCE_COLOR, TERM=dumb and the terminal', () => {
    const tty = {isTTY: true, columns: 90}
    expect(detectOutput({}, tty, {})).toEqual({color: true, width: 90})
    expect(detectOutput({}, tty, {NO_COLOR: '1'}).color).toBe(false)
    // An empty NO_COLOR does not count (no-color.org).
    expect(detectOutput({}, tty, {NO_COLOR: ''}).color).toBe(true)
    expect(detectOutput({}, tty, {TERM: 'dumb'}).color).toBe(false)
    expect(detectOutput({noColor: true}, tty, {}).color).toBe(false)
    expect(detectOutput({wide: true}, tty, {}).width).toBeUndefined()
    expect(detectOutput({}, {isTTY: false}, {})).toEqual({color: false, width: undefined})
    expect(detectOutput({}, {isTTY: false}, {FORCE_COLOR: '1'}).color).toBe(true)
  })
})
