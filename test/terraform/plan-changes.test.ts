import {describe, expect, it} from 'vitest'

import {attributeChanges, changeReason, formatPath} from '../../src/terraform/plan-changes.js'

/**
 * The cases of terraform's JSON change representation the integration test's plan does not reach
 * (https://developer.hashicorp.com/terraform/internals/json-format#change-representation): a
 * sensitive map, an unknown inside a list, a replace path below the top level, a long value.
 */
describe('the attributes a change shows', () => {
  it('masks a sensitive map whole, keys included, and shows what is unknown inside a list', () => {
    const changes = attributeChanges({
      actions: ['update'],
      before: {environment: {variables: {TOKEN: 'abc'}}, rule: [{port: 80, id: 'r-1'}], name: 'x'},
      after: {environment: {variables: {TOKEN: 'xyz'}}, rule: [{port: 443}], name: 'x'},
      after_unknown: {rule: [{id: true}]},
      before_sensitive: {environment: {variables: true}},
      after_sensitive: {environment: {variables: true}},
      replace_paths: [['rule', 0, 'port']],
    })
    expect(changes).toEqual([
      {path: 'environment.variables', before: '(sensitive value)', after: '(sensitive value)'},
      {path: 'rule[0].port', before: '80', after: '443', forcesReplacement: true},
      {path: 'rule[0].id', before: '"r-1"', after: '(known after apply)'},
    ])
    expect(JSON.stringify(changes)).not.toMatch(/TOKEN|abc|xyz/)
  })

  it('cuts a long value and says its length; names the reason terraform gives', () => {
    const policy = JSON.stringify({Statement: Array.from({length: 10}, (_, index) => ({Sid: `S${index}`, Effect: 'Allow'}))})
    const [change] = attributeChanges({actions: ['update'], before: {policy: 'short'}, after: {policy}})
    expect(change.after).toMatch(/^".{119}\.\.\. \(\d+ characters\)$/)
    expect(changeReason('replace_because_tainted')).toBe('tainted: an earlier apply failed partway through creating it')
    expect(changeReason('some_future_reason')).toBe('some future reason')
    expect(formatPath(['ingress', '0', 'cidr_blocks', '1'])).toBe('ingress[0].cidr_blocks[1]')
  })
})
