// Many small schools at once, as the product really runs: N schools with K owners/admins each (the first an
// owner), written set-based in one transaction so that ten thousand take seconds. The state is what the API
// would have left: each membership has its `member.joined` event (already enqueued), `last_event_seq` is K,
// and the dashboard projection has applied them, so nothing is left for a worker to do.
import type { PrismaClient } from '@school/db'
import type { Role } from '@school/events'

export interface SeededAdmin {
  id: number
  email: string
  name: string
  role: Role
}

export interface SeededSchool {
  id: number
  /** Owner first, then admins, by their position in the school. */
  admins: SeededAdmin[]
}

export interface ManySchoolsOptions {
  schools: number
  adminsPerSchool: number
  /** Keeps the emails of two seedings in one database apart. */
  label?: string
}

export async function seedManySchools(prisma: PrismaClient, options: ManySchoolsOptions): Promise<SeededSchool[]> {
  const { schools, adminsPerSchool } = options
  if (!Number.isInteger(schools) || schools < 1 || !Number.isInteger(adminsPerSchool) || adminsPerSchool < 1) {
    throw new RangeError(`seedManySchools needs at least one school and one admin each (got ${schools} x ${adminsPerSchool})`)
  }
  const label = options.label ?? 'many'
  const rows = await prisma.$transaction(async (tx) => {
    const created = await tx.$queryRaw<Array<{ id: number }>>`
      INSERT INTO schools (name, last_event_seq)
      SELECT 'School ' || g, ${adminsPerSchool} FROM generate_series(1, ${schools}) g
      RETURNING id`
    const schoolIds = created.map((row) => row.id)
    return tx.$queryRaw<Array<{ school_id: number; user_id: number; position: number; email: string; name: string; role: Role }>>`
      WITH seats AS MATERIALIZED (
        SELECT s AS school_id, k AS position, nextval(pg_get_serial_sequence('users', 'id'))::int AS user_id,
               ${label} || '-' || s || '-' || k || '@schools.test' AS email,
               CASE WHEN k = 1 THEN 'Owner' ELSE 'Admin ' || k END || ' of school ' || s AS name,
               CASE WHEN k = 1 THEN 'school_owner' ELSE 'school_admin' END AS role
        FROM unnest(${schoolIds}::int[]) s, generate_series(1, ${adminsPerSchool}) k
      ),
      new_users AS (
        INSERT INTO users (id, email, name)
        SELECT user_id, email, name FROM seats
      ),
      new_memberships AS (
        INSERT INTO memberships (user_id, school_id, role) SELECT user_id, school_id, role::"Role" FROM seats
      ),
      joined_events AS (
        INSERT INTO domain_events (id, school_id, seq, type, payload, enqueued_at)
        SELECT gen_random_uuid(), school_id, position, 'member.joined',
               jsonb_build_object('userId', user_id, 'name', name, 'role', role), now()
        FROM seats
      ),
      projections AS (
        INSERT INTO school_dashboard_projections (school_id, last_seq, admins)
        SELECT school_id, count(*), count(*) FROM seats GROUP BY school_id
      )
      SELECT school_id, user_id, position, email, name, role FROM seats ORDER BY school_id, position`
  })
  const bySchool = new Map<number, SeededSchool>()
  for (const row of rows) {
    let school = bySchool.get(row.school_id)
    if (!school) bySchool.set(row.school_id, (school = { id: row.school_id, admins: [] }))
    school.admins.push({ id: row.user_id, email: row.email, name: row.name, role: row.role })
  }
  return [...bySchool.values()]
}
