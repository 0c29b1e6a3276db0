// Defences every response or sign-in gets: security headers (@fastify/helmet), CORS limited to the
// configured origins, sign-in rate limits per account and per client IP (and the same limits on refreshes
// and password changes), kept in Redis so that they hold across API instances, and the Origin check of the
// routes a browser's cookie authenticates (CSRF).
import cors from '@fastify/cors'
import helmet from '@fastify/helmet'
import rateLimit from '@fastify/rate-limit'
import type { FastifyInstance, FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify'
import fp from 'fastify-plugin'
import type { Redis } from 'ioredis'
import { allowedOrigins, type ApiConfig } from '@school/config'
import { OriginNotAllowed, RateLimited } from '../http-errors.js'
import { namedRedisLimitStore } from './rate-limit-store.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** preHandler of the sign-in route: the per-IP and the per-account limits. */
    loginLimits: preHandlerAsyncHookHandler
    /** preHandler of the refresh route: refreshes per client IP (a counter of their own, the sign-in limit). */
    refreshLimits: preHandlerAsyncHookHandler
    /** preHandler of the password change (after authentication): counted as sign-in attempts of the account and the IP. */
    passwordLimits: preHandlerAsyncHookHandler
    /**
     * onRequest hook of the routes a cookie authenticates: a browser's `Origin`, when sent, must be one of the
     * allowed origins (403 origin_not_allowed). Browsers send it on every cross-origin request and every POST.
     */
    allowedOriginOnly: preHandlerAsyncHookHandler
  }
}

export interface SecurityOptions {
  config: Pick<ApiConfig, 'PUBLIC_URL' | 'CORS_ORIGINS' | 'LOGIN_MAX_PER_ACCOUNT' | 'LOGIN_MAX_PER_IP' | 'REDIS_PREFIX'>
  /** Shared counters across instances; without it (tests) counters are per process. */
  redis?: Redis
}

const LOGIN_WINDOW_MS = 15 * 60_000

function minutes(seconds: number): string {
  const whole = Math.max(1, Math.ceil(seconds / 60))
  return whole === 1 ? '1 minute' : `${whole} minutes`
}

async function securityPlugin(app: FastifyInstance, { config, redis }: SecurityOptions): Promise<void> {
  // The dashboard page sets its own Content-Security-Policy; JSON responses need none.
  await app.register(helmet, { contentSecurityPolicy: false, crossOriginResourcePolicy: { policy: 'same-site' } })
  const origins = new Set(allowedOrigins(config.CORS_ORIGINS, config.PUBLIC_URL))
  await app.register(cors, {
    origin: (origin, callback) => callback(null, origin === undefined || origins.has(origin)),
    methods: ['GET', 'POST', 'DELETE'],
    allowedHeaders: ['authorization', 'content-type', 'x-request-id'],
    exposedHeaders: ['x-request-id', 'retry-after'],
    maxAge: 600,
  })
  await app.register(rateLimit, {
    global: false,
    // Keys `<REDIS_PREFIX>:rate-limit:<limiter key>` (rate-limit-store.ts); in process memory without Redis.
    ...(redis ? { store: namedRedisLimitStore(redis, `${config.REDIS_PREFIX}:rate-limit:`) } : {}),
    // Redis unreachable: sign-in keeps working rather than locking everyone out.
    skipOnError: true,
    errorResponseBuilder: (_request, context) => new RateLimited(context.after),
  })
  const emailOf = (body: unknown) => {
    const email = (body as { email?: unknown } | undefined)?.email
    return typeof email === 'string' ? email.trim().toLowerCase() : ''
  }
  // Two limits on one route: @fastify/rate-limit's route handlers run only once per request, so the
  // limiters are created bare and checked here in turn.
  const limits = [
    app.createRateLimit({ max: config.LOGIN_MAX_PER_IP, timeWindow: LOGIN_WINDOW_MS, keyGenerator: (request) => `login-ip:${request.ip}` }),
    app.createRateLimit({
      max: config.LOGIN_MAX_PER_ACCOUNT,
      timeWindow: LOGIN_WINDOW_MS,
      keyGenerator: (request) => `login-account:${emailOf(request.body)}`,
    }),
  ]
  const refreshLimit = app.createRateLimit({
    max: config.LOGIN_MAX_PER_IP,
    timeWindow: LOGIN_WINDOW_MS,
    keyGenerator: (request) => `refresh-ip:${request.ip}`,
  })
  // A password change proves the current password: an attempt at the account's password like a sign-in.
  const accountOfToken = (request: FastifyRequest) => {
    const email = (request.user as { email?: unknown } | undefined)?.email
    return typeof email === 'string' ? email.toLowerCase() : `user:${String((request.user as { sub?: unknown } | undefined)?.sub)}`
  }
  const passwordLimits = [
    limits[0]!,
    app.createRateLimit({ max: config.LOGIN_MAX_PER_ACCOUNT, timeWindow: LOGIN_WINDOW_MS, keyGenerator: (request) => `login-account:${accountOfToken(request)}` }),
  ]
  const enforce = async (checks: typeof limits, request: FastifyRequest, reply: FastifyReply) => {
    for (const limit of checks) {
      const result = await limit(request)
      if (result.isAllowed || !result.isExceeded) continue
      reply.header('retry-after', String(result.ttlInSeconds))
      throw new RateLimited(minutes(result.ttlInSeconds))
    }
  }
  app.decorate('loginLimits', async (request, reply) => enforce(limits, request, reply))
  app.decorate('refreshLimits', async (request, reply) => enforce([refreshLimit], request, reply))
  app.decorate('passwordLimits', async (request, reply) => enforce(passwordLimits, request, reply))
  app.decorate('allowedOriginOnly', async (request) => {
    const origin = request.headers.origin
    if (origin !== undefined && !origins.has(origin)) throw new OriginNotAllowed()
  })
}

export default fp(securityPlugin, { name: 'security', fastify: '5.x' })
