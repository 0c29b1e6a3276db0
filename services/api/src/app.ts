// Builds the API from its dependencies, without listening: server.ts runs it, tests inject into it.
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { Queue } from 'bullmq'
import type { Redis } from 'ioredis'
import { randomUUID } from 'node:crypto'
import Fastify from 'fastify'
import { proxyTrust, type ApiConfig } from '@school/config'
import type { PrismaClient } from '@school/db'
import type { ConnectionRevocationJob, SchoolEventJob } from '@school/events'
import { registerBackgroundTasks } from './background/background-tasks.js'
import { createRevocationNotifier } from './domain/connection-revocations.js'
import { createEventPublisher } from './domain/event-publisher.js'
import { loggerOptions, OneLinePerRequest, type LogDestination } from './logging.js'
import authPlugin from './plugins/auth.js'
import dashboardPagePlugin from './plugins/dashboard-page.js'
import errorsPlugin from './plugins/errors.js'
import securityPlugin from './plugins/security.js'
import metricsPlugin, { createApiMetrics } from './plugins/metrics.js'
import openapiPlugin from './plugins/openapi.js'
import authRoutes from './routes/auth/index.js'
import classRoutes from './routes/classes/index.js'
import dashboardRoutes from './routes/dashboard/index.js'
import healthRoutes from './routes/health/index.js'
import invitationRoutes from './routes/invitations/index.js'
import memberRoutes from './routes/members/index.js'
import type { RouteDeps } from './routes/route-deps.js'
import studentRoutes from './routes/students/index.js'
import { typeboxValidatorCompiler } from './schemas/validator-compiler.js'

export interface AppDeps {
  config: ApiConfig
  prisma: PrismaClient
  /** Producer of SCHOOL_EVENTS_QUEUE with prefix queuePrefix(config.REDIS_PREFIX); its owner closes it. */
  queue: Queue<SchoolEventJob>
  /** Producer of CONNECTION_REVOCATIONS_QUEUE (same prefix): ended sessions' connections to close; its owner closes it. */
  revocations: Queue<ConnectionRevocationJob>
  /** Log somewhere other than stdout (tests read the lines), or at another level than LOG_LEVEL. */
  logger?: { destination?: LogDestination; level?: string }
  /** Longest a request waits for Redis to take an event before leaving it to the outbox relay. */
  enqueueTimeoutMs?: number
  /** Shared rate-limit counters (the process passes its Redis); per-process counters without it. */
  redis?: Redis
  /** Runs the outbox relay and the invitation expiry sweep (the process does; most tests need not). */
  backgroundTasks?: boolean
}

export const DEFAULT_ENQUEUE_TIMEOUT_MS = 2_000

export function buildApp({ config, prisma, queue, revocations, logger, redis, enqueueTimeoutMs = DEFAULT_ENQUEUE_TIMEOUT_MS, backgroundTasks = false }: AppDeps) {
  const app = Fastify({
    logger: loggerOptions(logger?.level ?? config.LOG_LEVEL, logger?.destination),
    // The correlation id: a caller's X-Request-Id when it is a sane token, else a fresh UUID. It follows
    // the request into its domain events (correlation_id), the queue and the realtime service's logs.
    requestIdHeader: false,
    genReqId: (request) => {
      const given = request.headers['x-request-id']
      return typeof given === 'string' && /^[A-Za-z0-9._:-]{1,128}$/.test(given) ? given : randomUUID()
    },
    routerOptions: { ignoreTrailingSlash: true },
    bodyLimit: config.BODY_LIMIT_BYTES,
    logController: new OneLinePerRequest(),
    // request.ip (the per-IP sign-in limit, the logs) is the peer's address unless the peer is a proxy
    // TRUST_PROXY names; then it is the client that proxy reports in X-Forwarded-For.
    trustProxy: proxyTrust(config.TRUST_PROXY),
  })
    .withTypeProvider<TypeBoxTypeProvider>()
    .setValidatorCompiler(typeboxValidatorCompiler)

  // BullMQ re-emits connection errors; unheard, an 'error' event would crash the process.
  queue.on('error', (error) => app.log.warn({ err: error }, 'school-events queue connection error'))
  revocations.on('error', (error) => app.log.warn({ err: error }, 'connection-revocations queue connection error'))

  const metrics = createApiMetrics({ prisma, queue })
  const publisher = createEventPublisher({ queue, prisma, timeoutMs: enqueueTimeoutMs, metrics })
  // The enqueue marks are written after the answers: whoever closes the database waits for the last ones.
  app.decorate('eventMarksSettled', () => publisher.settled())
  const notifier = createRevocationNotifier(revocations, () => metrics.revocationNoticeFailures.inc())
  const routeDeps: RouteDeps = { config, prisma, publisher, revocations: notifier, metrics }

  // Set by startDraining() when the process is asked to stop: /readyz turns 503 while requests are still served.
  let draining = false
  app.decorate('startDraining', () => {
    draining = true
  })

  if (backgroundTasks) registerBackgroundTasks(app, { config, prisma, queue, publisher, metrics })
  // First, so that its onRoute hook sees every route that follows.
  app.register(openapiPlugin)
  app.register(metricsPlugin, { metrics, isDraining: () => draining })
  app.register(errorsPlugin)
  app.register(securityPlugin, { config, ...(redis ? { redis } : {}) })
  app.register(authPlugin, { config, prisma })
  app.register(healthRoutes)
  app.register(authRoutes, routeDeps)
  app.register(invitationRoutes, routeDeps)
  app.register(memberRoutes, routeDeps)
  app.register(studentRoutes, routeDeps)
  app.register(classRoutes, routeDeps)
  app.register(dashboardRoutes, routeDeps)
  app.register(dashboardPagePlugin)
  return app
}

export type App = ReturnType<typeof buildApp>

declare module 'fastify' {
  interface FastifyInstance {
    /** Turns /readyz to 503 (the load balancer takes the instance out) while requests keep being served. */
    startDraining(): void
    /** Resolves once the enqueue marks written after the answers so far are in (before closing the database). */
    eventMarksSettled(): Promise<void>
  }
}
