// Signing in and staying signed in: an email and password for a session (a short-lived access token and a
// rotating refresh token), its renewal, its end, and a password change that ends every session.
//
// Browsers get the refresh token only as the HttpOnly, SameSite=Strict cookie `sd_refresh` (path /api/auth),
// which scripts cannot read; other clients ask for it in the body at sign-in and send it back in the body.
// A token that came as a cookie is answered only with a cookie, so a script on the page can never obtain one.
import cookie from '@fastify/cookie'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyBaseLogger, FastifyReply, FastifyRequest } from 'fastify'
import { hashPassword, tokenSubject, type AccessTokenClaims } from '@school/auth'
import { accessTokenTtlSeconds } from '@school/config'
import type { ConnectionRevocationJob } from '@school/events'
import {
  revokeSessions,
  rotateRefreshToken,
  sessionIsLive,
  sessionOfRefreshToken,
  startSession,
  type IssuedRefreshToken,
  type RotationRefusal,
} from '../../domain/sessions.js'
import { checkCredentials, currentPasswordMatches, signedInUser, type SignedInUser } from '../../domain/sign-in.js'
import {
  InvalidCredentials,
  RefreshTokenExpired,
  RefreshTokenInvalid,
  RefreshTokenMissing,
  RefreshTokenReused,
  RefreshTokenRevoked,
  Unauthorized,
  WrongCurrentPassword,
} from '../../http-errors.js'
import { LoginBody, LoginResponse, LogoutBody, NoContent, PasswordBody, RefreshBody, RefreshResponse } from '../../schemas/auth.js'
import { errorResponses } from '../../schemas/common.js'
import type { RouteDeps } from '../route-deps.js'

/** The refresh token's cookie: sent by the browser to /api/auth/* only, never readable by scripts. */
export const REFRESH_COOKIE = 'sd_refresh'
export const REFRESH_COOKIE_PATH = '/api/auth'

const REFUSALS: Record<RotationRefusal, () => Error> = {
  invalid: () => new RefreshTokenInvalid(),
  expired: () => new RefreshTokenExpired(),
  revoked: () => new RefreshTokenRevoked(),
  reused: () => new RefreshTokenReused(),
}

