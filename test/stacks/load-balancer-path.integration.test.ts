import {execFile} from 'node:child_process'
import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {promisify} from 'node:util'

import {DescribeRouteTablesCommand, DescribeSecurityGroupsCommand, DescribeSubnetsCommand, DescribeVpcsCommand, EC2Client, type IpPermission, type Subnet} from '@aws-sdk/client-ec2'
import {beforeAll, describe, expect, inject, it} from 'vitest'

import {createClient} from '../../src/aws/clients.js'
import {layoutSubnets} from '../../src/estate/cidr.js'
import {findTarget, loadEstate} from '../../src/estate/load.js'
import {resolveDiscoveredValues} from '../../src/deploy/discovered.js'
import {InfraError} from '../../src/errors.js'
import {type DiscoveredValues, serviceObjects} from '../../src/k8s/service-manifests.js'
import {stackNames, synthesizeEnvironment} from '../../src/stacks/app.js'
import {findTerraformBinary, writeCliConfig} from '../../src/terraform/binary.js'
import {motoEnv, writeMotoEstate} from '../support/moto-estate.js'

const run = promisify(execFile)

/**
 * The way from the internal ALB to the service's pods, as terraform builds it against moto: the
 * environment's stack as synthesized, first in the shape it had before the load-balancer tier (the
 * new tier, the ALB's group and the nodes' rule for it taken out, so the stack is what existing
 * environments run), applied; then the stack as it is now, planned (nothing existing is replaced)
 * and applied; then read back from EC2. Only the network and the cluster's security groups are
 * applied (-target): moto's EKS cannot hold the cluster (test/provision/provision.integration.test.ts).
 */
const work = mkdtempSync(path.join(os.tmpdir(), 'infra-lb-path-'))
const VPC = '10.1.0.0/16'
let stackDir: string
let current: any
let tfEnv: NodeJS.ProcessEnv
let upgradePlan: any
let ec2: EC2Client
let estate: ReturnType<typeof loadEstate>
/** The VPC terraform made here. */
let vpcId: string
/** What deploy service read from the discovery parameters before the upgrade (an error) and after it. */
let beforeUpgrade: unknown
let discovered: DiscoveredValues

const terraform = (args: string[]) => run(findTerraformBinary(), [...args, '-no-color'], {cwd: stackDir, env: tfEnv, maxBuffer: 64 * 1024 * 1024})
const addressesOf = (config: any, type: string, keep: (resource: any) => boolean = () => true) =>
  Object.entries((config.resource[type] ?? {}) as Record<string, any>)
    .filter(([, resource]) => keep(resource))
    .map(([name]) => `${type}.${name}`)
/** The discovery parameters that name the tier and the ALB's group (deploy service requires them). */
const TIER_PARAMETERS = ['/infra/dev/network/load-balancer-subnet-ids', '/infra/dev/eks/alb-security-group-id']
/** What the test applies: every subnet and its route table link, the ALB's group and the nodes' group, and the tier's parameters. */
const targets = (config: any) =>
  [
    ...addressesOf(config, 'aws_ssm_parameter', (parameter) => TIER_PARAMETERS.includes(parameter.name)),
    ...addressesOf(config, 'aws_subnet'),
    ...addressesOf(config, 'aws_route_table_association', (a) => !String(a.subnet_id).includes('nat-')),
    ...addressesOf(config, 'aws_security_group', (sg) => sg.name === 'acme-dev-eks-nodes' || sg.name === 'acme-dev-eks-alb'),
  ].flatMap((address) => ['-target', address])

/** The stack as environments built before the load-balancer tier have it. */
function beforeTheTier(config: any): any {
  const before = structuredClone(config)
  const resources = before.resource
  const lbSubnets = Object.keys(resources.aws_subnet).filter((name) => resources.aws_subnet[name].tags.Tier === 'lb')
  for (const name of lbSubnets) delete resources.aws_subnet[name]
  const lbTable = Object.keys(resources.aws_route_table).find((name) => resources.aws_route_table[name].tags.Name === 'acme-dev-lb')!
  delete resources.aws_route_table[lbTable]
  for (const [name, association] of Object.entries<any>(resources.aws_route_table_association)) {
    if (String(association.route_table_id).includes(lbTable)) delete resources.aws_route_table_association[name]
  }
  const albGroup = Object.keys(resources.aws_security_group).find((name) => resources.aws_security_group[name].name === 'acme-dev-eks-alb')!
  delete resources.aws_security_group[albGroup]
  for (const [name, parameter] of Object.entries<any>(resources.aws_ssm_parameter)) {
    if (TIER_PARAMETERS.includes(parameter.name)) delete resources.aws_ssm_parameter[name]
  }
  const nodes = Object.values<any>(resources.aws_security_group).find((sg) => sg.name === 'acme-dev-eks-nodes')
  nodes.ingress = nodes.ingress.filter((rule: any) => !(rule.security_groups ?? []).some((sg: string) => sg.includes(albGroup)))
  // The outputs and discovery parameters may name what was removed: not applied here anyway.
  delete before.output
  return before
}

