import t from 'tap'
import { cp, mkdtemp, mkdir, writeFile, readFile, readdir, rm } from 'node:fs/promises'
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
    ['_prisma_migrations', 'classes', 'dead_letter_events', 'domain_events', 'invitations', 'memberships', 'refresh_tokens', 'school_dashboard_projections', 'schools', 'sessions', 'users'],
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

t.test('the projection migration gives memberships made before member.joined existed their event', async (t) => {
  const initOnly = await mkdtemp(join(tmpdir(), 'migrations-'))
  t.teardown(() => rm(initOnly, { recursive: true, force: true }))
  await cp(join(defaultMigrationsDir, '20261124000000_init'), join(initOnly, '20261124000000_init'), { recursive: true })
  const db = await createTestDatabase('migrate_backfill', { migrationsDir: initOnly })
  t.teardown(db.drop)
  await query(
    db.url,
    `INSERT INTO schools (id, name, last_event_seq) VALUES (1, 'One', 1), (2, 'Two', 0);
     INSERT INTO users (id, name) VALUES (1, 'Olivia'), (2, 'Sam'), (3, 'Tania');
     INSERT INTO memberships (user_id, school_id, role) VALUES (1, 1, 'school_owner'), (2, 1, 'student'), (3, 1, 'teacher'), (1, 2, 'school_owner');
     INSERT INTO domain_events (id, school_id, seq, type, payload)
       VALUES ('00000000-0000-0000-0000-000000000001', 1, 1, 'student.registered', '{"userId": 2, "name": "Sam", "email": null}')`,
  )
  await applyMigrations(db.url)
  const events = await query<{ school_id: number; seq: number; type: string; payload: { userId: number; role: string; name: string } }>(
    db.url,
    'SELECT school_id, seq, type, payload FROM domain_events ORDER BY school_id, seq',
  )
  t.same(
    events.map((e) => [e.school_id, e.seq, e.type, e.payload.userId, e.payload.role ?? null]),
    [
      [1, 1, 'student.registered', 2, null],
      [1, 2, 'member.joined', 1, 'school_owner'],
      [1, 3, 'member.joined', 3, 'teacher'],
      [2, 1, 'member.joined', 1, 'school_owner'],
    ],
  )
  t.same(await query(db.url, 'SELECT id, last_event_seq FROM schools ORDER BY id'), [
    { id: 1, last_event_seq: 3 },
    { id: 2, last_event_seq: 1 },
  ])
})
