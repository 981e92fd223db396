import {chmodSync, mkdtempSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

/**
 * A stand-in terraform that records each call (its subcommand in `calls`, every argument in
 * `args`) and answers `show -json` with a given plan, for
 * tests about what infra does between plan and apply. Real terraform is used everywhere else.
 * With failApplyIn, `apply` fails in any working folder whose path contains that text. With
 * hangApply, `apply` prints terraform's "ADDRESS: Creating..." for the plan's first resource and
 * waits, as terraform does on a create AWS is slow to answer; SIGINT stops it as it stops
 * terraform (recorded as "SIGINT" in `calls`, exit 1).
 */
export function fakeTerraform(planJson: object, options: {failApplyIn?: string; hangApply?: boolean} = {}): {binary: string; calls: string; args: string} {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'infra-fake-tf-'))
  const calls = path.join(dir, 'calls.log')
  const args = path.join(dir, 'args.log')
  const plan = path.join(dir, 'plan.json')
  writeFileSync(plan, JSON.stringify(planJson))
  const binary = path.join(dir, 'terraform')
  writeFileSync(
    binary,
    `#!/bin/sh
echo "$1" >> ${JSON.stringify(calls)}
echo "$*" >> ${JSON.stringify(args)}
case "$1" in
  plan) for a in "$@"; do case "$a" in -out=*) : > "\${a#-out=}";; esac; done; exit 2;;
  show) cat ${JSON.stringify(plan)};;
  apply) case "$PWD" in *${JSON.stringify(options.failApplyIn ?? '/no target fails/')}*) echo "Error: fake apply failure in $PWD" >&2; exit 1;; esac
    ${options.hangApply ? `trap 'echo SIGINT >> ${JSON.stringify(calls)}; kill $! 2>/dev/null; echo "Error: context canceled" >&2; exit 1' INT
    echo "${(planJson as {resource_changes?: {address: string}[]}).resource_changes?.[0]?.address ?? 'aws_vpc.main'}: Creating..."
    sleep 600 & wait; exit 1` : ':'};;
esac
exit 0
`,
  )
  chmodSync(binary, 0o755)
  return {binary, calls, args}
}
