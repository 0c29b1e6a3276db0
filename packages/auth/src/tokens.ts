// Access tokens: HS256 JWTs with pinned algorithm, issuer and audience. The API signs them through
// @fastify/jwt with jwtOptions(); the realtime service verifies them with the same options.
import { createVerifier } from 'fast-jwt'

export interface JwtSettings {
  JWT_SECRET: string
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

/** Options in the shape @fastify/jwt takes; its sign/verify options are fast-jwt's. */
export function jwtOptions(settings: JwtSettings, ttlSeconds = 3600) {
  return {
    secret: settings.JWT_SECRET,
    sign: { algorithm: 'HS256' as const, iss: settings.JWT_ISSUER, aud: settings.JWT_AUDIENCE, expiresIn: ttlSeconds * 1000 },
    verify: {
      algorithms: ['HS256' as const],
      allowedIss: settings.JWT_ISSUER,
      allowedAud: settings.JWT_AUDIENCE,
      requiredClaims: ['sub', 'exp'],
    },
  }
}

export type TokenVerifier = (token: string) => { userId: number; claims: AccessTokenClaims } | null

/** A verifier for services that do not run @fastify/jwt; returns null for any token it does not accept. */
export function createTokenVerifier(settings: JwtSettings): TokenVerifier {
  const { secret, verify } = jwtOptions(settings)
  const verifier = createVerifier({ key: secret, ...verify, cache: 1000 })
  return (token) => {
    try {
      const claims = verifier(token) as AccessTokenClaims
      const userId = Number(claims.sub)
      if (!Number.isSafeInteger(userId) || userId <= 0) return null
      return { userId, claims }
    } catch {
      return null
    }
  }
}
