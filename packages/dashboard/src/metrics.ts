// The school's counters, computed from the current state in two grouped queries.
import type { TransactionClient } from '@school/db'
import { EMPTY_METRICS, type SchoolMetrics } from '@school/events'

export { EMPTY_METRICS }

interface CountsRow {
  students: number
  teachers: number
  admins: number
  classes: number
  pending: number
  accepted: number
  declined: number
  cancelled: number
  expired: number
}

export async function readSchoolMetrics(prisma: TransactionClient, schoolId: number): Promise<SchoolMetrics> {
  // One round trip. Counts by stored status, exactly what folding the event log gives: a lapsed
  // invitation counts as expired once the API's expiry sweep has recorded its `invitation.expired`.
  const [row] = await prisma.$queryRaw<CountsRow[]>`
    SELECT
      (SELECT count(*) FROM memberships WHERE school_id = ${schoolId} AND role = 'student')::int AS students,
      (SELECT count(*) FROM memberships WHERE school_id = ${schoolId} AND role = 'teacher')::int AS teachers,
      (SELECT count(*) FROM memberships WHERE school_id = ${schoolId} AND role IN ('school_owner', 'school_admin'))::int AS admins,
      (SELECT count(*) FROM classes WHERE school_id = ${schoolId})::int AS classes,
      i.pending, i.accepted, i.declined, i.cancelled, i.expired
    FROM (
      SELECT
        count(*) FILTER (WHERE status = 'pending')::int AS pending,
        count(*) FILTER (WHERE status = 'accepted')::int AS accepted,
        count(*) FILTER (WHERE status = 'declined')::int AS declined,
        count(*) FILTER (WHERE status = 'cancelled')::int AS cancelled,
        count(*) FILTER (WHERE status = 'expired')::int AS expired
      FROM invitations WHERE school_id = ${schoolId}
    ) AS i`
  if (!row) return { ...EMPTY_METRICS }
  return {
    students: row.students,
    teachers: row.teachers,
    admins: row.admins,
    classes: row.classes,
    pendingInvitations: row.pending,
    acceptedInvitations: row.accepted,
    declinedInvitations: row.declined,
    cancelledInvitations: row.cancelled,
    expiredInvitations: row.expired,
  }
}