beforeAll(async () => {
  const estateFile = writeMotoEstate(path.join(work, 'estate.yaml'), inject('motoEndpoint'), {
    // An account of its own: moto keeps every test file's resources for the whole run, and
    // provision.integration.test.ts looks for dev's 10.1.0.0/16 VPC in 111111111111.
    environments: {dev: {accountId: '242424242424', vpcCidr: VPC, sizing: 'small', omitLayers: ['cloudtrail', 'flow-logs', 'bastion', 'endpoints', 'database', 'monitoring', 'waf', 'roles']}},
  })
  Object.assign(process.env, {AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_CA_BUNDLE: inject('motoCaBundle')})
  estate = loadEstate({file: estateFile, env: {}})
  const env = findTarget(estate, 'dev')
  synthesizeEnvironment(estate, env, path.join(work, 'out'), path.join(work, 'state'))
  stackDir = path.join(work, 'out', 'stacks', stackNames(env).estate)
  current = JSON.parse(readFileSync(path.join(stackDir, 'cdk.tf.json'), 'utf8'))
  // State in the folder: the S3 backend's bucket is the bootstrap stack's, not built here.
  writeFileSync(path.join(stackDir, 'backend_override.tf.json'), JSON.stringify({terraform: {backend: {local: {path: path.join(work, 'dev.tfstate')}}}}))
  const cliConfig = writeCliConfig(work, process.env.INFRA_TF_PLUGIN_MIRROR)
  tfEnv = {...process.env, ...motoEnv(inject('motoCaBundle')), ...(cliConfig ? {TF_CLI_CONFIG_FILE: cliConfig} : {}), TF_IN_AUTOMATION: '1'}

  writeFileSync(path.join(stackDir, 'cdk.tf.json'), JSON.stringify(beforeTheTier(current)))
  await terraform(['init', '-input=false'])
  await terraform(['apply', '-input=false', '-auto-approve', ...targets(current)])
  ec2 = await createClient(EC2Client, {estate, target: env, purpose: 'test'})
  beforeUpgrade = await resolveDiscoveredValues(estate, env, {}).catch((error) => error)
  writeFileSync(path.join(stackDir, 'cdk.tf.json'), JSON.stringify(current))
  await terraform(['plan', '-input=false', '-out=upgrade.tfplan', ...targets(current)])
  upgradePlan = JSON.parse((await terraform(['show', '-json', 'upgrade.tfplan'])).stdout)
  await terraform(['apply', '-input=false', 'upgrade.tfplan'])
  discovered = await resolveDiscoveredValues(estate, env, {})
  // The account is this file's alone: its one VPC is the one terraform made.
  const {Vpcs = []} = await ec2.send(new DescribeVpcsCommand({Filters: [{Name: 'cidr', Values: [VPC]}]}))
  expect(Vpcs).toHaveLength(1)
  vpcId = Vpcs[0].VpcId!
}, 300_000)

const actionsOf = (type: string) =>
  (upgradePlan.resource_changes as any[]).filter((change) => change.type === type).map((change) => [change.change.after?.tags?.Name ?? change.change.before?.tags?.Name ?? change.address, change.change.actions.join('+')])

