import {execFileSync} from 'node:child_process'
import {mkdtempSync, readFileSync, statSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import {describe, expect, it} from 'vitest'

import {kubeconfigPath, writeKubeContext} from '../../src/ssm/kubeconfig.js'

const view = (file: string) => JSON.parse(execFileSync('kubectl', ['config', 'view', '--raw', '-o', 'json'], {env: {...process.env, KUBECONFIG: file}, encoding: 'utf8'}))
const context = (port: number) => ({
  name: 'infra-prod',
  localPort: port,
  serverName: 'ABCDEF0123456789.gr7.eu-west-1.eks.amazonaws.com',
  certificateAuthority: Buffer.from('-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n').toString('base64'),
  exec: {command: '/usr/local/bin/infra', args: ['eks', 'token', '--cluster', 'acme-prod-eks', '--env', 'prod']},
})

describe('the kubeconfig context of infra tunnel eks', () => {
  it('is added beside what is there, replaced on the next run, and read by kubectl', () => {
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'infra-kube-')), 'config')
    writeFileSync(
      file,
      'apiVersion: v1\nkind: Config\ncurrent-context: minikube\nclusters:\n- name: minikube\n  cluster:\n    server: https://192.168.49.2:8443\ncontexts:\n- name: minikube\n  context:\n    cluster: minikube\n    user: minikube\nusers:\n- name: minikube\n  user:\n    token: abc\n',
    )
    writeKubeContext(file, context(40001))
    writeKubeContext(file, context(40002))
    const config = view(file)
    expect(config['current-context']).toBe('minikube')
    expect(config.clusters.map((c: any) => c.name).sort()).toEqual(['infra-prod', 'minikube'])
    const cluster = config.clusters.find((c: any) => c.name === 'infra-prod')
    const user = config.users.find((u: any) => u.name === 'infra-prod')
    expect(config.users.find((u: any) => u.name === 'minikube').user.token).toBe('abc')
    expect(cluster.cluster).toEqual({
      server: 'https://127.0.0.1:40002',
      'tls-server-name': 'ABCDEF0123456789.gr7.eu-west-1.eks.amazonaws.com',
      'certificate-authority-data': context(0).certificateAuthority,
    })
    expect(user.user.exec).toMatchObject({apiVersion: 'client.authentication.k8s.io/v1beta1', command: '/usr/local/bin/infra', args: context(0).exec.args, interactiveMode: 'Never'})
    expect(config.contexts).toContainEqual({name: 'infra-prod', context: {cluster: 'infra-prod', user: 'infra-prod'}})
    expect(statSync(file).mode & 0o777).toBe(0o600)
  })

  it('refuses a file it cannot read as YAML and leaves it as it was', () => {
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'infra-kube-')), 'config')
    writeFileSync(file, 'clusters: [unclosed\n')
    expect(() => writeKubeContext(file, context(1))).toThrow(/is not a readable kubeconfig/)
    expect(readFileSync(file, 'utf8')).toBe('clusters: [unclosed\n')
  })

  it('goes where kubectl looks: --kubeconfig, the first KUBECONFIG entry, else ~/.kube/config', () => {
    expect(kubeconfigPath('/tmp/k', {KUBECONFIG: '/a'})).toBe('/tmp/k')
    expect(kubeconfigPath(undefined, {KUBECONFIG: `/a/one${path.delimiter}/b/two`})).toBe('/a/one')
    expect(kubeconfigPath(undefined, {})).toBe(path.join(os.homedir(), '.kube', 'config'))
  })
})
