// Access tokens the API has already verified, so that the requests of a session after its first skip the
// token's decoding, hashing and signature check. Keyed by the exact token text: a hit is a token whose
// signature, issuer, audience and claims were checked before, and it is taken only until its `exp`, and
// never for longer than REVERIFY_AFTER_MS since that check (a retired key stops being accepted from memory
// within that time). Whether its user and session may still act is read from the database per request, as
// for a token verified now.
import { LRUCache } from 'lru-cache'
import type { VerifiedToken } from '@school/auth'

/** How long a verification is trusted from memory at most: fast-jwt's own cache default, kept. */
export const REVERIFY_AFTER_MS = 10 * 60 * 1000

/** Tokens remembered at most: a few megabytes. Past it the least recent is verified again when it returns. */
export const MAX_TOKENS = 10_000

interface Entry extends VerifiedToken {
  /** Epoch ms after which the entry is not used: the earlier of `exp` and REVERIFY_AFTER_MS after the check. */
  usableUntil: number
}

/** The token of an `Authorization: Bearer <token>` header, in the one form @fastify/jwt reads the same way. */
export function bearerToken(header: string | undefined): string | null {
  return header === undefined ? null : (BEARER.exec(header)?.[1] ?? null)
}

const BEARER = /^Bearer ([^ ]+)$/i

export class VerifiedTokens {
  readonly #entries = new LRUCache<string, Entry>({ max: MAX_TOKENS })

  constructor(private readonly now: () => number = Date.now) {}

  /** The token's verified subject, if it was verified and may still be taken from memory. */
  get(token: string): VerifiedToken | undefined {
    const entry = this.#entries.get(token)
    if (entry === undefined) return undefined
    if (this.now() < entry.usableUntil) return entry
    this.#entries.delete(token)
    return undefined
  }

  /** Remembers a token that was just verified; one without `exp` is not remembered. */
  remember(token: string, verified: VerifiedToken): void {
    const { exp } = verified.claims
    if (typeof exp !== 'number') return
    const usableUntil = Math.min(exp * 1000, this.now() + REVERIFY_AFTER_MS)
    this.#entries.set(token, { claims: Object.freeze(verified.claims), userId: verified.userId, sessionId: verified.sessionId, usableUntil })
  }
}
