import {existsSync, mkdirSync, readFileSync} from 'node:fs'
import path from 'node:path'

import type {EnvironmentSpec, Estate} from '../estate/model.js'
import {App} from './cdktf.js'
import {EnvironmentStack} from './environment.js'
import {StateBootstrapStack} from './state.js'

export interface SynthesizedStack {
  name: string
  /** The folder holding cdk.tf.json, where terraform runs. */
  workingDirectory: string
  /** Names of stacks that must be applied first. */
  dependencies: string[]
}

export interface SynthResult {
  outdir: string
  /** In the order they must be applied. */
  stacks: SynthesizedStack[]
}

export function stackNames(env: EnvironmentSpec): {bootstrap: string; estate: string} {
  return {bootstrap: `${env.name}-state`, estate: `${env.name}-estate`}
}

/**
 * Synthesizes an environment's stacks in-process and returns them in apply order. stateDir is
 * created for the bootstrap's local state, which lives there only until its bucket exists.
 */
export function synthesizeEnvironment(estate: Estate, env: EnvironmentSpec, outdir: string, stateDir: string): SynthResult {
  mkdirSync(outdir, {recursive: true})
  mkdirSync(stateDir, {recursive: true})
  const app = new App({outdir, stackTraces: false, skipValidation: false})
  const names = stackNames(env)
  const bootstrap = new StateBootstrapStack(app, names.bootstrap, estate, env)
  const environment = new EnvironmentStack(app, names.estate, estate, env)
  environment.addDependency(bootstrap)
  app.synth()
  return {outdir, stacks: orderByManifest(outdir)}
}

interface Manifest {
  stacks: Record<string, {name: string; workingDirectory: string; dependencies: string[]}>
}

/** Reads cdktf's manifest.json and orders its stacks so each comes after what it depends on. */
export function orderByManifest(outdir: string): SynthesizedStack[] {
  const manifestFile = path.join(outdir, 'manifest.json')
  if (!existsSync(manifestFile)) throw new Error(`cdktf wrote no manifest in ${outdir}`)
  const manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as Manifest
  const stacks = Object.values(manifest.stacks).map((stack) => ({
    name: stack.name,
    workingDirectory: path.join(outdir, stack.workingDirectory),
    dependencies: stack.dependencies ?? [],
  }))
  const ordered: SynthesizedStack[] = []
  const visiting = new Set<string>()
  const visit = (stack: SynthesizedStack) => {
    if (ordered.includes(stack)) return
    if (visiting.has(stack.name)) throw new Error(`stacks depend on each other in a cycle through ${stack.name}`)
    visiting.add(stack.name)
    for (const dependency of stack.dependencies) {
      const found = stacks.find((candidate) => candidate.name === dependency)
      if (found) visit(found)
    }
    visiting.delete(stack.name)
    ordered.push(stack)
  }
  for (const stack of stacks) visit(stack)
  return ordered
}