const authRoutes: FastifyPluginAsyncTypebox<RouteDeps> = async (app, { config, prisma, revocations, metrics }) => {
  await app.register(cookie)
  const lifetimes = { idleSeconds: config.REFRESH_TOKEN_TTL_S, absoluteSeconds: config.REFRESH_TOKEN_ABSOLUTE_TTL_S }
  const ttlSeconds = accessTokenTtlSeconds(config)
  const cookieOptions = {
    path: REFRESH_COOKIE_PATH,
    httpOnly: true,
    sameSite: 'strict' as const,
    secure: new URL(config.PUBLIC_URL).protocol === 'https:',
  }

  /** An access token of the session; it never outlives the refresh token issued with it. */
  const accessToken = (user: { id: number; email: string }, issued: IssuedRefreshToken) => {
    const untilRefreshEnds = Math.floor((issued.refreshExpiresAt.getTime() - Date.now()) / 1000)
    const expiresIn = Math.max(1, Math.min(ttlSeconds, untilRefreshEnds))
    const token = app.jwt.sign({ sub: String(user.id), email: user.email, sid: issued.sessionId }, { expiresIn })
    // The expiry the token itself carries, not a second clock reading.
    const { exp } = app.jwt.decode<{ exp: number }>(token) ?? { exp: 0 }
    return { token, expiresAt: new Date(exp * 1000).toISOString() }
  }

  /** The session's refresh token, where the client takes it: the cookie, or the body. */
  const deliver = (reply: FastifyReply, issued: IssuedRefreshToken, inBody: boolean) => {
    if (inBody) return { refreshToken: issued.refreshToken, refreshExpiresAt: issued.refreshExpiresAt.toISOString() }
    reply.setCookie(REFRESH_COOKIE, issued.refreshToken, { ...cookieOptions, expires: issued.refreshExpiresAt })
    return {}
  }

  const notify = (log: FastifyBaseLogger, sessions: Array<{ id: string; userId: number }>, reason: ConnectionRevocationJob['reason']) =>
    Promise.all(sessions.map((session) => revocations.notify({ scope: { userId: session.userId, sessionId: session.id }, reason }, log)))

  /** The refresh token a request carries: in the body (non-browser clients), else in the cookie. */
  const presented = (request: FastifyRequest) => {
    const fromBody = (request.body as { refreshToken?: string } | undefined)?.refreshToken
    if (fromBody !== undefined) return { token: fromBody, inBody: true }
    const fromCookie = request.cookies[REFRESH_COOKIE]
    return fromCookie ? { token: fromCookie, inBody: false } : null
  }

  app.post(
    '/api/auth/login',
    {
      schema: {
        tags: ['auth'],
        summary: 'Sign in',
        description:
          'Exchanges an email and password for a session: a short-lived access token (a JWT, `ACCESS_TOKEN_TTL_S`) and a ' +
          'refresh token that renews it (POST /api/auth/refresh). Send the access token as `Authorization: Bearer <token>` to ' +
          'the school routes and to the realtime service. Browsers get the refresh token as the HttpOnly cookie `sd_refresh`; ' +
          'other clients ask for it in the body with `refreshTokenInBody: true`. Lists the schools the user belongs to.',
        body: LoginBody,
        response: { 200: LoginResponse, ...errorResponses },
      },
      onRequest: app.allowedOriginOnly,
      // After the body is parsed, so the per-account limit sees the email.
      preHandler: app.loginLimits,
    },
    async (request, reply) => {
      const user = await checkCredentials(prisma, request.body.email, request.body.password)
      if (!user) throw new InvalidCredentials()
      const issued = await startSession(prisma, user.id, lifetimes)
      return { ...accessToken(user, issued), ...deliver(reply, issued, request.body.refreshTokenInBody === true), user }
    },
  )

  app.post(
    '/api/auth/refresh',
    {
      schema: {
        tags: ['auth'],
        summary: 'Renew the access token',
        description:
          'Exchanges the refresh token (the `sd_refresh` cookie, or `{refreshToken}` in the body) for a new access token of the ' +
          'same session and a new refresh token, delivered the way the old one came; the old one stops working. Presenting a ' +
          'refresh token that was already exchanged ends the session everywhere (`refresh_token_reused`): someone else has it. ' +
          'Other refusals: `refresh_token_missing`, `refresh_token_invalid`, `refresh_token_expired`, `refresh_token_revoked` ' +
          "(all 401), `origin_not_allowed` (403, a browser on another site). Counted under the sign-in limit of the client's address.",
        body: RefreshBody,
        response: { 200: RefreshResponse, ...errorResponses },
      },
      onRequest: app.allowedOriginOnly,
      preHandler: app.refreshLimits,
    },
    async (request, reply) => {
      const sent = presented(request)
      if (!sent) {
        metrics.refreshes.inc({ outcome: 'missing' })
        throw new RefreshTokenMissing()
      }
      const rotation = await rotateRefreshToken(prisma, sent.token, lifetimes)
      if (!rotation.ok) {
        metrics.refreshes.inc({ outcome: rotation.reason })
        if (rotation.reason === 'reused' && rotation.session) {
          request.log.warn({ sessionId: rotation.session.id, userId: rotation.session.userId }, 'refresh token reused: session revoked')
          await notify(request.log, [rotation.session], 'refresh_token_reused')
        }
        // A cookie that no longer works is of no use to the browser.
        if (!sent.inBody) reply.clearCookie(REFRESH_COOKIE, cookieOptions)
        throw REFUSALS[rotation.reason]()
      }
      const user: SignedInUser | null = await signedInUser(prisma, rotation.userId)
      if (!user) throw new RefreshTokenInvalid()
      metrics.refreshes.inc({ outcome: 'rotated' })
      return { ...accessToken(user, rotation), ...deliver(reply, rotation, sent.inBody), user }
    },
  )

  app.post(
    '/api/auth/logout',
    {
      schema: {
        tags: ['auth'],
        summary: 'Sign out',
        description:
          'Ends the session of the refresh token (cookie or body) or of the access token (`Authorization: Bearer`): its refresh ' +
          'tokens stop working, its access tokens are refused, and its dashboard connections are closed on every realtime ' +
          'instance within a second (close 4001 `session_revoked`). Answers 204 whether or not the session was still live, and ' +
          'clears the cookie. `401 unauthorized` when neither token is sent, or the access token is not valid.',
        body: LogoutBody,
        response: { 204: NoContent, ...errorResponses },
      },
      onRequest: app.allowedOriginOnly,
    },
    async (request, reply) => {
      const sessionIds = new Map<string, number>()
      const sent = presented(request)
      if (sent) {
        const session = await sessionOfRefreshToken(prisma, sent.token)
        if (session) sessionIds.set(session.id, session.userId)
      }
      if (request.headers.authorization !== undefined) {
        let claims: AccessTokenClaims
        try {
          claims = await request.jwtVerify<AccessTokenClaims>()
        } catch {
          throw new Unauthorized('The access token is invalid')
        }
        const subject = tokenSubject(claims)
        if (subject?.sessionId !== undefined) sessionIds.set(subject.sessionId, subject.userId)
      } else if (!sent) {
        throw new Unauthorized('Send the refresh token (the sd_refresh cookie or the body) or the access token of the session to end')
      }
      const ended = []
      for (const sessionId of sessionIds.keys()) ended.push(...(await revokeSessions(prisma, { sessionId }, 'logout')))
      await notify(request.log, ended, 'logout')
      if (ended.length > 0) request.log.info({ sessions: ended.map((session) => session.id) }, 'signed out')
      reply.clearCookie(REFRESH_COOKIE, cookieOptions)
      return reply.status(204).send(null)
    },
  )

  app.post(
    '/api/auth/password',
    {
      schema: {
        tags: ['auth'],
        summary: 'Change the password',
        description:
          'Sets a new password (8 to 128 characters) after checking the current one, and ends every session of the user, this ' +
          'one included: all their refresh tokens stop working and all their dashboard connections are closed on every realtime ' +
          'instance within a second. Sign in again with the new password. `403 wrong_current_password`; counted as a sign-in ' +
          'attempt of the account and the address.',
        body: PasswordBody,
        response: { 204: NoContent, ...errorResponses },
      },
      onRequest: [app.allowedOriginOnly, app.authenticate],
      preHandler: app.passwordLimits,
    },
    async (request, reply) => {
      const { userId, sessionId } = request
      if (sessionId !== undefined && !(await sessionIsLive(prisma, sessionId, userId))) {
        throw new Unauthorized('The session of this access token has ended; sign in again')
      }
      if (!(await currentPasswordMatches(prisma, userId, request.body.currentPassword))) throw new WrongCurrentPassword()
      const passwordHash = await hashPassword(request.body.newPassword)
      const ended = await prisma.$transaction(async (tx) => {
        await tx.user.update({ where: { id: userId }, data: { passwordHash } })
        return revokeSessions(tx, { userId }, 'password_changed')
      })
      request.log.info({ userId, sessions: ended.length }, 'password changed; every session ended')
      await revocations.notify({ scope: { userId }, reason: 'password_changed' }, request.log)
      reply.clearCookie(REFRESH_COOKIE, cookieOptions)
      return reply.status(204).send(null)
    },
  )
}

export default authRoutes
