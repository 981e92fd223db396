import {mkdtempSync, readFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import {findTarget, loadEstate, parseEstate} from '../../src/estate/load.js'
import type {Estate} from '../../src/estate/model.js'
import {stackNames, synthesizeEnvironment} from '../../src/stacks/app.js'

export type Resources = Record<string, Record<string, any>>

export interface SynthesizedEnvironment {
  estate: Record<string, any>
  state: Record<string, any>
  /** Resources of a type in the estate stack, as terraform sees them. */
  all(type: string): Record<string, any>[]
  one(type: string): Record<string, any>
}

export function defaultEstate(): Estate {
  return loadEstate({env: {}})
}

/** Synthesizes an environment of the given estate (default: the shipped one) into a temp folder. */
export function synth(envName: string, estate: Estate = defaultEstate()): SynthesizedEnvironment {
  const dir = mkdtempSync(path.join(os.tmpdir(), `infra-synth-${envName}-`))
  const env = findTarget(estate, envName)
  synthesizeEnvironment(estate, env, path.join(dir, 'out'), path.join(dir, 'state'))
  const names = stackNames(env)
  const read = (name: string) => JSON.parse(readFileSync(path.join(dir, 'out', 'stacks', name, 'cdk.tf.json'), 'utf8'))
  const estateJson = read(names.estate)
  const all = (type: string) => Object.values((estateJson.resource?.[type] ?? {}) as Record<string, any>)
  return {
    estate: estateJson,
    state: read(names.bootstrap),
    all,
    one(type) {
      const found = all(type)
      if (found.length !== 1) throw new Error(`expected one ${type}, found ${found.length}`)
      return found[0]
    },
  }
}

export function estateWith(patch: (doc: any) => void): Estate {
  const doc: any = {
    organization: {name: 'acme', managementAccountId: '999999999999'},
    environments: {dev: {accountId: '111111111111', vpcCidr: '10.1.0.0/16'}},
  }
  patch(doc)
  return parseEstate(doc, 'test estate')
}
