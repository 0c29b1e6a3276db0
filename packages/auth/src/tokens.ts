// Access tokens: HS256 JWTs with pinned algorithm, issuer and audience, signed with the first key of the
// configured set and a `kid` header naming it; verified with the key their `kid` names (a token without
// one: the signing key), so keys can be rotated without signing everyone out. The API signs and verifies
// through @fastify/jwt with jwtOptions(); the realtime service verifies with the same options, and tests,
// tools and the bench sign with createTokenSigner().
import { createSigner, createVerifier } from 'fast-jwt'
import { jwtKeys, type JwtKey, type JwtKeySettings } from '@school/config'

export interface JwtSettings extends JwtKeySettings {
  JWT_ISSUER: string
  JWT_AUDIENCE: string
}

/** Claims of an access token; `sub` is the user id as a string, `sid` the session it was issued in. */
export interface AccessTokenClaims {
  sub: string
  email: string
  /**
   * The session (refresh-token family) the token belongs to. Every token the API issues has one; tokens
   * signed without one (tools, tests, the bench) are tied to no session and end only at `exp`.
   */
  sid?: string
  iat?: number
  exp?: number
}

const SESSION_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

/** fast-jwt's key callback: the secret of the key the token's header names; an unknown `kid` is refused. */
function keyByKid(keys: readonly JwtKey[]): (token: { header: { kid?: unknown } }) => Promise<string> {
  const secrets = new Map(keys.map((key) => [key.kid, key.secret]))
  const signing = keys[0]!.secret
  return async ({ header }) => {
    if (header.kid === undefined) return signing
    const secret = typeof header.kid === 'string' ? secrets.get(header.kid) : undefined
    if (secret === undefined) throw new Error('The token names a key that is not accepted')
    return secret
  }
}

/** Options in the shape @fastify/jwt takes; its sign/verify options are fast-jwt's. */
export function jwtOptions(settings: JwtSettings, ttlSeconds = 3600) {
  const keys = jwtKeys(settings)
  const signing = keys[0]!
  return {
    secret: signing.secret,
    sign: {
      algorithm: 'HS256' as const,
      kid: signing.kid,
      iss: settings.JWT_ISSUER,
      aud: settings.JWT_AUDIENCE,
      expiresIn: ttlSeconds * 1000,
    },
    verify: {
      algorithms: ['HS256' as const],
      allowedIss: settings.JWT_ISSUER,
      allowedAud: settings.JWT_AUDIENCE,
      requiredClaims: ['sub', 'exp'],
      // fast-jwt also refuses a token before its `nbf` (no clock tolerance).
      key: keyByKid(keys),
    },
  }
}

export interface VerifiedToken {
  userId: number
  /** The `sid` claim; undefined for a token tied to no session. */
  sessionId: string | undefined
  claims: AccessTokenClaims
}

export type TokenVerifier = (token: string) => Promise<VerifiedToken | null>

/** Why a token was not accepted: `expired` (otherwise valid, past its `exp`) or `invalid` (anything else). */
export type TokenCheck = ({ ok: true } & VerifiedToken) | { ok: false; reason: 'invalid' | 'expired' }
export type TokenChecker = (token: string) => Promise<TokenCheck>

/** Subject and session of verified claims, or null when they are not what the API issues. */
export function tokenSubject(claims: AccessTokenClaims): { userId: number; sessionId: string | undefined } | null {
  const userId = typeof claims.sub === 'string' && /^[1-9][0-9]{0,9}$/.test(claims.sub) ? Number(claims.sub) : NaN
  if (!Number.isSafeInteger(userId) || userId > 2_147_483_647) return null
  if (claims.sid !== undefined && (typeof claims.sid !== 'string' || !SESSION_ID.test(claims.sid))) return null
  return { userId, sessionId: claims.sid }
}

/** Verifies tokens and says why one is refused (in-band renewal tells an expired token from a bad one). */
export function createTokenChecker(settings: JwtSettings): TokenChecker {
  const { verify } = jwtOptions(settings)
  // No cache: a dashboard connection verifies its token once, at the handshake (and each renewal brings a
  // new one), so a cache would only keep a thousand tokens and their claims alive on the heap.
  const verifier = createVerifier(verify)
  return async (token) => {
    let claims: AccessTokenClaims
    try {
      claims = (await verifier(token)) as AccessTokenClaims
    } catch (error) {
      return { ok: false, reason: (error as { code?: string }).code === 'FAST_JWT_EXPIRED' ? 'expired' : 'invalid' }
    }
    const subject = tokenSubject(claims)
    return subject ? { ok: true, ...subject, claims } : { ok: false, reason: 'invalid' }
  }
}

/** A verifier for services that do not run @fastify/jwt; resolves to null for any token it does not accept. */
export function createTokenVerifier(settings: JwtSettings): TokenVerifier {
  const check = createTokenChecker(settings)
  return async (token) => {
    const result = await check(token)
    return result.ok ? { userId: result.userId, sessionId: result.sessionId, claims: result.claims } : null
  }
}

/**
 * What a signer may do differently from the API, for tests of refusals and for tools: another key, issuer,
 * audience or key id (`kid: null` leaves the header out), another lifetime, or a clock in the past.
 */
export interface TokenSignerOptions {
  /** Lifetime in seconds (default 3600). Ignored for claims that carry their own `exp`. */
  ttlSeconds?: number
  key?: string
  iss?: string
  aud?: string
  kid?: string | null
  /** Sign as if it were this many seconds ago (`iat`, and `exp` from it). */
  issuedSecondsAgo?: number
}

/**
 * Signs any claims as the API signs access tokens (its current key and key id, issuer, audience, lifetime),
 * unless `options` says otherwise. Tests, tools and the bench sign through this and createTokenSigner().
 */
export function signTokenClaims(settings: JwtSettings, claims: Record<string, unknown>, options: TokenSignerOptions = {}): string {
  return claimsSigner(settings, options, claims.exp !== undefined)(claims)
}

function claimsSigner(settings: JwtSettings, options: TokenSignerOptions, explicitExp: boolean): (claims: Record<string, unknown>) => string {
  const { secret, sign } = jwtOptions(settings, options.ttlSeconds)
  const kid = options.kid === undefined ? sign.kid : options.kid
  return createSigner({
    key: options.key ?? secret,
    algorithm: sign.algorithm,
    iss: options.iss ?? sign.iss,
    aud: options.aud ?? sign.aud,
    ...(kid === null ? {} : { kid }),
    // fast-jwt lets expiresIn override an explicit exp claim: claims that set exp mean it.
    ...(explicitExp ? {} : { expiresIn: sign.expiresIn }),
    ...(options.issuedSecondsAgo === undefined ? {} : { clockTimestamp: Date.now() - options.issuedSecondsAgo * 1000 }),
  })
}

/** Signs access tokens for users exactly as the API does (key id, issuer, audience, lifetime), from the same settings. */
export function createTokenSigner(
  settings: JwtSettings,
  options: TokenSignerOptions = {},
): (user: { id: number; email: string | null; sessionId?: string }) => string {
  const signer = claimsSigner(settings, options, false)
  return (user) => signer({ sub: String(user.id), email: user.email, ...(user.sessionId === undefined ? {} : { sid: user.sessionId }) })
}
