// The world a scenario runs in: a throwaway migrated database with the fixture schools and users, a private
// Redis key space, and a stack of cleanups run in reverse order whatever happens.
import { Queue } from 'bullmq'
import { DEV_JWT_SECRET } from '@school/config'
import { createPrismaClient, type PrismaClient } from '@school/db'
import { queuePrefix, SCHOOL_EVENTS_QUEUE } from '@school/events'
import {
  createFixture,
  createTestDatabase,
  deleteRedisKeys,
  TEST_REDIS_URL,
  uniqueRedisPrefix,
  type Fixture,
} from '@school/test-support'
import { signAccessToken } from './access-token.js'

export interface BenchWorld {
  databaseUrl: string
  redisUrl: string
  redisPrefix: string
  prisma: PrismaClient
  fixture: Fixture
  /** A token of school A's owner, valid for the run. */
  ownerToken: string
  /** The environment both services need. */
  serviceEnv: Record<string, string>
  /** The services' school-events queue under this world's prefix (one per world, closed with it). */
  schoolEventsQueue(): Queue
  /** Registers a cleanup; cleanups run in reverse order at close(). */
  defer(cleanup: () => unknown): void
  close(): Promise<void>
}

// Worlds not yet closed, so that an interrupted run (Ctrl-C) still drops its database and Redis keys.
const openWorlds = new Set<BenchWorld>()

export async function closeOpenWorlds(): Promise<void> {
  await Promise.all([...openWorlds].map((world) => world.close()))
}

export async function createBenchWorld(label: string): Promise<BenchWorld> {
  const cleanups: Array<() => unknown> = []
  const database = await createTestDatabase(`bench_${label}`)
  cleanups.push(() => database.drop())
  const redisPrefix = uniqueRedisPrefix(`bench-${label}`)
  cleanups.push(() => deleteRedisKeys(redisPrefix))
  const prisma = createPrismaClient(database.url, { maxConnections: 2 })
  cleanups.push(() => prisma.$disconnect())
  const fixture = await createFixture(prisma)
  let queue: Queue | undefined
  const world: BenchWorld = {
    databaseUrl: database.url,
    redisUrl: TEST_REDIS_URL,
    redisPrefix,
    prisma,
    fixture,
    ownerToken: signAccessToken(fixture.ownerA),
    serviceEnv: {
      DATABASE_URL: database.url,
      REDIS_URL: TEST_REDIS_URL,
      REDIS_PREFIX: redisPrefix,
      JWT_SECRET: DEV_JWT_SECRET,
      PUBLIC_URL: 'http://127.0.0.1:8000',
      // Benchmarks measure throughput, not the per-school hourly invitation quota.
      INVITATIONS_PER_SCHOOL_PER_HOUR: '100000',
      // Nor the connection limits: their fleets are thousands of connections of one user from loopback.
      MAX_CONNECTIONS_PER_USER: '1000000',
      MAX_CONNECTIONS_PER_IP: '1000000',
      HANDSHAKES_PER_IP_PER_MINUTE: '10000000',
    },
    schoolEventsQueue() {
      if (!queue) {
        const opened = new Queue(SCHOOL_EVENTS_QUEUE, { connection: { url: TEST_REDIS_URL }, prefix: queuePrefix(redisPrefix) })
        cleanups.push(() => opened.close())
        queue = opened
      }
      return queue
    },
    defer: (cleanup) => cleanups.push(cleanup),
    async close() {
      openWorlds.delete(world)
      for (const cleanup of cleanups.reverse()) {
        try {
          await cleanup()
        } catch (error) {
          console.error('[bench] cleanup failed:', error)
        }
      }
    },
  }
  openWorlds.add(world)
  return world
}
