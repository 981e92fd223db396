import {parseEstate} from '../estate/load.js'
import type {Estate} from '../estate/model.js'
import {cidrProblem, nextFreeBlock} from '../estate/pool.js'
import {setClientFields, updateEstateFile} from '../estate/writer.js'
import {InfraError} from '../errors.js'
import type {OnboardRequest} from './onboard-plan.js'

export interface Reservation {
  estate: Estate
  outcome: 'done' | 'unchanged'
  detail: string
}

/**
 * Reserves the client (a pending entry) and its CIDR. The block is checked, and when it came from
 * the pool re-chosen, against the estate as it is under the estate lock, then written in the same
 * lock: two onboardings started together read the same "next free block" before asking, and the
 * second one then takes the block after it instead of failing. request.vpcCidr is updated.
 */
export async function reserveClient(estateFile: string, request: OnboardRequest, estate: Estate): Promise<Reservation> {
  const held = estate.clients.find((client) => client.name === request.name) ?? estate.pendingClients?.find((client) => client.name === request.name)
  if (held) return keepReservation(estateFile, request, estate)
  let detail = ''
  const updated = await updateEstateFile(estateFile, (doc) => {
    const current = parseEstate(doc.toJS(), estateFile)
    const already = [...current.clients, ...(current.pendingClients ?? [])].find((client) => client.name === request.name)
    if (already) {
      detail = `${already.vpcCidr} already held by ${request.name}`
      request.vpcCidr = already.vpcCidr
      return
    }
    const chosen = request.vpcCidr
    const problem = cidrProblem(current, chosen, request.name)
    if (problem && !request.cidrFromPool) throw new InfraError(`--cidr ${problem}`, 'drop --cidr to take the next free block of the pool (see `infra env list`)', 'CIDR_UNAVAILABLE')
    request.vpcCidr = problem ? nextFreeBlock(current) : chosen
    setClientFields(doc, request.name, {status: 'pending', email: request.email, region: request.region, vpcCidr: request.vpcCidr, sizing: request.sizing})
    detail = `${request.name} pending with ${request.vpcCidr} in ${estateFile}${problem ? ` (${chosen} was taken meanwhile)` : ''}`
  })
  return {estate: updated, outcome: detail.includes('already held') ? 'unchanged' : 'done', detail}
}

/** A resumed reservation: unchanged, or a new e-mail for one whose account was never found or created. */
async function keepReservation(estateFile: string, request: OnboardRequest, estate: Estate): Promise<Reservation> {
  const pending = estate.pendingClients?.find((client) => client.name === request.name)
  if (pending && pending.email !== request.email && !pending.accountId) {
    const updated = await updateEstateFile(estateFile, (doc) => setClientFields(doc, request.name, {email: request.email}))
    return {estate: updated, outcome: 'done', detail: `${request.name} pending with ${request.vpcCidr}, e-mail now ${request.email}`}
  }
  return {estate, outcome: 'unchanged', detail: `${request.vpcCidr} already held by ${request.name}`}
}
