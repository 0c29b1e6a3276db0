// What every route plugin is given by buildApp.
import type { ApiConfig } from '@school/config'
import type { PrismaClient } from '@school/db'
import type { EventPublisher } from '../domain/event-publisher.js'

export interface RouteDeps {
  config: ApiConfig
  prisma: PrismaClient
  publisher: EventPublisher
}
