// Who is asking, and may they administer this school. `authenticate` (onRequest) checks the bearer
// token; `requireSchoolAdmin` (preHandler) checks the membership, and that the token's session is still
// live, in the database on every request. A route whose write can check the same in its own statement
// (sending an invitation) uses `schoolAdminInStatement` instead, saving the round trip: the preHandler then
// only looks at the database when the input is invalid, to keep the order of answers.
// Order of answers: 401 (token), then 400 (path id), then 404/403 (school), then 400 (body, query).
import fastifyJwt, { type VerifyOptions } from '@fastify/jwt'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { jwtOptions, resolveSchoolAccess, tokenSubject, type AccessTokenClaims } from '@school/auth'
import { accessTokenTtlSeconds, type ApiConfig } from '@school/config'
import type { PrismaClient } from '@school/db'
import type { Role } from '@school/events'
import { schoolAccessRefusal, Unauthorized } from '../http-errors.js'
import { bearerToken, VerifiedTokens } from './verified-tokens.js'

/** The caller of a school-admin route, as requireSchoolAdmin found them. */
export interface SchoolAdmin {
  schoolId: number
  role: Role
  user: { id: number; email: string | null; name: string }
}

type Hook = (request: FastifyRequest, reply: FastifyReply) => Promise<void>

/** Route options of every school-admin route; spread them into the route. */
export interface SchoolAdminRouteOptions {
  onRequest: Hook
  preHandler: Hook
  /** Validation errors wait for requireSchoolAdmin, which reports them in the order above. */
  attachValidation: true
}

/** The caller of a route whose own statement checks their access (schoolAdminInStatement). */
export interface SchoolCaller {
  schoolId: number
  userId: number
  sessionId: string | undefined
}

declare module 'fastify' {
  interface FastifyInstance {
    authenticate: Hook
    requireSchoolAdmin: Hook
    schoolAdminOnly: SchoolAdminRouteOptions
    schoolAdminInStatement: SchoolAdminRouteOptions
  }
  interface FastifyRequest {
    /** The user id of the verified token; set by `authenticate`. */
    userId: number
    /** The session of the verified token (its `sid`); undefined for a token tied to no session. */
    sessionId: string | undefined
    /** Set by `requireSchoolAdmin`. */
    schoolAdmin: SchoolAdmin | null
  }
}

declare module '@fastify/jwt' {
  interface FastifyJWT {
    payload: { sub: string; email: string; sid?: string }
    user: AccessTokenClaims
  }
}

const TOKEN_ERRORS: Record<string, string> = {
  FST_JWT_NO_AUTHORIZATION_IN_HEADER: 'An access token is required: send Authorization: Bearer <token>',
  FST_JWT_BAD_REQUEST: 'Send the access token as Authorization: Bearer <token>',
  FST_JWT_AUTHORIZATION_TOKEN_EXPIRED: 'The access token has expired',
}

/** The school admin of a request that went through requireSchoolAdmin. */
export function schoolAdminOf(request: FastifyRequest): SchoolAdmin {
  if (!request.schoolAdmin) throw new Error(`${request.method} ${request.routeOptions.url} does not use requireSchoolAdmin`)
  return request.schoolAdmin
}

/** The caller of a request on a schoolAdminInStatement route; the route's statement checks their access. */
export function schoolCallerOf(request: FastifyRequest): SchoolCaller {
  return { schoolId: (request.params as { id: number }).id, userId: request.userId, sessionId: request.sessionId }
}


export interface AuthPluginOptions {
  config: ApiConfig
  prisma: PrismaClient
}

async function authPlugin(app: FastifyInstance, { config, prisma }: AuthPluginOptions): Promise<void> {
  const ttlSeconds = accessTokenTtlSeconds(config)
  const { secret, sign, verify } = jwtOptions(config, ttlSeconds)
  await app.register(fastifyJwt, {
    secret,
    // jwtOptions gives expiresIn in milliseconds (fast-jwt's unit), but @fastify/jwt reads a number as
    // seconds and multiplies it by 1000: tokens would live 1000 times too long. Pass the seconds.
    sign: { ...sign, expiresIn: ttlSeconds },
    // The key is a function of the token's kid. @fastify/jwt passes verify options to fast-jwt, which takes
    // a key function (as @fastify/jwt's README says); its type declarations only name a string or Buffer.
    verify: verify as unknown as Partial<VerifyOptions>,
  })
  app.decorateRequest('userId', 0)
  app.decorateRequest('sessionId', undefined)
  app.decorateRequest('schoolAdmin', null)

  // Verifying a token (decoding, HMAC, claims) again on each request of a session costs CPU on every
  // request: a session's later requests take its verification from memory, never past its `exp`. Whether
  // the user and session may act is still read from the database on every request, so nothing revoked stays
  // usable.
  const verifiedTokens = new VerifiedTokens()

  const authenticate: Hook = async (request) => {
    const token = bearerToken(request.headers.authorization)
    let verified = token === null ? undefined : verifiedTokens.get(token)
    if (verified === undefined) {
      let claims: AccessTokenClaims
      try {
        claims = await request.jwtVerify<AccessTokenClaims>()
      } catch (error) {
        throw new Unauthorized(TOKEN_ERRORS[(error as { code?: string }).code ?? ''] ?? 'The access token is invalid')
      }
      const subject = tokenSubject(claims)
      if (subject === null) throw new Unauthorized('The access token is invalid')
      verified = { claims, ...subject }
      if (token !== null) verifiedTokens.remember(token, verified)
    } else {
      request.user = verified.claims
    }
    request.userId = verified.userId
    request.sessionId = verified.sessionId
  }

  const requireSchoolAdmin: Hook = async (request) => {
    const invalid = request.validationError
    if (invalid && (invalid as { validationContext?: string }).validationContext === 'params') throw invalid
    const schoolId = (request.params as { id: number }).id
    const access = await resolveSchoolAccess(prisma, request.userId, schoolId, request.sessionId)
    if (access.kind !== 'admin') throw schoolAccessRefusal(access.kind)
    request.schoolAdmin = { schoolId, role: access.role, user: access.user }
    if (invalid) throw invalid
  }

  // Valid input goes on to the route, whose statement checks the access; invalid input is answered in
  // the usual order, which needs the access first.
  const requireSchoolAdminUnlessValid: Hook = async (request, reply) => {
    if (request.validationError) await requireSchoolAdmin(request, reply)
  }

  app.decorate('authenticate', authenticate)
  app.decorate('requireSchoolAdmin', requireSchoolAdmin)
  app.decorate('schoolAdminOnly', { onRequest: authenticate, preHandler: requireSchoolAdmin, attachValidation: true })
  app.decorate('schoolAdminInStatement', { onRequest: authenticate, preHandler: requireSchoolAdminUnlessValid, attachValidation: true })

  // attachValidation without one of the two would let invalid input reach a handler unchecked.
  app.addHook('onRoute', (route) => {
    const preHandlers = [route.preHandler ?? []].flat()
    if (route.attachValidation && !preHandlers.includes(requireSchoolAdmin) && !preHandlers.includes(requireSchoolAdminUnlessValid)) {
      throw new Error(`${String(route.method)} ${route.url}: attachValidation is only for routes using requireSchoolAdmin`)
    }
  })
}

export default fp(authPlugin, { name: 'auth', fastify: '5.x', dependencies: ['errors'] })
