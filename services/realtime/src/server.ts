// The realtime process: reads the environment, creates the clients, serves HTTP/WebSocket, runs the
// school-events worker and shuts all of it down in order on SIGTERM/SIGINT.
import { createServer } from 'node:http'
import { once } from 'node:events'
import { ConfigError, loadConfig, realtimeConfigSchema, type RealtimeConfig } from '@school/config'
import { createPrismaClient } from '@school/db'
import { createRealtime, realtimeDependencies } from './app.js'
import { createRealtimeMetrics } from './operations/realtime-metrics.js'
import { createHttpHandler } from './http-handler.js'
import { createLogger } from './logger.js'
import { createRealtimeRedis } from './redis-connections.js'
import { startConnectionRevocationsWorker } from './worker/connection-revocations-worker.js'
import { startSchoolEventsWorker } from './worker/school-events-worker.js'

/** After this long a shutdown stops waiting and exits anyway. */
const SHUTDOWN_DEADLINE_MS = 10_000

function readConfig(): RealtimeConfig {
  try {
    return loadConfig(realtimeConfigSchema)
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message)
      process.exit(1)
    }
    throw error
  }
}

async function main(): Promise<void> {
  const config = readConfig()
  const logger = createLogger(config)
  const prisma = createPrismaClient(config.DATABASE_URL, { preparedStatements: config.DATABASE_PREPARED_STATEMENTS })
  const redis = createRealtimeRedis(config.REDIS_URL, logger)
  const metrics = createRealtimeMetrics(realtimeDependencies(prisma, redis))
  let stopping = false
  const httpServer = createServer(createHttpHandler(metrics, () => !stopping && events.worker.isRunning()))
  const realtime = createRealtime(httpServer, { config, prisma, redis, logger, metrics })
  const events = startSchoolEventsWorker({
    config,
    prisma,
    broadcaster: realtime.broadcaster,
    connection: redis.worker,
    logger,
    metrics,
    onAccessLost: realtime.accessChanged,
  })
  // Ended sessions (sign-out, password change, a reused refresh token), from the API.
  const revocations = startConnectionRevocationsWorker({
    redisPrefix: config.REDIS_PREFIX,
    connection: redis.worker,
    logger,
    revoke: realtime.revoke,
  })

  // Events committed while no worker ran (a crash, a deploy) are applied and broadcast before the first
  // job is even looked at; their jobs then find nothing left to do.
  const caughtUp = await events.processor.catchUpAll()
  if (caughtUp > 0) logger.info({ schools: caughtUp }, 'projections caught up with the event log')

  httpServer.listen(config.PORT, config.HOST)
  await once(httpServer, 'listening')
  const address = httpServer.address()
  const port = typeof address === 'object' && address ? address.port : config.PORT
  logger.info({ instanceId: realtime.lease.instanceId }, `realtime listening on http://${config.HOST}:${port}`)
  // Whoever waits for this line (a supervisor, the tests) need not wait for the log batch.
  logger.flush()

  const shutdown = async (signal: NodeJS.Signals) => {
    if (stopping) return
    stopping = true
    logger.info({ signal }, 'shutting down')
    const deadline = setTimeout(() => {
      logger.error('shutdown did not finish in time; exiting anyway')
      process.exit(1)
    }, SHUTDOWN_DEADLINE_MS)
    deadline.unref()
    try {
      // 1. Stop accepting connections; resolves once the last one has gone (after step 3).
      const serverClosed = new Promise<void>((resolve) => httpServer.close(() => resolve()))
      // Withdraw this instance's dashboard watchers at once, so no other instance shows them as ghosts.
      await realtime.withdrawPresence().catch((error: unknown) => logger.warn({ err: error }, 'presence could not be withdrawn'))
      // 2. Finish the jobs in hand (their messages still reach the connected clients), take no more.
      await Promise.all([events.close(), revocations.close()])
      // 3. Tell clients to reconnect elsewhere: plain WebSocket 1012, Socket.IO transport close.
      await realtime.close()
      httpServer.closeAllConnections()
      await serverClosed
      // 4. Then Redis, then the database.
      await redis.close()
      await prisma.$disconnect()
      logger.info('shut down cleanly')
      logger.flush()
      process.exit(0)
    } catch (error) {
      logger.error({ err: error }, 'shutdown failed')
      process.exit(1)
    }
  }
  process.on('SIGTERM', (signal) => void shutdown(signal))
  process.on('SIGINT', (signal) => void shutdown(signal))
}

main().catch((error: unknown) => {
  console.error('realtime failed to start:', error)
  process.exit(1)
})
