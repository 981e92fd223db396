import {createHash, randomBytes, randomUUID, timingSafeEqual} from 'node:crypto'

import {InfraError} from '../errors.js'
import {DEFAULT_SCOPES, type Job, type JobStore, SCOPES, type Scope, type Token} from './store/job-store.js'

const hashToken = (token: string) => createHash('sha256').update(token).digest('hex')

/** Creates a bearer token; only its SHA-256 is stored, the token itself is shown once. */
export async function createToken(store: JobStore, name: string, scopes: readonly Scope[] = DEFAULT_SCOPES): Promise<{token: string; id: string; name: string; scopes: Scope[]}> {
  if (!/^[\w.-]{1,64}$/.test(name)) throw new Error('token name must be 1-64 letters, digits, dots, dashes or underscores')
  const unknown = scopes.filter((scope) => !SCOPES.includes(scope))
  if (unknown.length || scopes.length === 0) throw new Error(`token scopes must be some of ${SCOPES.join(', ')}${unknown.length ? ` (not ${unknown.join(', ')})` : ''}`)
  const token = `infra_${randomBytes(32).toString('base64url')}`
  const id = randomUUID()
  const unique = [...new Set(scopes)]
  await store.addToken({id, name, hash: hashToken(token), scopes: unique, createdAt: new Date().toISOString(), revokedAt: null})
  return {token, id, name, scopes: unique}
}

/** An admin token holds every scope. */
export const hasScope = (token: Token, scope: Scope): boolean => token.scopes.includes(scope) || token.scopes.includes('admin')

/** A token sees and cancels the jobs it created; an admin token every job. */
export const mayAccess = (token: Token, job: Job): boolean => job.tokenId === token.id || token.scopes.includes('admin')

/** A well-formed bearer value: anything else is refused without a store read. */
export const wellFormed = (presented: string | undefined): presented is string => presented !== undefined && /^infra_[A-Za-z0-9_-]{43}$/.test(presented)

/** The live token a bearer value belongs to, compared in constant time. */
export async function authenticate(store: JobStore, presented: string | undefined): Promise<Token | undefined> {
  if (!wellFormed(presented)) return undefined
  const hash = hashToken(presented)
  const token = await store.tokenByHash(hash)
  if (!token || token.revokedAt) return undefined
  return timingSafeEqual(Buffer.from(token.hash, 'hex'), Buffer.from(hash, 'hex')) ? token : undefined
}

/**
 * Token checks on the request path: a verified token is trusted for `ttlMs` before it is looked up
 * again, so a revocation takes effect within that time without a database read per request.
 */
export class TokenVerifier {
  private readonly cache = new Map<string, {token: Token; checkedAt: number}>()

  constructor(
    private readonly store: JobStore,
    private readonly ttlMs = 1000,
  ) {}

  /** The token, when it was verified less than `ttlMs` ago: no store read on the hot path. */
  cached(presented: string | undefined): Token | undefined {
    const cached = presented === undefined ? undefined : this.cache.get(presented)
    return cached && Date.now() - cached.checkedAt < this.ttlMs ? cached.token : undefined
  }

  async verify(presented: string | undefined): Promise<Token | undefined> {
    if (!presented) return undefined
    const cached = this.cached(presented)
    if (cached) return cached
    const token = await authenticate(this.store, presented)
    if (token) {
      if (this.cache.size > 10_000) this.cache.clear()
      this.cache.set(presented, {token, checkedAt: Date.now()})
    } else this.cache.delete(presented)
    return token
  }
}

/** A token as shown to operators: never its hash. */
export type TokenView = Omit<Token, 'hash'>
const view = ({hash: _hash, ...rest}: Token): TokenView => rest

export async function listTokens(store: JobStore): Promise<TokenView[]> {
  return (await store.listTokens()).map(view)
}

/** Revokes by name or id; an unknown or already revoked token is an error naming the live ones. */
export async function revokeToken(store: JobStore, idOrName: string): Promise<TokenView> {
  const tokens = await store.listTokens()
  const token = tokens.find((t) => t.id === idOrName || t.name === idOrName)
  if (!token) {
    const live = tokens.filter((t) => !t.revokedAt).map((t) => t.name)
    throw new InfraError(`no token named or with id ${idOrName}`, live.length ? `live tokens: ${live.join(', ')}` : 'there are no tokens; see `infra service token list`', 'TOKEN_NOT_FOUND')
  }
  if (token.revokedAt) throw new InfraError(`token ${token.name} was already revoked at ${token.revokedAt}`, 'nothing to do; `infra service token list` shows every token', 'TOKEN_ALREADY_REVOKED')
  await store.revokeToken(token.id)
  const after = (await store.listTokens()).find((t) => t.id === token.id)!
  return view(after)
}
