// Many schools, each with its owner and admins, written straight into a bench world's database with
// set-based SQL (seconds for 10,000 schools, where one transaction per member would take minutes), in the
// state the system would have reached on its own: every membership has its `member.joined` event, already
// enqueued and applied, each school's `last_event_seq` is its last event and its dashboard projection counts
// the members at that seq (packages/db/src/members.ts writes the same membership and event one at a time).
import pg from 'pg'

export interface SeededSchool {
  id: number
  /** The owner first, then the admins. */
  admins: Array<{ id: number; email: string }>
}

/**
 * Seeds `schools` schools with `perSchool` members each (one school_owner, the rest school_admin), then
 * vacuums and analyzes the tables it wrote, so that neither the planner nor autovacuum notices the bulk
 * insert later (in a measured window). `label` keeps names and emails apart from other seeds.
 */
export async function seedSchools(databaseUrl: string, schools: number, perSchool: number, label: string): Promise<SeededSchool[]> {
  if (perSchool < 1) throw new Error('a school needs at least its owner')
  const client = new pg.Client({ connectionString: databaseUrl })
  await client.connect()
  try {
    // One statement: the RETURNING rows of each insert feed the next, and the foreign keys are checked at
    // its end, when all of them exist. Names carry the school's and the member's number to join them back.
    const { rows } = await client.query<{ school_id: number; admin_ids: number[]; emails: string[] }>(
      `WITH new_schools AS (
         INSERT INTO schools (name, last_event_seq)
         SELECT format('%s school %s', $3::text, n), $2::int FROM generate_series(1, $1::int) AS n
         RETURNING id, (regexp_match(name, '(\\d+)$'))[1]::int AS n
       ), new_users AS (
         INSERT INTO users (email, name)
         SELECT format('%s-%s-%s@many-schools.test', $3::text, n, a), format('Admin %s.%s', n, a)
         FROM generate_series(1, $1::int) AS n, generate_series(1, $2::int) AS a
         RETURNING id, email, name,
                   (regexp_match(email, '-(\\d+)-(\\d+)@'))[1]::int AS n,
                   (regexp_match(email, '-(\\d+)-(\\d+)@'))[2]::int AS a
       ), members AS (
         SELECT s.id AS school_id, u.id AS user_id, u.email, u.name, u.a,
                (CASE WHEN u.a = 1 THEN 'school_owner' ELSE 'school_admin' END)::"Role" AS role
         FROM new_users u JOIN new_schools s ON s.n = u.n
       ), new_memberships AS (
         INSERT INTO memberships (user_id, school_id, role)
         SELECT user_id, school_id, role FROM members
       ), new_events AS (
         INSERT INTO domain_events (id, school_id, seq, type, actor_id, payload, occurred_at, enqueued_at)
         SELECT gen_random_uuid(), school_id, a, 'member.joined', NULL,
                jsonb_build_object('userId', user_id, 'name', name, 'role', role), now(), now()
         FROM members
       ), new_projections AS (
         INSERT INTO school_dashboard_projections (school_id, last_seq, admins)
         SELECT id, $2::int, $2::int FROM new_schools
       )
       SELECT school_id, array_agg(user_id ORDER BY a) AS admin_ids, array_agg(email ORDER BY a) AS emails
       FROM members GROUP BY school_id ORDER BY school_id`,
      [schools, perSchool, label],
    )
    await client.query('VACUUM ANALYZE schools, users, memberships, domain_events, school_dashboard_projections')
    return rows.map((row) => ({ id: row.school_id, admins: row.admin_ids.map((id, i) => ({ id, email: row.emails[i]! })) }))
  } finally {
    await client.end()
  }
}
