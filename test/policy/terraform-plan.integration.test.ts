import {execFile} from 'node:child_process'
import {cpSync, mkdtempSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {promisify} from 'node:util'

import {beforeAll, describe, expect, inject, it} from 'vitest'

import {type AuditReport, runAudit} from '../../src/policy/engine.js'
import {resourcesFromJson} from '../../src/policy/resources.js'
import {configurationInput} from '../../src/policy/terraform-config.js'
import {findTerraformBinary, writeCliConfig} from '../../src/terraform/binary.js'
import {motoEnv} from '../support/moto-estate.js'

const run = promisify(execFile)

/**
 * The judge of "reads Terraform as terraform does" is terraform: test/policy/terraform/estate (a
 * tfvars file, locals, for_each and count, a dynamic block, jsonencode, a local module, a bucket
 * linked to its versioning by name, Aurora, DocumentDB and Neptune clusters with their instances in
 * a local module) is planned by terraform 1.11 with the AWS provider 5.100
 * against moto, `terraform show -json` renders the plan, and the audit of that plan must give the
 * same verdicts, resource by resource, as the audit of the folder itself.
 */
const work = mkdtempSync(path.join(os.tmpdir(), 'infra-tf-audit-'))
const folder = path.join(work, 'estate')
let plan: unknown

beforeAll(async () => {
  cpSync(path.join(import.meta.dirname, 'terraform', 'estate'), folder, {recursive: true})
  const cliConfig = writeCliConfig(work, process.env.INFRA_TF_PLUGIN_MIRROR)
  const env = {
    ...process.env,
    ...motoEnv(inject('motoCaBundle'), {AWS_ENDPOINT_URL: inject('motoEndpoint'), AWS_REGION: 'eu-west-1'}),
    ...(cliConfig ? {TF_CLI_CONFIG_FILE: cliConfig} : {}),
    TF_IN_AUTOMATION: '1',
  }
  const terraform = findTerraformBinary()
  const options = {cwd: folder, env, maxBuffer: 64 * 1024 * 1024}
  await run(terraform, ['init', '-input=false', '-no-color'], options)
  await run(terraform, ['plan', '-input=false', '-no-color', '-out=tfplan'], options)
  plan = JSON.parse((await run(terraform, ['show', '-json', 'tfplan'], options)).stdout)
}, 240_000)

const verdicts = (report: AuditReport) => report.findings.map((finding) => `${finding.address} ${finding.rule}`).sort()

describe('audit stacks --file on a folder of HCL agrees with the audit of terraform\'s own plan', () => {
  it('examines the same resource instances, with the same findings on each', async () => {
    const fromPlan = resourcesFromJson(plan, 'plan.json')
    const fromFolder = await configurationInput(folder)
    expect(fromFolder.notEvaluated).toEqual([])
    expect(fromFolder.resources.map((r) => r.address).sort()).toEqual(fromPlan.resources.map((r) => r.address).sort())
    const folderReport = runAudit(fromFolder)
    // With the folder as --configuration, what the plan leaves unknown comes from the evaluated configuration.
    const planReport = runAudit(resourcesFromJson(plan, 'plan.json', fromFolder.resources))
    expect(verdicts(folderReport)).toEqual(verdicts(planReport))
    // The plan alone holds a policy with an ARN as "known after apply": that one verdict needs the configuration.
    const unknownUntilApply = 'aws_iam_role_policy.bucket_admin INFRA_IAM_NO_ADMIN_WILDCARD'
    expect(verdicts(runAudit(fromPlan))).toEqual(verdicts(folderReport).filter((verdict) => verdict !== unknownUntilApply))
    // What the folder holds, so agreement is not two empty lists: every feature shows in a verdict.
    expect(verdicts(folderReport)).toEqual(expect.arrayContaining([
      'aws_security_group.web INFRA_SG_NO_SSH', // a dynamic block over a variable's default
      'aws_iam_policy.access[0] INFRA_IAM_NO_ADMIN_WILDCARD', // jsonencode with a count-dependent Action on a named resource
      'aws_s3_bucket.data["scratch"] INFRA_S3_VERSIONED', // for_each instances, versioning filtered by a for expression
      'module.database.aws_rds_cluster_instance.this[1] INFRA_RDS_PRIVATE', // count inside a local module
      'module.database.aws_rds_cluster.this INFRA_RDS_BACKUPS', // a module input overriding a default
      'aws_vpc.main INFRA_DEFAULT_SG_CLOSED', // a rule resource on the VPC's default group
      'aws_secretsmanager_secret.app INFRA_SECRET_CMK', // the AWS managed key
      'aws_iam_role_policy.bucket_admin INFRA_IAM_NO_ADMIN_WILDCARD', // "*" on a bucket named by its ARN
    ]))
    expect(verdicts(folderReport)).not.toContain('aws_s3_bucket.named INFRA_S3_VERSIONED') // versioned by name
    expect(verdicts(folderReport)).not.toContain('aws_s3_bucket.data["logs"] INFRA_S3_VERSIONED')
    expect(verdicts(folderReport)).not.toContain('aws_iam_policy.access[1] INFRA_IAM_NO_ADMIN_WILDCARD')
    // terraform.tfvars set env = "dev": the names the plan holds are the ones the folder's audit computed.
    const named = (report: ReturnType<typeof resourcesFromJson>) => report.resources.find((r) => r.address === 'aws_s3_bucket.named')!.values.bucket
    expect(named(fromFolder)).toBe('acme-dev-named')
    expect(named(fromFolder)).toBe(named(fromPlan))
  })

  it('links Aurora, DocumentDB and Neptune instances to their clusters in the plan as in the folder (Multi-AZ in production)', async () => {
    const fromFolder = await configurationInput(folder)
    const asProduction = {protected: true}
    const folderVerdicts = verdicts(runAudit(fromFolder, asProduction))
    // The plan alone: instances name their cluster by an id known only after apply, taken from the plan's configuration section.
    expect(verdicts(runAudit(resourcesFromJson(plan, 'plan.json'), asProduction)).filter((verdict) => verdict.includes('INFRA_RDS_'))).toEqual(folderVerdicts.filter((verdict) => verdict.includes('INFRA_RDS_')))
    expect(folderVerdicts).toContain('module.database.aws_neptune_cluster.graph INFRA_RDS_MULTI_AZ') // two instances, one AZ
    expect(folderVerdicts).not.toContain('module.database.aws_docdb_cluster.documents INFRA_RDS_MULTI_AZ')
    expect(folderVerdicts).not.toContain('module.database.aws_rds_cluster.this INFRA_RDS_MULTI_AZ')
    expect(folderVerdicts).toContain('module.database.aws_neptune_cluster.graph INFRA_RDS_BACKUPS') // the module's retention = 3
  })

  it('follows --var as terraform -var does', async () => {
    writeFileSync(path.join(work, 'prod.tfvars'), 'admin_ports = [443]\n')
    const report = runAudit(await configurationInput(folder, {vars: ['env=prod'], varFiles: [path.join(work, 'prod.tfvars')]}))
    expect(verdicts(report)).not.toContain('aws_security_group.web INFRA_SG_NO_SSH')
    expect(verdicts(report)).toContain('aws_security_group.web INFRA_SG_NO_WORLD_INGRESS')
    // The bucket named acme-dev-named is no longer the prod bucket: versioning by name no longer links.
    expect(verdicts(report)).toContain('aws_s3_bucket.named INFRA_S3_VERSIONED')
  })
})
