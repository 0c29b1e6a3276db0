// Builds a Prisma client on the pg driver adapter (Prisma 7: no native query engine).
import { PrismaPg } from '@prisma/adapter-pg'
import { PrismaClient } from './generated/prisma/client.js'

export type { PrismaClient }

export interface PrismaClientOptions {
  /** Pool size; the pg default (10) suits a service, tests want fewer. */
  maxConnections?: number
}

export function createPrismaClient(databaseUrl: string, options: PrismaClientOptions = {}): PrismaClient {
  const adapter = new PrismaPg({ connectionString: databaseUrl, max: options.maxConnections ?? 10 })
  return new PrismaClient({ adapter })
}
