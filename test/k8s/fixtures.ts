import {mkdtempSync, readFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import {parseAllDocuments} from 'yaml'

import type {Estate} from '../../src/estate/model.js'
import {findTarget} from '../../src/estate/load.js'
import {synthesizeServiceManifests} from '../../src/k8s/synth.js'
import {defaultEstate} from '../support/synth.js'

export const IMAGE = '111111111111.dkr.ecr.eu-west-1.amazonaws.com/infra@sha256:' + 'a'.repeat(64)
export const DISCOVERED = {
  wafWebAclArn: 'arn:aws:wafv2:eu-west-1:111111111111:regional/webacl/acme-dev-waf/3f1c2d4e-0000-4000-8000-000000000001',
  databaseSecretArn: 'arn:aws:secretsmanager:eu-west-1:111111111111:secret:rds!db-3f1c2d4e-AbCdEf',
  databaseEndpoint: 'acme-dev-postgres.abcdefghijkl.eu-west-1.rds.amazonaws.com:5432',
  loadBalancerSubnets: 'subnet-0a1b2c3d4e5f60718,subnet-0a1b2c3d4e5f60719,subnet-0a1b2c3d4e5f6071a',
  albSecurityGroup: 'sg-0f1e2d3c4b5a69788',
}

/** Synthesizes an environment's service manifests into a temp folder and reads the written YAML back. */
export function synthesizedObjects(envName: string, estate: Estate = defaultEstate()) {
  const outdir = mkdtempSync(path.join(os.tmpdir(), `infra-k8s-${envName}-`))
  const result = synthesizeServiceManifests(estate, findTarget(estate, envName), {image: IMAGE, discovered: DISCOVERED}, outdir)
  const objects = result.files
    .filter((file) => file.startsWith(result.manifestsDir))
    .flatMap((file) => parseAllDocuments(readFileSync(file, 'utf8')).map((document) => document.toJSON()))
  const find = (kind: string, name = 'infra-service') => {
    const found = objects.find((object) => object.kind === kind && object.metadata.name === name)
    if (!found) throw new Error(`no ${kind} ${name}`)
    return found
  }
  return {result, objects, find}
}
