// Builds what a realtime test needs against real PostgreSQL and Redis: a migrated throwaway database
// with the shared fixture, a unique Redis prefix, realtime instances on port 0, access tokens, and a
// producer that appends events and enqueues them exactly as the API does. Everything is torn down in
// reverse order of creation when the test ends.
import { randomUUID } from 'node:crypto'
import { once } from 'node:events'
import { createServer, type Server as HttpServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Test } from 'tap'
import { Queue } from 'bullmq'
import { Redis } from 'ioredis'
import { loadConfig, realtimeConfigSchema, type RealtimeConfig } from '@school/config'
import { createPrismaClient, insertDomainEvent, invitationEventPayload, schoolEventJob, takeNextSeq, type PrismaClient, type Prisma } from '@school/db'
import { rebuildProjections } from '@school/dashboard'
import { createTokenSigner } from '@school/auth'
import {
  queuePrefix,
  SCHOOL_EVENTS_QUEUE,
  type DomainEventPayloads,
  type DomainEventType,
  type Role,
  type SchoolEventJob,
} from '@school/events'
import {
  createFixture,
  createTestDatabase,
  deleteRedisKeys,
  TEST_REDIS_URL,
  uniqueRedisPrefix,
  type Fixture,
  type FixtureUser,
} from '@school/test-support'
import { createRealtime, type Realtime } from '../src/app.js'
import { handleHttpRequest } from '../src/http-handler.js'
import { createLogger } from '../src/logger.js'
import { createRealtimeRedis, type RealtimeRedis } from '../src/redis-connections.js'
import { startConnectionRevocationsWorker, type ConnectionRevocationsWorker } from '../src/worker/connection-revocations-worker.js'
import { startSchoolEventsWorker, type SchoolEventsWorker } from '../src/worker/school-events-worker.js'

export interface Instance {
  /** http://127.0.0.1:{port} */
  url: string
  httpServer: HttpServer
  realtime: Realtime
  redis: RealtimeRedis
  worker: SchoolEventsWorker | null
  /** The consumer of connection-revocations, on instances started with a worker. */
  revocations: ConnectionRevocationsWorker | null
  /** Closes this instance now (idempotent); otherwise teardown does. */
  stop(): Promise<void>
}

export interface ProducedEvent {
  eventId: string
  seq: number
}

export interface World {
  config: RealtimeConfig
  prisma: PrismaClient
  fixture: Fixture
  prefix: string
  queue: Queue<SchoolEventJob>
  /** Registers a cleanup step; steps run last-registered first. */
  defer(step: () => unknown): void
  startInstance(options?: { worker?: boolean; heartbeatIntervalMs?: number }): Promise<Instance>
  token(user: Pick<FixtureUser, 'id' | 'email'>, options?: { secret?: string; issuedSecondsAgo?: number; ttlSeconds?: number; sessionId?: string }): string
  /** A live session of the user, as sign-in would start it (its id is the `sid` of tokens of it). */
  startSession(user: Pick<FixtureUser, 'id'>): Promise<string>
  /**
   * Appends an event to the school's log, then enqueues it. `payload` may be a function that makes the
   * state change in the same transaction and returns the payload.
   */
  produceEvent<T extends DomainEventType>(
    schoolId: number,
    type: T,
    payload: DomainEventPayloads[T] | ((tx: Prisma.TransactionClient) => Promise<DomainEventPayloads[T]>),
    /** `pointerOnly`: a job without the event's content, as the outbox relay enqueues them. */
    options?: { actorId?: number | null; pointerOnly?: boolean },
  ): Promise<ProducedEvent>
  /** An invitation.created event with the invitation row inserted, as the API's POST would do. */
  inviteSomeone(schoolId: number, email: string, role?: Role): Promise<ProducedEvent>
}

