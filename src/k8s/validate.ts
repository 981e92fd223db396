import {DaemonSet} from 'kubernetes-models/apps/v1/DaemonSet'
import {Deployment} from 'kubernetes-models/apps/v1/Deployment'
import {HorizontalPodAutoscaler} from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler'
import {Ingress} from 'kubernetes-models/networking.k8s.io/v1/Ingress'
import {NetworkPolicy} from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy'
import {PodDisruptionBudget} from 'kubernetes-models/policy/v1/PodDisruptionBudget'
import {ConfigMap} from 'kubernetes-models/v1/ConfigMap'
import {Namespace} from 'kubernetes-models/v1/Namespace'
import {Secret} from 'kubernetes-models/v1/Secret'
import {Service} from 'kubernetes-models/v1/Service'
import {ServiceAccount} from 'kubernetes-models/v1/ServiceAccount'

import {InfraError} from '../errors.js'
import type {KubeObject} from './service-manifests.js'

type Model = new (data: any) => {validate(): void}

/** The Kubernetes API kinds the manifests use, with the model whose JSON schema validates them. */
const CORE_MODELS: Record<string, Model> = {
  'v1/Namespace': Namespace,
  'v1/ServiceAccount': ServiceAccount,
  'v1/Service': Service,
  'v1/ConfigMap': ConfigMap,
  'v1/Secret': Secret,
  'apps/v1/Deployment': Deployment,
  'apps/v1/DaemonSet': DaemonSet,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'networking.k8s.io/v1/Ingress': Ingress,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
}

/**
 * Custom resources the cluster must have installed (External Secrets Operator, cert-manager). Their schemas
 * ship with the operator, not with kubernetes-models: only their shape is checked here.
 */
const CUSTOM_RESOURCES: Record<string, string[]> = {
  'external-secrets.io/v1/SecretStore': ['spec.provider.aws.service', 'spec.provider.aws.region', 'spec.provider.aws.auth.jwt.serviceAccountRef.name'],
  'external-secrets.io/v1/ExternalSecret': ['spec.secretStoreRef.name', 'spec.target.name', 'spec.data'],
  // cert-manager: the pod's TLS pair (balancer-to-pod HTTPS).
  'cert-manager.io/v1/Issuer': ['spec.selfSigned'],
  'cert-manager.io/v1/Certificate': ['spec.secretName', 'spec.issuerRef.name', 'spec.dnsNames'],
}

export type ValidationResult = {object: string; schema: 'kubernetes' | 'custom-resource'}

function describe(object: KubeObject): string {
  return `${object.kind} ${object.metadata?.namespace ? `${object.metadata.namespace}/` : ''}${object.metadata?.name}`
}

/**
 * Validates each object offline against the Kubernetes API's JSON schemas (kubernetes-models);
 * an unknown kind or a schema violation is an error naming the object and the field.
 */
export function validateObjects(objects: KubeObject[]): ValidationResult[] {
  return objects.map((object) => {
    const key = `${object.apiVersion}/${object.kind}`
    const model = CORE_MODELS[key]
    if (model) {
      try {
        new model(object).validate()
      } catch (error) {
        throw new InfraError(`${describe(object)} is not a valid ${key}: ${(error as Error).message.split('\n')[0]}`, 'fix the manifest synthesis in src/k8s', 'INVALID_MANIFEST')
      }
      return {object: describe(object), schema: 'kubernetes' as const}
    }
    const required = CUSTOM_RESOURCES[key]
    if (!required) throw new InfraError(`${describe(object)}: ${key} is not a kind infra knows how to validate`, 'add its model to src/k8s/validate.ts', 'INVALID_MANIFEST')
    for (const field of required) {
      const value = field.split('.').reduce<any>((node, part) => node?.[part], object)
      if (value === undefined || value === '' || (Array.isArray(value) && value.length === 0)) {
        throw new InfraError(`${describe(object)} lacks ${field}`, 'fix the manifest synthesis in src/k8s', 'INVALID_MANIFEST')
      }
    }
    return {object: describe(object), schema: 'custom-resource' as const}
  })
}
