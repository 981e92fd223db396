import {EXIT, InfraError} from '../../errors.js'
import type {JobsClient, JobView} from '../../jobs/client.js'
import {stopController} from '../../signals.js'

/**
 * Follows a job until it ends, printing each change. Ctrl-C (or SIGTERM, SIGHUP) stops following,
 * not the job: it runs on in the service, so the error says how to follow or cancel it.
 */
export async function followJob(client: JobsClient, id: string, log: ((line: string) => void) | undefined): Promise<JobView> {
  const stop = stopController()
  try {
    const job = await client.wait(
      id,
      (update) => log?.(`${update.status.padEnd(9)} ${(update.progress * 100).toFixed(0).padStart(3)}%  attempt ${update.attempts}/${update.max_attempts}${update.error ? `  (${update.error})` : ''}`),
      500,
      stop.signal,
    )
    if (job) return job
    throw new InfraError(`stopped following job ${id}; it runs on in the service`, `follow it again: infra jobs status ${id} --wait, or stop it: infra jobs cancel ${id}`, 'INTERRUPTED', EXIT.interrupted, {jobId: id})
  } finally {
    stop.dispose()
  }
}
