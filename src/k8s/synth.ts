import {mkdirSync, readdirSync, rmSync, writeFileSync} from 'node:fs'
import path from 'node:path'

import {ApiObject, App, Chart, YamlOutputType} from 'cdk8s'

import type {EnvironmentSpec, Estate} from '../estate/model.js'
import {type KubeObject, type ServiceDeploymentOptions, monitoringFiles, serviceObjects} from './service-manifests.js'
import {type ValidationResult, validateObjects} from './validate.js'

export interface ServiceManifests {
  /** Folder `kubectl apply -f` takes: only Kubernetes objects. */
  manifestsDir: string
  /** Prometheus scrape job, alert rules and Grafana dashboard as plain files. */
  monitoringDir: string
  files: string[]
  objects: KubeObject[]
  validation: ValidationResult[]
}

/**
 * Synthesizes the collection service's Kubernetes objects with cdk8s into <outdir>/manifests
 * (one YAML file, in apply order) and the monitoring files into <outdir>/monitoring. The objects
 * are validated against the Kubernetes schemas first: nothing invalid is written.
 */
export function synthesizeServiceManifests(estate: Estate, env: EnvironmentSpec, options: ServiceDeploymentOptions, outdir: string): ServiceManifests {
  const objects = serviceObjects(estate, env, options)
  const validation = validateObjects(objects)
  const manifestsDir = path.join(outdir, 'manifests')
  const monitoringDir = path.join(outdir, 'monitoring')
  // A folder applied as a whole must hold only this synthesis, never a stale file of an earlier one.
  rmSync(manifestsDir, {recursive: true, force: true})
  rmSync(monitoringDir, {recursive: true, force: true})
  mkdirSync(monitoringDir, {recursive: true})
  const app = new App({outdir: manifestsDir, yamlOutputType: YamlOutputType.FILE_PER_CHART, outputFileExtension: '.yaml'})
  const chart = new Chart(app, `${env.name}-infra-service`, {disableResourceNameHashes: true})
  for (const object of objects) new ApiObject(chart, `${object.kind}-${object.metadata.name}`.toLowerCase(), object)
  app.synth()
  for (const [name, text] of Object.entries(monitoringFiles())) writeFileSync(path.join(monitoringDir, name), text)
  const files = [
    ...readdirSync(manifestsDir).map((name) => path.join(manifestsDir, name)),
    ...readdirSync(monitoringDir).map((name) => path.join(monitoringDir, name)),
  ]
  return {manifestsDir, monitoringDir, files, objects, validation}
}
