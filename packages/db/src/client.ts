// Builds a Prisma client on the pg driver adapter (Prisma 7: no native query engine).
import { PrismaPg } from '@prisma/adapter-pg'
import { PrismaClient } from './generated/prisma/client.js'
import { createStatementNamer, DEFAULT_NAMED_STATEMENTS } from './statement-names.js'

export type { PrismaClient }

export interface PrismaClientOptions {
  /** Pool size; the pg default (10) suits a service, tests want fewer. */
  maxConnections?: number
  /**
   * Distinct queries run as named prepared statements (parsed and planned once per connection); later
   * ones run unnamed. 0 names none.
   */
  namedStatements?: number
}

export function createPrismaClient(databaseUrl: string, options: PrismaClientOptions = {}): PrismaClient {
  const adapter = new PrismaPg(
    { connectionString: databaseUrl, max: options.maxConnections ?? 10 },
    { statementNameGenerator: createStatementNamer(options.namedStatements ?? DEFAULT_NAMED_STATEMENTS) },
  )
  return new PrismaClient({ adapter })
}
