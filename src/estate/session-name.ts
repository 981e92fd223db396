import os from 'node:os'

/** A role session name CloudTrail readers can trace back to a person and a command. */
export function roleSessionName(purpose: string, user = currentUser()): string {
  return `infra-${user}-${purpose}`.replace(/[^\w+=,.@-]/g, '-').slice(0, 64)
}

function currentUser(): string {
  try {
    return os.userInfo().username || 'unknown'
  } catch {
    return process.env.USER ?? 'unknown'
  }
}
