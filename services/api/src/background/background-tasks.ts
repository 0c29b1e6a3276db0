// The API's background work, run by the process (not by tests that only inject requests): the outbox
// relay, the invitation expiry sweep and the sweep of expired sessions. They start when the app is ready
// and stop before it closes.
import type { Queue } from 'bullmq'
import type { FastifyInstance } from 'fastify'
import type { ApiConfig } from '@school/config'
import type { PrismaClient } from '@school/db'
import type { SchoolEventJob } from '@school/events'
import type { EventPublisher } from '../domain/event-publisher.js'
import type { ApiMetrics } from '../plugins/metrics.js'
import { expireLapsedInvitations } from '../domain/invitations.js'
import { sweepExpiredSessions } from '../domain/sessions.js'
import { relayOutbox } from './outbox-relay.js'
import { startPeriodicTask, type PeriodicTask } from './periodic-task.js'

export interface BackgroundDeps {
  config: Pick<ApiConfig, 'OUTBOX_RELAY_INTERVAL_MS' | 'OUTBOX_RELAY_GRACE_MS' | 'INVITATION_EXPIRY_SWEEP_MS' | 'SESSION_SWEEP_MS'>
  prisma: PrismaClient
  queue: Queue<SchoolEventJob>
  publisher: EventPublisher
  metrics: Pick<ApiMetrics, 'eventsEnqueued'>
}

export function registerBackgroundTasks(app: FastifyInstance, deps: BackgroundDeps): void {
  const { config, prisma, queue, publisher, metrics } = deps
  const log = app.log.child({ component: 'background' })
  const tasks: PeriodicTask[] = []
  app.addHook('onReady', async () => {
    tasks.push(
      startPeriodicTask(
        'outbox relay',
        config.OUTBOX_RELAY_INTERVAL_MS,
        async () => {
          // Drain in batches while there is a backlog.
          for (;;) {
            const relayed = await relayOutbox({ prisma, queue, graceMs: config.OUTBOX_RELAY_GRACE_MS }, log)
            if (relayed === 0) break
            metrics.eventsEnqueued.inc({ by: 'relay' }, relayed)
          }
        },
        log,
      ),
      startPeriodicTask(
        'invitation expiry sweep',
        config.INVITATION_EXPIRY_SWEEP_MS,
        async () => {
          const expired = await expireLapsedInvitations({ prisma, publisher }, log, new Date())
          if (expired > 0) log.info({ expired }, 'lapsed invitations marked expired')
        },
        log,
      ),
      startPeriodicTask(
        'session sweep',
        config.SESSION_SWEEP_MS,
        async () => {
          // Sessions whose refresh tokens have all expired: nothing can use them any more.
          const deleted = await sweepExpiredSessions(prisma)
          if (deleted > 0) log.info({ deleted }, 'expired sessions deleted')
        },
        log,
      ),
    )
  })
  app.addHook('onClose', async () => {
    await Promise.all(tasks.map((task) => task.stop()))
  })
}
