import {createRequire} from 'node:module'
import path from 'node:path'
import {pathToFileURL} from 'node:url'

import {describe, expect, it} from 'vitest'

import {AWS_REGIONS} from '../../src/estate/model.js'

// The AWS SDK's own endpoint data (partitions.js of @aws-sdk/core): the regions AWS publishes.
async function sdkRegions(partitions: string[]): Promise<string[]> {
  const require = createRequire(import.meta.url)
  const core = path.dirname(require.resolve('@aws-sdk/core').replace(/dist-cjs.*$/, 'package.json'))
  const file = path.join(core, 'dist-es/submodules/client/util-endpoints/lib/aws/partitions.js')
  const {partitionsInfo} = await import(pathToFileURL(file).href)
  return partitionsInfo.partitions
    .filter((partition: {id: string}) => partitions.includes(partition.id))
    .flatMap((partition: {regions: Record<string, unknown>}) => Object.keys(partition.regions))
    .filter((region: string) => !region.startsWith('aws-')) // "aws-global" and the like are not regions
}

describe('the AWS region list', () => {
  it('is the regions of the aws, aws-cn, aws-us-gov and aws-eusc partitions the AWS SDK knows', async () => {
    expect([...AWS_REGIONS].sort()).toEqual((await sdkRegions(['aws', 'aws-cn', 'aws-us-gov', 'aws-eusc'])).sort())
  })
})
