// Applies prisma/migrations/*/migration.sql without Prisma's native schema engine, keeping Prisma's own
// bookkeeping table so that a stock `prisma migrate deploy` sees the same history and agrees.
import { createHash, randomUUID } from 'node:crypto'
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import pg from 'pg'

/** The advisory lock key `prisma migrate` takes, so our runner and Prisma's never interleave. */
const PRISMA_MIGRATE_LOCK = 72707369

/** The table exactly as Prisma's schema engine creates it. */
const BOOKKEEPING_DDL = `CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                    VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"              VARCHAR(64) NOT NULL,
    "finished_at"           TIMESTAMPTZ,
    "migration_name"        VARCHAR(255) NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        TIMESTAMPTZ,
    "started_at"            TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count"   INTEGER NOT NULL DEFAULT 0
)`

export const defaultMigrationsDir = fileURLToPath(new URL('../../../prisma/migrations', import.meta.url))

export interface MigrationResult {
  applied: string[]
  alreadyApplied: string[]
}

interface AppliedRow {
  migration_name: string
  checksum: string
  finished_at: Date | null
  rolled_back_at: Date | null
}

/** Creates the database named in the URL if it does not exist yet (first run on a fresh machine). */
export async function ensureDatabase(databaseUrl: string): Promise<boolean> {
  const url = new URL(databaseUrl)
  const name = decodeURIComponent(url.pathname.slice(1))
  if (!name) throw new Error('DATABASE_URL names no database')
  url.pathname = '/postgres'
  const admin = new pg.Client({ connectionString: url.toString() })
  await admin.connect()
  try {
    const { rowCount } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])
    if (rowCount) return false
    await admin.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`)
    return true
  } catch (error) {
    // Two runners racing to create it: the loser finds it there, which is what it wanted.
    if ((error as { code?: string }).code === '42P04') return false
    throw error
  } finally {
    await admin.end()
  }
}

export function migrationChecksum(sql: string): string {
  return createHash('sha256').update(sql).digest('hex')
}

export async function applyMigrations(
  databaseUrl: string,
  options: { migrationsDir?: string; log?: (line: string) => void } = {},
): Promise<MigrationResult> {
  const migrationsDir = options.migrationsDir ?? defaultMigrationsDir
  const log = options.log ?? (() => {})
  const names = (await readdir(migrationsDir, { withFileTypes: true }))
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort()

  const client = new pg.Client({ connectionString: databaseUrl })
  await client.connect()
  const result: MigrationResult = { applied: [], alreadyApplied: [] }
  try {
    await client.query('SELECT pg_advisory_lock($1)', [PRISMA_MIGRATE_LOCK])
    await client.query(BOOKKEEPING_DDL)
    const { rows } = await client.query<AppliedRow>(
      'SELECT migration_name, checksum, finished_at, rolled_back_at FROM "_prisma_migrations" ORDER BY started_at',
    )
    const failed = rows.find((row) => row.finished_at === null && row.rolled_back_at === null)
    if (failed) {
      throw new Error(
        `Migration ${failed.migration_name} started but did not finish. Fix the database by hand, then mark it ` +
          `rolled back (UPDATE "_prisma_migrations" SET rolled_back_at = now() WHERE migration_name = '${failed.migration_name}').`,
      )
    }
    const done = new Map(rows.filter((row) => row.finished_at && !row.rolled_back_at).map((row) => [row.migration_name, row]))

    for (const name of names) {
      const sql = await readFile(join(migrationsDir, name, 'migration.sql'), 'utf8')
      const checksum = migrationChecksum(sql)
      const previous = done.get(name)
      if (previous) {
        if (previous.checksum !== checksum) log(`warning: ${name} was edited after it was applied (checksum differs)`)
        result.alreadyApplied.push(name)
        continue
      }
      const id = randomUUID()
      await client.query(
        'INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at, applied_steps_count) VALUES ($1, $2, $3, now(), 0)',
        [id, checksum, name],
      )
      try {
        await client.query('BEGIN')
        await client.query(sql)
        await client.query(
          'UPDATE "_prisma_migrations" SET finished_at = now(), applied_steps_count = 1 WHERE id = $1',
          [id],
        )
        await client.query('COMMIT')
      } catch (error) {
        await client.query('ROLLBACK')
        // Failed inside a transaction, so nothing of it stayed: record it as rolled back, like `prisma migrate resolve`.
        await client.query(
          'UPDATE "_prisma_migrations" SET rolled_back_at = now(), logs = $2 WHERE id = $1',
          [id, String((error as Error).message)],
        )
        throw new Error(`Migration ${name} failed: ${(error as Error).message}`, { cause: error })
      }
      log(`applied ${name}`)
      result.applied.push(name)
    }
    return result
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [PRISMA_MIGRATE_LOCK]).catch(() => {})
    await client.end()
  }
}