/** `env` overrides the realtime configuration (e.g. a short RECONCILE_INTERVAL_MS). */
export async function createWorld(t: Test, label = 'rt', env: Record<string, string> = {}): Promise<World> {
  const steps: Array<() => unknown> = []
  const defer = (step: () => unknown) => void steps.push(step)
  t.teardown(async () => {
    while (steps.length > 0) {
      const step = steps.pop()!
      try {
        await step()
      } catch (error) {
        t.comment(`teardown step failed: ${String(error)}`)
      }
    }
  })

  const db = await createTestDatabase(label)
  defer(() => db.drop())
  const prisma = createPrismaClient(db.url, { maxConnections: 4 })
  defer(() => prisma.$disconnect())
  const fixture = await createFixture(prisma)
  // The fixture's memberships are events in the log; start from a projection that includes them, as a
  // running worker would have made it.
  await rebuildProjections(prisma)
  const prefix = uniqueRedisPrefix(label)
  defer(() => deleteRedisKeys(prefix))

  const config = loadConfig(realtimeConfigSchema, {
    NODE_ENV: 'test',
    // TEST_LOG_LEVEL=debug shows the service's logs while debugging a test.
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    DATABASE_URL: db.url,
    REDIS_URL: TEST_REDIS_URL,
    REDIS_PREFIX: prefix,
    PORT: '0',
    ...env,
  })
  const logger = createLogger(config, { pretty: false })

  const queueConnection = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 2 })
  defer(() => queueConnection.quit())
  const queue = new Queue<SchoolEventJob>(SCHOOL_EVENTS_QUEUE, { connection: queueConnection, prefix: queuePrefix(prefix) })
  defer(() => queue.close())

  const world: World = {
    config,
    prisma,
    fixture,
    prefix,
    queue,
    defer,

    async startInstance(options = {}) {
      const httpServer = createServer(handleHttpRequest)
      const redis = createRealtimeRedis(config.REDIS_URL, logger, `test-${prefix}`)
      const realtime = createRealtime(httpServer, {
        config,
        prisma,
        redis,
        logger,
        ...(options.heartbeatIntervalMs !== undefined ? { heartbeatIntervalMs: options.heartbeatIntervalMs } : {}),
      })
      const worker =
        options.worker === false
          ? null
          : startSchoolEventsWorker({
              config,
              prisma,
              broadcaster: realtime.broadcaster,
              connection: redis.worker,
              logger,
              metrics: realtime.metrics,
              onAccessLost: realtime.accessChanged,
            })
      const revocations =
        options.worker === false
          ? null
          : startConnectionRevocationsWorker({ redisPrefix: prefix, connection: redis.worker, logger, revoke: realtime.revoke })
      httpServer.listen(0, '127.0.0.1')
      await once(httpServer, 'listening')
      if (worker) await worker.worker.waitUntilReady()
      if (revocations) await revocations.worker.waitUntilReady()
      const { port } = httpServer.address() as AddressInfo
      let stopped: Promise<void> | undefined
      const stop = () =>
        (stopped ??= (async () => {
          await worker?.close()
          await revocations?.close()
          await realtime.close()
          httpServer.closeAllConnections()
          await redis.close()
        })())
      defer(stop)
      return { url: `http://127.0.0.1:${port}`, httpServer, realtime, redis, worker, revocations, stop }
    },

    token(user, options = {}) {
      const { secret: key, sessionId, ...lifetime } = options
      const sign = createTokenSigner(config, { ...lifetime, ...(key === undefined ? {} : { key }) })
      return sign({ id: user.id, email: user.email, ...(sessionId === undefined ? {} : { sessionId }) })
    },

    async startSession(user) {
      const later = new Date(Date.now() + 24 * 3600 * 1000)
      const session = await prisma.session.create({ data: { id: randomUUID(), userId: user.id, expiresAt: later, idleExpiresAt: later } })
      return session.id
    },

    async produceEvent(schoolId, type, payload, options = {}) {
      const event = await prisma.$transaction(async (tx) => {
        // The school's next seq first: its row lock orders the log while the change is made, as in the API.
        const seq = await takeNextSeq(tx, schoolId)
        if (seq === null) throw new Error(`school ${schoolId} does not exist`)
        const data = typeof payload === 'function' ? await payload(tx) : payload
        return insertDomainEvent(tx, {
          schoolId,
          seq,
          type,
          actorId: options.actorId ?? null,
          payload: data as unknown as Prisma.InputJsonObject,
        })
      })
      // The job carries the event, as the API's do; without it, as the outbox relay's.
      const job = schoolEventJob({ id: event.id, seq: event.seq, occurredAt: event.occurredAt, schoolId, type, ...(!options.pointerOnly && { content: event.content }) })
      await queue.add(job.name, job.data, job.opts)
      return { eventId: event.id, seq: event.seq }
    },

    inviteSomeone(schoolId, email, role = 'teacher') {
      const inviter = schoolId === fixture.schoolA.id ? fixture.ownerA : fixture.ownerB
      return world.produceEvent(
        schoolId,
        'invitation.created',
        async (tx) => {
          const invitation = await tx.invitation.create({
            data: {
              schoolId,
              email,
              role,
              tokenHash: randomUUID(),
              expiresAt: new Date(Date.now() + 7 * 24 * 3600 * 1000),
              invitedById: inviter.id,
            },
          })
          return invitationEventPayload(invitation)
        },
        { actorId: inviter.id },
      )
    },
  }
  return world
}