describe('the load balancer\'s way to the pods, applied by terraform against moto', () => {
  it('refuses to deploy onto the environment as it was before the tier, naming the parameters and the fix', () => {
    expect(beforeUpgrade).toBeInstanceOf(InfraError)
    expect(beforeUpgrade).toMatchObject({code: 'DISCOVERY_MISSING', message: `dev has no ${TIER_PARAMETERS.join(', ')}`})
    expect((beforeUpgrade as InfraError).fix).toMatch(/^provision the environment first \(`infra provision --env dev`\)/)
  })

  it('upgrades an existing environment by adding the tier and the groups\' rules: no existing subnet or group is replaced', () => {
    const subnets = actionsOf('aws_subnet')
    expect(subnets.filter(([name]) => !String(name).includes('-lb-')).map(([, action]) => action)).toEqual(Array(7).fill('no-op'))
    expect(subnets.filter(([name]) => String(name).includes('-lb-'))).toEqual(['a', 'b', 'c'].map((zone) => [`acme-dev-lb-eu-west-1${zone}`, 'create']))
    expect(actionsOf('aws_security_group')).toEqual(expect.arrayContaining([['acme-dev-eks-nodes', 'update'], ['acme-dev-eks-alb', 'create']]))
    const changed = (upgradePlan.resource_changes as any[]).filter((change) => !['no-op', 'create'].includes(change.change.actions.join('+')))
    expect(changed.map((change) => `${change.address} ${change.change.actions.join('+')}`)).toEqual([expect.stringMatching(/^aws_security_group\.eks_node-sg_\w+ update$/)])
  })

  it('holds the load-balancer subnets at the CIDRs the pod trusts, tagged for the controller, with only the local route', async () => {
    const {Subnets = []} = await ec2.send(new DescribeSubnetsCommand({Filters: [{Name: 'vpc-id', Values: [vpcId]}, {Name: 'tag:Tier', Values: ['lb']}]}))
    const byName: Record<string, Subnet> = Object.fromEntries(Subnets.map((subnet) => [subnet.Tags!.find((tag) => tag.Key === 'Name')!.Value!, subnet]))
    const layout = layoutSubnets(VPC, 3)
    expect(Object.keys(byName).sort()).toEqual(['acme-dev-lb-eu-west-1a', 'acme-dev-lb-eu-west-1b', 'acme-dev-lb-eu-west-1c'])
    expect(Object.values(byName).map((subnet) => subnet.CidrBlock).sort()).toEqual(layout.loadBalancer)
    for (const subnet of Subnets) {
      expect(subnet.Tags).toContainEqual({Key: 'kubernetes.io/role/internal-elb', Value: '1'})
      expect(subnet.MapPublicIpOnLaunch).toBe(false)
    }
    // deploy service, reading the discovery parameters, names these subnets (in zone order) and
    // trusts, and admits, exactly their CIDRs.
    const objects = serviceObjects(estate, findTarget(estate, 'dev'), {image: 'example.com/infra@sha256:' + '0'.repeat(64), discovered})
    const ingress = objects.find((object) => object.kind === 'Ingress')!
    const byId = Object.fromEntries(Subnets.map((subnet) => [subnet.SubnetId!, subnet]))
    expect(ingress.metadata.annotations!['alb.ingress.kubernetes.io/subnets'].split(',').map((id) => byId[id]?.CidrBlock)).toEqual(layout.loadBalancer)
    const deployment = objects.find((object) => object.kind === 'Deployment') as any
    expect(deployment.spec.template.spec.containers[0].env.find((e: any) => e.name === 'INFRA_SERVICE_TRUSTED_PROXIES').value).toBe(layout.loadBalancer.join(','))
    const policy = objects.find((object) => object.kind === 'NetworkPolicy') as any
    expect(policy.spec.ingress[0].from.map((from: any) => from.ipBlock.cidr)).toEqual(layout.loadBalancer)
    // Their route table: the VPC's local route and nothing else.
    const {RouteTables = []} = await ec2.send(new DescribeRouteTablesCommand({Filters: [{Name: 'association.subnet-id', Values: Subnets.map((subnet) => subnet.SubnetId!)}]}))
    expect(RouteTables).toHaveLength(1)
    expect(RouteTables[0].Routes!.map((route) => [route.DestinationCidrBlock, route.GatewayId])).toEqual([[VPC, 'local']])
  })

  it('admits the ALB\'s group, and no other source, on the pods\' port; the ALB takes the VPC on its listeners and reaches only that port', async () => {
    const {SecurityGroups = []} = await ec2.send(new DescribeSecurityGroupsCommand({Filters: [{Name: 'vpc-id', Values: [vpcId]}, {Name: 'group-name', Values: ['acme-dev-eks-nodes', 'acme-dev-eks-alb']}]}))
    const nodes = SecurityGroups.find((group) => group.GroupName === 'acme-dev-eks-nodes')!
    const alb = SecurityGroups.find((group) => group.GroupName === 'acme-dev-eks-alb')!
    expect(alb.Tags).toContainEqual({Key: 'Name', Value: 'acme-dev-eks-alb'}) // what provision's manifests name before any apply
    expect(discovered.albSecurityGroup).toBe(alb.GroupId) // what deploy service's Ingress names
    const covers = (rule: IpPermission, port: number) => rule.IpProtocol === 'tcp' && rule.FromPort! <= port && rule.ToPort! >= port
    // Sources other than the nodes' own group (nodes and control plane talk among themselves).
    const sources = (rule: IpPermission) => [
      ...(rule.UserIdGroupPairs ?? []).map((pair) => pair.GroupId).filter((id) => id !== nodes.GroupId),
      ...(rule.IpRanges ?? []).map((range) => range.CidrIp),
    ]
    expect(nodes.IpPermissions!.filter((rule) => covers(rule, 8080)).flatMap(sources)).toEqual([alb.GroupId])
    expect(alb.IpPermissions!.map((rule) => [rule.FromPort, rule.ToPort, rule.IpRanges!.map((range) => range.CidrIp)]).sort()).toEqual([
      [443, 443, [VPC]],
      [80, 80, [VPC]],
    ])
    expect(alb.IpPermissionsEgress!.map((rule) => [rule.IpProtocol, rule.FromPort, rule.ToPort, rule.IpRanges!.map((range) => range.CidrIp).sort()])).toEqual([['tcp', 8080, 8080, layoutSubnets(VPC, 3).app.sort()]])
  })

  it('plans nothing more on a second run: the inline rules that refer to each other do not drift', async () => {
    const {stdout} = await terraform(['plan', '-input=false', '-detailed-exitcode', ...targets(current)]).catch((error) => {
      throw new Error(`terraform plan wants changes or failed:\n${error.stdout}\n${error.stderr}`)
    })
    expect(stdout).toContain('No changes.')
  })
})
