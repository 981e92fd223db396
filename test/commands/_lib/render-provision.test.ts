import {describe, expect, it} from 'vitest'

import {renderStackPlan} from '../../../src/commands/_lib/render-provision.js'
import type {StackReport} from '../../../src/provision/provision.js'

describe('the plan a person confirms', () => {
  it('says what is imported from an interrupted apply, what is created after all, and what to check by hand', () => {
    const at = '2026-11-30T07:28:57.514Z'
    const stack: StackReport = {
      name: 'dev-estate',
      directory: '/nowhere',
      dependencies: ['dev-state'],
      resources: {total: 90, byType: {}},
      applied: false,
      audit: {},
      plan: {create: 40, update: 0, replace: 1, delete: 0, import: 1, changes: [
        {address: 'aws_db_parameter_group.pg', type: 'aws_db_parameter_group', action: 'import', importing: 'acme-dev-postgres16'},
        {address: 'aws_vpc.main', type: 'aws_vpc', action: 'replace'},
      ]},
      abandoned: [
        {address: 'aws_db_parameter_group.pg', outcome: 'import', id: 'acme-dev-postgres16', interruptedAt: at},
        {address: 'aws_iam_role.nodes', outcome: 'not-created', interruptedAt: at},
        {address: 'aws_eip.nat', outcome: 'check-by-hand', interruptedAt: at},
      ],
    }
    expect(renderStackPlan(stack).split('\n')).toEqual([
      'dev-estate: 40 to create, 0 to update, 1 to replace, 0 to destroy, 1 to import',
      `  Adopted from the apply interrupted at ${at}: aws_db_parameter_group.pg exists in AWS as acme-dev-postgres16 and is imported, not created again`,
      `  Not made by the apply interrupted at ${at}: aws_iam_role.nodes is created`,
      `  Check by hand: aws_eip.nat was being created when an apply was interrupted at ${at}; AWS names it, so if AWS made it, it is a duplicate outside the state: find it by its tags and delete it`,
      '   <= aws_db_parameter_group.pg  (import acme-dev-postgres16)',
      '  -/+ aws_vpc.main  (replaced; data in it is lost)',
    ])
    const plain = {...stack, abandoned: undefined, plan: {...stack.plan!, import: 0, changes: []}}
    expect(renderStackPlan(plain)).toBe('dev-estate: 40 to create, 0 to update, 1 to replace, 0 to destroy')
  })
})
