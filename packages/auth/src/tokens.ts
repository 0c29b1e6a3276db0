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

/** Claims of an access token; `sub` is the user id as a string. */
export interface AccessTokenClaims {
  sub: string
  email: string
  iat?: number
  exp?: number
}

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

export type TokenVerifier = (token: string) => Promise<{ userId: number; claims: AccessTokenClaims } | null>

/** A verifier for services that do not run @fastify/jwt; resolves to null for any token it does not accept. */
export function createTokenVerifier(settings: JwtSettings): TokenVerifier {
  const { verify } = jwtOptions(settings)
  const verifier = createVerifier({ ...verify, cache: 1000 })
  return async (token) => {
    try {
      const claims = (await verifier(token)) as AccessTokenClaims
      const userId = Number(claims.sub)
      if (!Number.isSafeInteger(userId) || userId <= 0) return null
      return { userId, claims }
    } catch {
      return null
    }
  }
}

/** Signs access tokens exactly as the API does (key id, issuer, audience, lifetime), from the same settings. */
export function createTokenSigner(settings: JwtSettings, ttlSeconds = 3600): (user: { id: number; email: string | null }) => string {
  const { secret, sign } = jwtOptions(settings, ttlSeconds)
  const signer = createSigner({ key: secret, algorithm: sign.algorithm, kid: sign.kid, iss: sign.iss, aud: sign.aud, expiresIn: sign.expiresIn })
  return (user) => signer({ sub: String(user.id), email: user.email })
}
