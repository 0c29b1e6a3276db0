// Signing in: an email and password for an access token.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { checkCredentials } from '../../domain/sign-in.js'
import { InvalidCredentials } from '../../http-errors.js'
import { LoginBody, LoginResponse } from '../../schemas/auth.js'
import { errorResponses } from '../../schemas/common.js'
import type { RouteDeps } from '../route-deps.js'

const authRoutes: FastifyPluginAsyncTypebox<RouteDeps> = async (app, { prisma }) => {
  app.post(
    '/api/auth/login',
    {
      schema: {
        tags: ['auth'],
        summary: 'Sign in',
        description:
          'Exchanges an email and password for an access token (a JWT) and lists the schools the user belongs to. ' +
          'Send the token as `Authorization: Bearer <token>` to the school routes, and to the realtime service.',
        body: LoginBody,
        response: { 200: LoginResponse, ...errorResponses },
      },
      // After the body is parsed, so the per-account limit sees the email.
      preHandler: app.loginLimits,
    },
    async (request) => {
      const user = await checkCredentials(prisma, request.body.email, request.body.password)
      if (!user) throw new InvalidCredentials()
      const token = app.jwt.sign({ sub: String(user.id), email: user.email })
      // The expiry the token itself carries, not a second clock reading.
      const { exp } = app.jwt.decode<{ exp: number }>(token) ?? { exp: 0 }
      return { token, expiresAt: new Date(exp * 1000).toISOString(), user }
    },
  )
}

export default authRoutes
