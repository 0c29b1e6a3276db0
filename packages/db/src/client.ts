// Builds a Prisma client on the pg driver adapter (Prisma 7: no native query engine).
import { PrismaPg } from '@prisma/adapter-pg'
import { DEFAULT_DATABASE_PREPARED_STATEMENTS } from '@school/config'
import { PrismaClient } from './generated/prisma/client.js'
import { createStatementNamer } from './statement-names.js'

export type { PrismaClient }

export interface PrismaClientOptions {
  /** Pool size; the pg default (10) suits a service, tests want fewer. */
  maxConnections?: number
  /**
   * Distinct queries run as named prepared statements (parsed and planned once per connection); later
   * ones run unnamed. 0 prepares none. The services pass DATABASE_PREPARED_STATEMENTS, whose default this is.
   */
  preparedStatements?: number
}

export function createPrismaClient(databaseUrl: string, options: PrismaClientOptions = {}): PrismaClient {
  const adapter = new PrismaPg(
    { connectionString: databaseUrl, max: options.maxConnections ?? 10 },
    { statementNameGenerator: createStatementNamer(options.preparedStatements ?? DEFAULT_DATABASE_PREPARED_STATEMENTS) },
  )
  // 'minimal' in every environment: the other formats capture a stack trace on every call, to point at the
  // caller in the message of an error that almost never comes (about a tenth of Prisma's CPU per call,
  // docs/BENCHMARKS.md), and Prisma picks 'minimal' by itself only under NODE_ENV=production.
  return new PrismaClient({ adapter, errorFormat: 'minimal' })
}
