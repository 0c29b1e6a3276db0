// For tests: a throwaway, migrated database per test file, dropped at teardown.
import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { DEFAULT_DATABASE_URL } from '@school/config'
import type { PrismaClient } from './client.js'
import { applyMigrations } from './migrate.js'

export interface TestDatabase {
  url: string
  name: string
  drop(): Promise<void>
}

const baseUrl = process.env.DATABASE_URL || DEFAULT_DATABASE_URL

export function withDatabase(url: string, name: string): string {
  const next = new URL(url)
  next.pathname = `/${name}`
  return next.toString()
}

async function onAdmin<T>(run: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: withDatabase(baseUrl, 'postgres') })
  await client.connect()
  try {
    return await run(client)
  } finally {
    await client.end()
  }
}

/** `migrationsDir` lets a test start from an older schema (e.g. to test a data migration). */
export async function createTestDatabase(label = 'test', options: { migrationsDir?: string } = {}): Promise<TestDatabase> {
  const name = `sd_${label.replace(/[^a-z0-9_]/gi, '_').toLowerCase()}_${randomBytes(4).toString('hex')}`
  await onAdmin((client) => client.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`))
  const url = withDatabase(baseUrl, name)
  await applyMigrations(url, options.migrationsDir ? { migrationsDir: options.migrationsDir } : {})
  return {
    url,
    name,
    drop: () =>
      onAdmin((client) => client.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`)).then(() => {}),
  }
}

/**
 * Resolves once a statement of this database whose text contains `marker` is waiting for a lock: how a test
 * knows a racing statement has got as far as the row or index entry another transaction holds.
 */
export async function waitUntilBlockedOnLock(prisma: PrismaClient, marker: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const [row] = await prisma.$queryRaw<Array<{ waiting: number }>>`
      SELECT count(*)::int AS waiting FROM pg_stat_activity
      WHERE datname = current_database() AND wait_event_type = 'Lock' AND position(${marker} in query) > 0
        AND pid <> pg_backend_pid()`
    if ((row?.waiting ?? 0) > 0) return
    if (Date.now() > deadline) throw new Error(`no statement containing "${marker}" waited for a lock within ${timeoutMs} ms`)
    await new Promise((resolve) => setImmediate(resolve))
  }
}
