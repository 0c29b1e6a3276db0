// What changed since a previous look, for the realtime service's periodic passes: each reads only what was
// written since its last pass (through an index), so its cost follows the events, not the number of schools.
//
// A pass returns the database's own time as the starting point of the next one, which looks back a
// margin before it: a transaction that stamped its rows before that time but committed after the pass is
// still seen.
import type { PrismaClient } from '@school/db'

/** How far before the previous pass's time the next pass starts reading. */
export const LOOKBACK_MS = 10_000

export interface ChangedProjections {
  /** Where the next pass starts (the database's clock). */
  nextSince: Date
  changed: Array<{ schoolId: number; lastSeq: number }>
}

/** Projections written since `since` (minus the lookback); without `since`, in the last lookback. */
export async function projectionsChangedSince(prisma: PrismaClient, since: Date | null): Promise<ChangedProjections> {
  const [row] = await prisma.$queryRaw<Array<{ polled_at: Date; schools: number[] | null; seqs: number[] | null }>>`
    SELECT now() AS polled_at, array_agg(school_id) AS schools, array_agg(last_seq) AS seqs
    FROM school_dashboard_projections
    WHERE updated_at >= COALESCE(${since}::timestamptz, now()) - make_interval(secs => ${LOOKBACK_MS / 1000})`
  const schools = row?.schools ?? []
  const seqs = row?.seqs ?? []
  return { nextSince: row!.polled_at, changed: schools.map((schoolId, index) => ({ schoolId, lastSeq: seqs[index]! })) }
}

export interface LaggingSchools {
  /** Where the next pass starts (the database's clock, less the grace). */
  nextSince: Date
  schoolIds: number[]
}

/**
 * Schools with an event enqueued since `since` (minus the lookback) and at least `graceMs` ago that their
 * projection has not applied: its job was lost (Redis lost its data) or is very late. Without `since`, the
 * last lookback.
 */
export async function schoolsBehindRecentEvents(prisma: PrismaClient, since: Date | null, graceMs: number): Promise<LaggingSchools> {
  const [row] = await prisma.$queryRaw<Array<{ next_since: Date; schools: number[] | null }>>`
    WITH bounds AS (
      SELECT now() - make_interval(secs => ${graceMs / 1000}) AS until,
             COALESCE(${since}::timestamptz, now() - make_interval(secs => ${graceMs / 1000})) - make_interval(secs => ${LOOKBACK_MS / 1000}) AS since
    )
    SELECT b.until AS next_since,
           (SELECT array_agg(DISTINCT e.school_id ORDER BY e.school_id)
            FROM domain_events e
            LEFT JOIN school_dashboard_projections p ON p.school_id = e.school_id
            WHERE e.enqueued_at >= b.since AND e.enqueued_at < b.until AND e.seq > COALESCE(p.last_seq, 0)) AS schools
    FROM bounds b`
  return { nextSince: row!.next_since, schoolIds: row?.schools ?? [] }
}
