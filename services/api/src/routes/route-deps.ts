// What every route plugin is given by buildApp.
import type { ApiConfig } from '@school/config'
import type { PrismaClient } from '@school/db'
import type { RevocationNotifier } from '../domain/connection-revocations.js'
import type { EventPublisher } from '../domain/event-publisher.js'
import type { ApiMetrics } from '../plugins/metrics.js'

export interface RouteDeps {
  config: ApiConfig
  prisma: PrismaClient
  publisher: EventPublisher
  /** Tells the realtime service to close the connections of sessions that ended. */
  revocations: RevocationNotifier
  metrics: Pick<ApiMetrics, 'refreshes'>
}
