// Several api and realtime processes against one test database and one Redis prefix, optionally behind
// the real load balancer: what the scale tests run against. Everything it starts is stopped in teardown.
import { DEV_JWT_SECRET } from '@school/config'
import { createPrismaClient, type PrismaClient } from '@school/db'
import {
  apiClient,
  createFixture,
  freePort,
  createTestDatabase,
  deleteRedisKeys,
  TEST_REDIS_URL,
  uniqueRedisPrefix,
  type Fixture,
  type FixtureUser,
} from '@school/test-support'
import { startLoadBalancer, startService, type LoadBalancer, type ServiceProcess } from '@school/test-support/system'

type Teardown = (fn: () => unknown) => void

export interface ScaledSystem {
  /** The load balancer's origin, or the first API instance when there is none. */
  origin: string
  loadBalancer: LoadBalancer | null
  apis: ServiceProcess[]
  realtimes: ServiceProcess[]
  prisma: PrismaClient
  fixture: Fixture
  redisPrefix: string
  /** The environment every instance runs with; `startRealtime` uses it for more instances. */
  env: Record<string, string>
  startRealtime(): Promise<ServiceProcess>
  request(method: string, path: string, options?: { token?: string; body?: unknown }): Promise<{ status: number; body: any }>
  login(user: FixtureUser): Promise<string>
}

/**
 * Cleanups run in reverse order of registration, each even if an earlier one failed: in the test's
 * teardown, or at once by `runNow` when starting fails half-way (a top-level failure skips teardowns).
 */
function cleanupStack(teardown: Teardown): { add: Teardown; runNow: () => Promise<void> } {
  const cleanups: Array<() => unknown> = []
  const runNow = async () => {
    for (const cleanup of cleanups.splice(0).reverse()) {
      try {
        await cleanup()
      } catch (error) {
        console.error('cleanup failed:', error)
      }
    }
  }
  teardown(runNow)
  return { add: (fn) => cleanups.push(fn), runNow }
}

export async function startScaledSystem(
  t: { teardown: Teardown },
  options: { label: string; apis: number; realtimes: number; loadBalancer: boolean; env?: Record<string, string> },
): Promise<ScaledSystem> {
  const cleanups = cleanupStack(t.teardown.bind(t))
  try {
    return await start(cleanups.add, options)
  } catch (error) {
    await cleanups.runNow()
    throw error
  }
}

async function start(
  teardown: Teardown,
  options: { label: string; apis: number; realtimes: number; loadBalancer: boolean; env?: Record<string, string> },
): Promise<ScaledSystem> {
  const database = await createTestDatabase(options.label)
  teardown(() => database.drop())
  const prisma = createPrismaClient(database.url, { maxConnections: 2 })
  teardown(() => prisma.$disconnect())
  const fixture = await createFixture(prisma)
  const redisPrefix = uniqueRedisPrefix(options.label)
  teardown(() => deleteRedisKeys(redisPrefix))

  // The balancer's port is chosen first: the API builds its links (acceptUrl) from the public origin.
  const port = options.loadBalancer ? await freePort() : 0
  const env: Record<string, string> = {
    DATABASE_URL: database.url,
    REDIS_URL: TEST_REDIS_URL,
    REDIS_PREFIX: redisPrefix,
    JWT_SECRET: DEV_JWT_SECRET,
    PUBLIC_URL: options.loadBalancer ? `http://127.0.0.1:${port}` : 'http://127.0.0.1:8000',
    // Behind haproxy an API stopping gets out of rotation before it closes, as in docker-compose.yml.
    ...(options.loadBalancer ? { SHUTDOWN_DRAIN_MS: '2500' } : {}),
    // As docker-compose does for its edge: haproxy (on loopback here) says who the client is.
    TRUST_PROXY: 'loopback',
    // Settings of the test at hand (e.g. short presence timeouts), for every instance.
    ...options.env,
  }
  const started: ServiceProcess[] = []
  teardown(() => Promise.all(started.map((service) => service.stop())))
  const startOne = async (name: 'api' | 'realtime') => {
    const service = await startService(name, env)
    started.push(service)
    return service
  }
  // allSettled: when one fails to start, the others are still registered (and stopped) before the throw.
  const settled = await Promise.allSettled([
    ...Array.from({ length: options.apis }, () => startOne('api')),
    ...Array.from({ length: options.realtimes }, () => startOne('realtime')),
  ])
  const failed = settled.find((result) => result.status === 'rejected')
  if (failed) throw failed.reason
  const services = settled.map((result) => (result as PromiseFulfilledResult<ServiceProcess>).value)
  const apis = services.slice(0, options.apis)
  const realtimes = services.slice(options.apis)

  const loadBalancer = options.loadBalancer
    ? await startLoadBalancer(teardown, { port, api: apis.map((s) => s.url), realtime: realtimes.map((s) => s.url) })
    : null
  const origin = loadBalancer?.origin ?? apis[0]!.url

  const { request, login } = apiClient(origin)

  return {
    origin,
    loadBalancer,
    apis,
    realtimes,
    prisma,
    fixture,
    redisPrefix,
    env,
    async startRealtime() {
      const service = await startOne('realtime')
      realtimes.push(service)
      return service
    },
    request,
    login,
  }
}

/** The `dashboard connection opened` log lines of a realtime process, parsed (pino JSON lines). */
export function openedConnections(service: ServiceProcess): Array<{ schoolId: number; connectionId: string; transport: string }> {
  const opened = []
  for (const line of service.logs) {
    if (!line.includes('dashboard connection opened')) continue
    try {
      const entry = JSON.parse(line) as { schoolId: number; connectionId: string; transport: string }
      opened.push({ schoolId: entry.schoolId, connectionId: entry.connectionId, transport: entry.transport })
    } catch {
      // not a JSON line (pretty output); ignored
    }
  }
  return opened
}

/** Resolves once `check` returns true, polling every 50 ms; fails after `ms` with `description`. */
export async function waitUntil(check: () => boolean | Promise<boolean>, description: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms
  while (Date.now() < deadline) {
    if (await check()) return
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error(`not reached within ${ms} ms: ${description}`)
}
