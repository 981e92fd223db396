import {InfraError} from '../errors.js'

/**
 * Every action the rendered workflows use, pinned to a full commit SHA: a tag can be moved to
 * another commit by whoever controls the action's repository (in March 2026 trivy-action's tags were
 * force-pushed to malicious commits, GHSA-69fq-xp46-6x23); a commit cannot. The version is the tag
 * that pointed at the commit when it was pinned, read from the action's repository (`git rev-parse
 * TAG^{commit}`), and is written next to the SHA for people and for Dependabot, which updates
 * `@SHA # vX.Y.Z` pins together. To upgrade: change a line here, and rerun `infra init ci`.
 */
export const ACTION_PINS: Record<string, {sha: string; version: string}> = {
  'actions/checkout': {sha: '3d3c42e5aac5ba805825da76410c181273ba90b1', version: 'v7.0.1'},
  'actions/setup-node': {sha: '820762786026740c76f36085b0efc47a31fe5020', version: 'v7.0.0'},
  'actions/cache': {sha: '27d5ce7f107fe9357f9df03efb73ab90386fccae', version: 'v5.0.5'},
  'actions/upload-artifact': {sha: 'bbbca2ddaa5d8feaa63e36b76fdaad77386f024f', version: 'v7.0.0'},
  'hashicorp/setup-terraform': {sha: 'dfe3c3f87815947d99a8997f908cb6525fc44e9e', version: 'v4.0.1'},
  'aws-actions/configure-aws-credentials': {sha: 'e6de054238d6b7531b4efff3b6587d9aade6a06c', version: 'v6.2.3'},
  'github/codeql-action': {sha: '8aad20d150bbac5944a9f9d289da16a4b0d87c1e', version: 'v4.36.2'},
  // 0.35.0: the release published after the incident above.
  'aquasecurity/trivy-action': {sha: '57a97c7e7821a5776cebc9bb87c984fa69cba8f1', version: 'v0.35.0'},
}

/** `uses: owner/repo[/path]@pinned` in a template: the action at the commit of the table above. */
const PINNED_USE = /^(\s*(?:- )?uses: )([A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+)((?:\/[A-Za-z0-9_.-]+)*)@pinned\s*$/

export function pinActions(workflow: string): string {
  return workflow
    .split('\n')
    .map((line) => {
      const match = PINNED_USE.exec(line)
      if (!match) {
        if (/^\s*(?:- )?uses: /.test(line)) throw new InfraError(`the workflow template uses an action that is not pinned: ${line.trim()}`, 'write it as owner/name@pinned and add it to ACTION_PINS', 'TEMPLATE_UNPINNED')
        return line
      }
      const [, prefix, repository, subPath] = match
      const pin = ACTION_PINS[repository]
      if (!pin) throw new InfraError(`the workflow template uses ${repository}, which has no pin`, 'add its commit and version to ACTION_PINS in src/delivery/pins.ts', 'TEMPLATE_UNPINNED')
      return `${prefix}${repository}${subPath}@${pin.sha} # ${pin.version}`
    })
    .join('\n')
}
