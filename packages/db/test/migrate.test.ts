import t from 'tap'
import { mkdtemp, mkdir, writeFile, readFile, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { applyMigrations, defaultMigrationsDir, ensureDatabase } from '../src/migrate.js'
import { createTestDatabase, withDatabase } from '../src/testing.js'
import { DEFAULT_DATABASE_URL } from '@school/config'
import { createHash } from 'node:crypto'

async function query<T extends pg.QueryResultRow>(url: string, sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    return (await client.query<T>(sql)).rows
  } finally {
    await client.end()
  }
}

t.test('applies the project migrations with Prisma bookkeeping, then does nothing the second time', async (t) => {
  const db = await createTestDatabase('migrate')
  t.teardown(db.drop)
  const rows = await query<{ migration_name: string; checksum: string; applied_steps_count: number; finished_at: Date }>(
    db.url,
    'SELECT migration_name, checksum, applied_steps_count, finished_at FROM "_prisma_migrations" ORDER BY migration_name',
  )
  const names = (await readdir(defaultMigrationsDir, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name).sort()
  t.same(rows.map((row) => row.migration_name), names, 'every migration folder, in order')
  for (const row of rows) {
    const sql = await readFile(join(defaultMigrationsDir, row.migration_name, 'migration.sql'))
    t.equal(row.checksum, createHash('sha256').update(sql).digest('hex'), `${row.migration_name}: checksum`)
    t.equal(row.applied_steps_count, 1)
    t.ok(row.finished_at instanceof Date)
  }

  const again = await applyMigrations(db.url)
  t.same(again, { applied: [], alreadyApplied: names })
  const tables = await query<{ table_name: string }>(
    db.url,
    "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name",
  )
  t.same(
    tables.map((row) => row.table_name),
    ['_prisma_migrations', 'classes', 'dead_letter_events', 'domain_events', 'invitations', 'memberships', 'school_dashboard_projections', 'schools', 'users'],
  )
})

t.test('runs concurrently without applying anything twice', async (t) => {
  const db = await createTestDatabase('migrate_race')
  t.teardown(db.drop)
  const dir = await mkdtemp(join(tmpdir(), 'migrations-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  await mkdir(join(dir, '20990101000000_extra'))
  await writeFile(join(dir, '20990101000000_extra', 'migration.sql'), 'CREATE TABLE "extra" ("id" INTEGER);')
  const results = await Promise.all([applyMigrations(db.url, { migrationsDir: dir }), applyMigrations(db.url, { migrationsDir: dir })])
  t.same(results.map((r) => r.applied.length).sort(), [0, 1])
})

t.test('a failing migration leaves nothing behind and is recorded as rolled back', async (t) => {
  const db = await createTestDatabase('migrate_fail')
  t.teardown(db.drop)
  const dir = await mkdtemp(join(tmpdir(), 'migrations-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  await mkdir(join(dir, '20990101000000_broken'))
  await writeFile(join(dir, '20990101000000_broken', 'migration.sql'), 'CREATE TABLE "half" ("id" INTEGER);\nSELECT nope;')
  await t.rejects(applyMigrations(db.url, { migrationsDir: dir }), /Migration 20990101000000_broken failed/)
  const half = await query(db.url, "SELECT 1 FROM information_schema.tables WHERE table_name = 'half'")
  t.equal(half.length, 0)
  const [row] = await query<{ rolled_back_at: Date | null }>(
    db.url,
    `SELECT rolled_back_at FROM "_prisma_migrations" WHERE migration_name = '20990101000000_broken'`,
  )
  t.ok(row?.rolled_back_at instanceof Date)
})

t.test('ensureDatabase creates a missing database once', async (t) => {
  const name = `sd_ensure_${Date.now()}`
  const base = process.env.DATABASE_URL || DEFAULT_DATABASE_URL
  const url = withDatabase(base, name)
  t.teardown(() => query(withDatabase(base, 'postgres'), `DROP DATABASE IF EXISTS ${name}`))
  t.equal(await ensureDatabase(url), true)
  t.equal(await ensureDatabase(url), false)
})
