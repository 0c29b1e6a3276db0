// Builds the API against real dependencies for one test: its own database with the fixture, its own
// Redis key prefix and queue, log lines captured in memory; everything is closed and removed at teardown.
import { createHmac } from 'node:crypto'
import type { Redis } from 'ioredis'
import { Queue } from 'bullmq'
import { apiConfigSchema, loadConfig, type ApiConfig } from '@school/config'
import { createPrismaClient, type PrismaClient } from '@school/db'
import { CONNECTION_REVOCATIONS_QUEUE, queuePrefix, SCHOOL_EVENTS_QUEUE, type ConnectionRevocationJob, type SchoolEventJob } from '@school/events'
import {
  createFixture,
  createTestDatabase,
  deleteRedisKeys,
  TEST_REDIS_URL,
  uniqueRedisPrefix,
  type Fixture,
  type FixtureUser,
} from '@school/test-support'
import { buildApp, type App } from '../src/app.js'

export interface Teardown {
  teardown(fn: () => unknown): void
}

export interface TestApp {
  app: App
  prisma: PrismaClient
  queue: Queue<SchoolEventJob>
  /** The connection-revocations queue the app notifies; nothing consumes it here, so tests read its jobs. */
  revocations: Queue<ConnectionRevocationJob>
  config: ApiConfig
  fixture: Fixture
  redisPrefix: string
  /** Every log line the app wrote, parsed. */
  logs: Array<Record<string, unknown>>
  /** A valid access token for a user, signed by the app. */
  tokenFor(user: Pick<FixtureUser, 'id' | 'email'>): string
  /** `Authorization` header for a user. */
  authFor(user: Pick<FixtureUser, 'id' | 'email'>): { authorization: string }
}

export interface TestAppOptions {
  /** Environment overrides for loadConfig. */
  env?: Record<string, string>
  /** A queue of the test's own making (e.g. one that cannot reach Redis); the helper still closes it. */
  queue?: (prefix: string) => Queue<SchoolEventJob>
  enqueueTimeoutMs?: number
  /** Shared rate-limit counters, as several API instances would share them. */
  redis?: Redis
  /** Called with the app before it is made ready, e.g. to add an onRoute hook that sees every route. */
  beforeReady?: (app: App) => void
}

export function newQueue(redisPrefix: string, redisUrl = TEST_REDIS_URL): Queue<SchoolEventJob> {
  return new Queue<SchoolEventJob>(SCHOOL_EVENTS_QUEUE, {
    connection: { url: redisUrl, enableOfflineQueue: false, maxRetriesPerRequest: 1 },
    prefix: queuePrefix(redisPrefix),
  })
}

export async function buildTestApp(t: Teardown, options: TestAppOptions = {}): Promise<TestApp> {
  const database = await createTestDatabase('api')
  const redisPrefix = uniqueRedisPrefix('api')
  const config = loadConfig(apiConfigSchema, {
    NODE_ENV: 'test',
    DATABASE_URL: database.url,
    REDIS_URL: TEST_REDIS_URL,
    REDIS_PREFIX: redisPrefix,
    PUBLIC_URL: 'http://school.test',
    ...options.env,
  })
  const prisma = createPrismaClient(database.url, { maxConnections: 4 })
  const queue = options.queue ? options.queue(redisPrefix) : newQueue(redisPrefix)
  const revocations = new Queue<ConnectionRevocationJob>(CONNECTION_REVOCATIONS_QUEUE, {
    connection: { url: TEST_REDIS_URL, enableOfflineQueue: false, maxRetriesPerRequest: 1 },
    prefix: queuePrefix(redisPrefix),
  })
  const logs: Array<Record<string, unknown>> = []
  const app = buildApp({
    config,
    prisma,
    queue,
    revocations,
    logger: { level: 'info', destination: { write: (line) => void logs.push(JSON.parse(line) as Record<string, unknown>) } },
    ...(options.enqueueTimeoutMs === undefined ? {} : { enqueueTimeoutMs: options.enqueueTimeoutMs }),
    ...(options.redis ? { redis: options.redis } : {}),
  })
  t.teardown(async () => {
    await app.close()
    await app.eventMarksSettled()
    await revocations.close()
    await queue.close()
    await prisma.$disconnect()
    await database.drop()
    await deleteRedisKeys(redisPrefix)
  })
  const fixture = await createFixture(prisma)
  options.beforeReady?.(app)
  await app.ready()
  const tokenFor = (user: Pick<FixtureUser, 'id' | 'email'>) => app.jwt.sign({ sub: String(user.id), email: user.email })
  return {
    app,
    prisma,
    queue,
    revocations,
    config,
    fixture,
    redisPrefix,
    logs,
    tokenFor,
    authFor: (user) => ({ authorization: `Bearer ${tokenFor(user)}` }),
  }
}

/** An HS256 JWT made by hand, for tokens the app would never sign (other key, past expiry, unknown kid). */
export function signJwt(claims: Record<string, unknown>, secret: string, header: Record<string, unknown> = {}): string {
  const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')
  const unsigned = `${encode({ alg: 'HS256', typ: 'JWT', ...header })}.${encode(claims)}`
  return `${unsigned}.${createHmac('sha256', secret).update(unsigned).digest('base64url')}`
}

/** Claims the app's tokens carry, valid for an hour unless overridden. */
export function claimsFor(config: ApiConfig, user: Pick<FixtureUser, 'id' | 'email'>, overrides: Record<string, unknown> = {}) {
  const now = Math.floor(Date.now() / 1000)
  return {
    sub: String(user.id),
    email: user.email,
    iss: config.JWT_ISSUER,
    aud: config.JWT_AUDIENCE,
    iat: now,
    exp: now + 3600,
    ...overrides,
  }
}

/** The school's event log, in order. */
export async function eventsOf(prisma: PrismaClient, schoolId: number) {
  return prisma.domainEvent.findMany({ where: { schoolId }, orderBy: { seq: 'asc' } })
}

/** The token inside an acceptUrl (…/invitations/{token}/accept/). */
export function tokenOf(acceptUrl: string): string {
  const match = /\/api\/accounts\/invitations\/([^/]+)\/accept\/$/.exec(new URL(acceptUrl).pathname)
  if (!match?.[1]) throw new Error(`not an acceptUrl: ${acceptUrl}`)
  return match[1]
}
