import type {Estate} from '../../estate/model.js'

/** Every environment and client of the estate, as a picker lists them: name, then account and region. */
export function environmentChoices(estate: Estate): {name: string; description: string}[] {
  return [...estate.environments, ...estate.clients].map((target) => ({
    name: target.name,
    description: `${target.accountId} ${target.region}${target.protected ? ' (protected)' : ''}`,
  }))
}
