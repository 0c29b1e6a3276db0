// The API process: reads the environment, creates the clients, listens, and shuts down cleanly on
// SIGTERM/SIGINT (stop accepting, finish in-flight requests, close the queue, then the database).
import type { AddressInfo } from 'node:net'
import { Queue } from 'bullmq'
import { Redis } from 'ioredis'
import type { Logger } from 'pino'
import { apiConfigSchema, ConfigError, loadConfig, type ApiConfig } from '@school/config'
import { createPrismaClient } from '@school/db'
import { CONNECTION_REVOCATIONS_QUEUE, queuePrefix, SCHOOL_EVENTS_QUEUE, type ConnectionRevocationJob, type SchoolEventJob } from '@school/events'
import { buildApp } from './app.js'

// Past this (after the drain), a shutdown that is still waiting (a stuck request, an unreachable Redis) gives up.
const SHUTDOWN_TIMEOUT_MS = 10_000

function readConfig(): ApiConfig {
  try {
    return loadConfig(apiConfigSchema, process.env)
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message)
      process.exit(1)
    }
    throw error
  }
}

const config = readConfig()
const prisma = createPrismaClient(config.DATABASE_URL, { preparedStatements: config.DATABASE_PREPARED_STATEMENTS })
// A producer fails fast: with Redis down, `add` throws at once instead of waiting for a reconnect
// (BullMQ's "failing fast when Redis is down" pattern), and the event waits in the outbox instead.
const queue = new Queue<SchoolEventJob>(SCHOOL_EVENTS_QUEUE, {
  connection: { url: config.REDIS_URL, enableOfflineQueue: false, maxRetriesPerRequest: 1 },
  prefix: queuePrefix(config.REDIS_PREFIX),
})
// Notices to the realtime service to close ended sessions' connections; fails fast too (the recheck covers).
const revocations = new Queue<ConnectionRevocationJob>(CONNECTION_REVOCATIONS_QUEUE, {
  connection: { url: config.REDIS_URL, enableOfflineQueue: false, maxRetriesPerRequest: 1 },
  prefix: queuePrefix(config.REDIS_PREFIX),
})
// Rate-limit counters, shared by every API instance; fails fast too (the limits then fail open).
const redis = new Redis(config.REDIS_URL, { maxRetriesPerRequest: 1, enableOfflineQueue: false, connectTimeout: 2000 })
const app = buildApp({ config, prisma, queue, revocations, redis, backgroundTasks: true })
redis.on('error', (error: Error) => app.log.warn({ err: error }, 'rate-limit redis connection error'))
app.addHook('onClose', async () => {
  await app.eventMarksSettled()
  // Reverse order of creation.
  redis.disconnect()
  await revocations.close()
  await queue.close()
  await prisma.$disconnect()
})

let stopping = false
async function stop(signal: NodeJS.Signals): Promise<void> {
  if (stopping) return
  stopping = true
  app.log.info({ signal }, 'api shutting down')
  setTimeout(() => {
    app.log.error(`api shutdown took longer than ${SHUTDOWN_TIMEOUT_MS} ms after its drain; exiting`)
    process.exit(1)
  }, config.SHUTDOWN_DRAIN_MS + SHUTDOWN_TIMEOUT_MS).unref()
  try {
    // Behind a load balancer: first be taken out (readiness fails) while still answering, then close.
    // Closing at once would reset connections the balancer has just opened to this instance.
    if (config.SHUTDOWN_DRAIN_MS > 0) {
      app.startDraining()
      app.log.info({ drainMs: config.SHUTDOWN_DRAIN_MS }, 'api draining: readiness fails, requests are still served')
      await new Promise((resolve) => setTimeout(resolve, config.SHUTDOWN_DRAIN_MS))
    }
    await app.close()
    process.exit(0)
  } catch (error) {
    app.log.error({ err: error }, 'api shutdown failed')
    process.exit(1)
  }
}
process.once('SIGTERM', (signal) => void stop(signal))
process.once('SIGINT', (signal) => void stop(signal))

try {
  await app.listen({ host: config.HOST, port: config.PORT })
  const { port } = app.server.address() as AddressInfo
  const host = config.HOST.includes(':') ? `[${config.HOST}]` : config.HOST
  app.log.info(`api listening on http://${host}:${port}`)
  // Whoever waits for this line (a supervisor, the tests) need not wait for the log batch. Fastify's
  // logger is pino's (its type leaves out flush); the realtime service does the same with its own.
  const log = app.log as unknown as Pick<Logger, 'flush'>
  log.flush()
} catch (error) {
  app.log.error({ err: error }, 'api failed to start')
  await app.close().catch(() => {})
  process.exit(1)
}
