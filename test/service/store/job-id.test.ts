import {describe, expect, it} from 'vitest'

import {newJobId} from '../../../src/service/store/job-id.js'

describe('job ids', () => {
  it('are UUID version 7 with the creation time in their first 48 bits', () => {
    const at = Date.UTC(2026, 10, 28, 12, 30, 15, 123)
    const id = newJobId(at)
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
    expect(Number.parseInt(id.slice(0, 8) + id.slice(9, 13), 16)).toBe(at)
  })

  it('sort by creation time and never repeat', () => {
    const ids = Array.from({length: 5000}, (_, i) => newJobId(1_700_000_000_000 + Math.floor(i / 10)))
    expect(new Set(ids).size).toBe(ids.length)
    const byTime = ids.map((id) => id.slice(0, 13))
    expect([...byTime].sort()).toEqual(byTime)
  })
})
