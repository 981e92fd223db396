import {mkdtempSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import {AutoScalingClient, CreateAutoScalingGroupCommand, DescribeAutoScalingGroupsCommand} from '@aws-sdk/client-auto-scaling'
import {CreateLaunchTemplateCommand, CreateSubnetCommand, CreateVpcCommand, DescribeImagesCommand, EC2Client, RunInstancesCommand, StopInstancesCommand} from '@aws-sdk/client-ec2'
import {PutParameterCommand, SSMClient} from '@aws-sdk/client-ssm'
import {stringify} from 'yaml'

import {createClient} from '../../src/aws/clients.js'
import {findTarget, loadEstate} from '../../src/estate/load.js'

/** Test environments: name -> [account id, VPC CIDR]. */
export type TestEnvironments = Record<string, [string, string]>

/** An estate file whose AWS endpoint is the given URL (the session stand-in in front of moto). */
export function writeTestEstate(endpoint: string, environments: TestEnvironments): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'infra-ssm-'))
  const file = path.join(dir, 'estate.yaml')
  writeFileSync(
    file,
    stringify({
      organization: {name: 'acme', managementAccountId: '999999999999'},
      endpoint,
      environments: Object.fromEntries(Object.entries(environments).map(([name, [accountId, vpcCidr]]) => [name, {accountId, vpcCidr, sizing: 'small'}])),
    }),
  )
  return file
}

/** SDK clients acting in one test environment's account, as infra would (its role assumed). */
export async function seedClients(estateFile: string, envName: string) {
  Object.assign(process.env, {AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_EC2_METADATA_DISABLED: 'true'})
  const estate = loadEstate({file: estateFile, env: {}})
  const access = {estate, target: findTarget(estate, envName), purpose: 'test-seed'}
  const ec2 = await createClient(EC2Client, access)
  const autoScaling = await createClient(AutoScalingClient, access)
  const ssm = await createClient(SSMClient, access)
  let subnetId: string | undefined
  let imageId: string | undefined
  const subnet = async () => {
    if (subnetId) return subnetId
    const vpc = await ec2.send(new CreateVpcCommand({CidrBlock: '10.99.0.0/16'}))
    subnetId = (await ec2.send(new CreateSubnetCommand({VpcId: vpc.Vpc!.VpcId!, CidrBlock: '10.99.1.0/24'}))).Subnet!.SubnetId!
    return subnetId
  }
  const image = async () => (imageId ??= (await ec2.send(new DescribeImagesCommand({}))).Images!.find((i) => i.ImageId)!.ImageId!)
  return {
    ec2,
    autoScaling,
    ssm,
    /** A t3.micro with these tags, running or stopped; its id. */
    async instance(tags: Record<string, string>, state: 'running' | 'stopped' = 'running'): Promise<string> {
      const run = await ec2.send(
        new RunInstancesCommand({
          ImageId: await image(),
          InstanceType: 't3.micro',
          MinCount: 1,
          MaxCount: 1,
          SubnetId: await subnet(),
          TagSpecifications: [{ResourceType: 'instance', Tags: Object.entries(tags).map(([Key, Value]) => ({Key, Value}))}],
        }),
      )
      const id = run.Instances![0].InstanceId!
      if (state === 'stopped') await ec2.send(new StopInstancesCommand({InstanceIds: [id]}))
      return id
    },
    /** An Auto Scaling group of one, as the bastion stack makes it; its InService instance id. */
    async bastionGroup(name: string, envName: string): Promise<string> {
      const template = await ec2.send(
        new CreateLaunchTemplateCommand({LaunchTemplateName: name, LaunchTemplateData: {ImageId: await image(), InstanceType: 't3.micro'}}),
      )
      await autoScaling.send(
        new CreateAutoScalingGroupCommand({
          AutoScalingGroupName: name,
          MinSize: 1,
          MaxSize: 1,
          DesiredCapacity: 1,
          VPCZoneIdentifier: await subnet(),
          LaunchTemplate: {LaunchTemplateId: template.LaunchTemplate!.LaunchTemplateId!, Version: '$Latest'},
          Tags: [
            {Key: 'Role', Value: 'bastion', PropagateAtLaunch: true},
            {Key: 'Environment', Value: envName, PropagateAtLaunch: true},
          ],
        }),
      )
      await ssm.send(new PutParameterCommand({Name: `/infra/${envName}/bastion/asg-name`, Value: name, Type: 'String', Overwrite: true}))
      const group = await autoScaling.send(new DescribeAutoScalingGroupsCommand({AutoScalingGroupNames: [name]}))
      return group.AutoScalingGroups![0].Instances!.find((i) => i.LifecycleState === 'InService')!.InstanceId!
    },
    async parameter(name: string, value: string): Promise<void> {
      await ssm.send(new PutParameterCommand({Name: name, Value: value, Type: 'String', Overwrite: true}))
    },
  }
}
