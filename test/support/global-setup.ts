import type {TestProject} from 'vitest/node'

import {type MotoServer, startMoto} from './moto.js'

declare module 'vitest' {
  export interface ProvidedContext {
    motoEndpoint: string
    /** The same moto over plain HTTP. */
    motoPlainEndpoint: string
    motoCaBundle: string
  }
}

let moto: MotoServer | undefined

/** One moto for the integration run; each test uses its own account ids and names. */
export async function setup(project: TestProject): Promise<void> {
  if (!process.env.INFRA_TF_PLUGIN_MIRROR) {
    console.warn('INFRA_TF_PLUGIN_MIRROR is not set: terraform will try the public registry (scripts/provider-mirror.sh finds a local mirror)')
  }
  moto = await startMoto()
  project.provide('motoEndpoint', moto.endpoint)
  project.provide('motoPlainEndpoint', moto.plainEndpoint)
  project.provide('motoCaBundle', moto.caBundle)
}

export async function teardown(): Promise<void> {
  await moto?.stop()
}
