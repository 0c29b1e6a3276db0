// Starts the real system for a test: a fresh database with the fixture, a private Redis key space, the
// API and the realtime service as separate Node processes, and the one-origin proxy in front of them.
import { spawn, type ChildProcess } from 'node:child_process'
import { reapOnExit } from './child-reaper.js'
import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { signTokenClaims, type TokenSignerOptions } from '@school/auth'
import { DEV_JWT_SECRET } from '@school/config'
import { createPrismaClient, type PrismaClient } from '@school/db'
import { createOneOriginProxy } from '@school/one-origin'
import { createTestDatabase } from '@school/db/testing'
import { createFixture, type Fixture, type FixtureUser } from './fixture.js'
import { deleteRedisKeys, TEST_REDIS_URL, uniqueRedisPrefix } from './redis.js'
import { apiClient } from './api-client.js'

type Teardown = (fn: () => unknown) => void

/** Runs cleanups in reverse order of registration, each even if an earlier one failed. */
function cleanupStack(teardown: Teardown): (fn: () => unknown) => void {
  const cleanups: Array<() => unknown> = []
  teardown(async () => {
    for (const cleanup of cleanups.reverse()) {
      try {
        await cleanup()
      } catch (error) {
        console.error('cleanup failed:', error)
      }
    }
  })
  return (fn) => cleanups.push(fn)
}

const ROOT = fileURLToPath(new URL('../../../', import.meta.url))

export interface ServiceProcess {
  readonly name: string
  readonly url: string
  readonly child: ChildProcess
  readonly logs: string[]
  /** Sends SIGTERM and resolves with the exit code once the process is gone. */
  stop(signal?: NodeJS.Signals): Promise<number | null>
}

/** Starts `services/{name}/dist/server.js` on a free port and resolves once it logs where it listens. */
export async function startService(name: 'api' | 'realtime', env: Record<string, string>): Promise<ServiceProcess> {
  const child = spawn(process.execPath, [`${ROOT}services/${name}/dist/server.js`], {
    env: { PATH: process.env.PATH ?? '', NODE_ENV: 'test', HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  reapOnExit(child)
  const logs: string[] = []
  const lines = createInterface({ input: child.stdout! })
  createInterface({ input: child.stderr! }).on('line', (line) => logs.push(line))
  const url = await new Promise<string>((resolve, reject) => {
    lines.on('line', (line) => {
      logs.push(line)
      const match = /listening (?:on|at) (http:\/\/[^\s"]+)/.exec(line)
      if (match?.[1]) resolve(match[1].replace(/\/$/, ''))
    })
    child.once('exit', (code) => reject(new Error(`${name} exited with ${code} before listening:\n${logs.join('\n')}`)))
  })
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>
  return {
    name,
    url,
    child,
    logs,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode
      child.kill(signal)
      const [code] = await exited
      return code
    },
  }
}

export interface SystemOptions {
  /** Environment added for both services (e.g. a shorter interval). */
  env?: Record<string, string>
  /** Environment added for the API only. */
  apiEnv?: Record<string, string>
  /** Environment added for the realtime service only. */
  realtimeEnv?: Record<string, string>
  /** The Redis both services use and whose keys are deleted at the end (default TEST_REDIS_URL). */
  redisUrl?: string
}

export interface RunningSystem {
  /** The one public origin, e.g. http://127.0.0.1:41234 */
  origin: string
  /** The API process the origin currently routes to (a new one after restart('api')). */
  api: ServiceProcess
  /** The realtime process the origin currently routes to (a new one after restart('realtime')). */
  realtime: ServiceProcess
  prisma: PrismaClient
  fixture: Fixture
  redisPrefix: string
  /** The Redis the services were started against. */
  redisUrl: string
  /**
   * Replaces a service: stops the current process (SIGTERM unless told otherwise; a no-op if it is gone
   * already), starts a new one on the same database and Redis prefix with `env` added, and routes the
   * origin to it. The new process is stopped at teardown like the first.
   */
  restart(
    name: 'api' | 'realtime',
    options?: { signal?: NodeJS.Signals; env?: Record<string, string> },
  ): Promise<ServiceProcess>
  /** POST/GET/DELETE JSON through the public origin. */
  request(method: string, path: string, options?: { token?: string; body?: unknown }): Promise<{ status: number; body: any }>
  login(user: FixtureUser): Promise<string>
  /**
   * A token signed as the API signs them (its key, kid, issuer, audience, lifetime) unless told otherwise,
   * for any claims, e.g. an expired one. `kid: null` leaves the kid header out.
   */
  signToken(claims: Record<string, unknown>, options?: TokenSignerOptions): string
}

export async function startSystem(t: { teardown: Teardown }, label: string, options: SystemOptions = {}): Promise<RunningSystem> {
  const teardown = cleanupStack(t.teardown.bind(t))
  const database = await createTestDatabase(label)
  teardown(() => database.drop())
  const prisma = createPrismaClient(database.url, { maxConnections: 2 })
  teardown(() => prisma.$disconnect())
  const fixture = await createFixture(prisma)
  const redisPrefix = uniqueRedisPrefix(label)
  const redisUrl = options.redisUrl ?? TEST_REDIS_URL
  teardown(() => deleteRedisKeys(redisPrefix, redisUrl))

  // The proxy listens first so that the API can be told the public origin for its links.
  const upstreams = { api: '', realtime: '' }
  const proxy = createOneOriginProxy(upstreams)
  proxy.listen(0, '127.0.0.1')
  await once(proxy, 'listening')
  const origin = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`
  teardown(() => {
    proxy.closeAllConnections()
    proxy.close()
  })

  const env = {
    DATABASE_URL: database.url,
    REDIS_URL: redisUrl,
    REDIS_PREFIX: redisPrefix,
    JWT_SECRET: DEV_JWT_SECRET,
    PUBLIC_URL: origin,
    // As in production, the services trust the proxy in front of them to say who the client is.
    TRUST_PROXY: 'loopback',
    ...options.env,
  }
  const envOf = { api: { ...env, ...options.apiEnv }, realtime: { ...env, ...options.realtimeEnv } }
  // Every process ever started, so that teardown stops the replaced ones a test left running too.
  const started: ServiceProcess[] = []
  teardown(() => Promise.all(started.map((service) => service.stop())))
  const launch = async (name: 'api' | 'realtime', extraEnv: Record<string, string> = {}): Promise<ServiceProcess> => {
    const service = await startService(name, { ...envOf[name], ...extraEnv })
    started.push(service)
    upstreams[name] = service.url
    return service
  }
  const current = Object.fromEntries(
    await Promise.all((['api', 'realtime'] as const).map(async (name) => [name, await launch(name)] as const)),
  ) as Record<'api' | 'realtime', ServiceProcess>

  const { request, login } = apiClient(origin)

  const settings = { JWT_SECRET: DEV_JWT_SECRET, JWT_ISSUER: 'school-dashboard', JWT_AUDIENCE: 'school-dashboard' }
  return {
    origin,
    get api() {
      return current.api
    },
    get realtime() {
      return current.realtime
    },
    prisma,
    fixture,
    redisPrefix,
    redisUrl,
    async restart(name, restartOptions = {}) {
      await current[name].stop(restartOptions.signal)
      current[name] = await launch(name, restartOptions.env)
      return current[name]
    },
    request,
    login,
    signToken(claims, options = {}) {
      return signTokenClaims(settings, claims, options)
    },
  }
}
