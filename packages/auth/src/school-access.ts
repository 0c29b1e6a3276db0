// The membership check behind every school-scoped route and channel, read from the database each time,
// never from token claims a user could have kept after losing the role.
import type { PrismaClient } from '@school/db'
import { ADMIN_ROLES, type Role } from '@school/events'

export type SchoolAccess =
  | { kind: 'admin'; role: Role; user: { id: number; email: string | null; name: string } }
  | { kind: 'forbidden' }
  | { kind: 'no_school' }
  | { kind: 'no_user' }

interface AccessRow {
  id: number
  email: string | null
  name: string
  school_exists: boolean
  role: Role | null
}

/**
 * May this user administer this school? Distinguishes a missing school (404) from a refusal (403).
 * One statement: it runs before every school route and dashboard handshake, so it is one round trip.
 */
export async function resolveSchoolAccess(prisma: PrismaClient, userId: number, schoolId: number): Promise<SchoolAccess> {
  const rows = await prisma.$queryRaw<AccessRow[]>`
    SELECT u.id, u.email, u.name, s.id IS NOT NULL AS school_exists, m.role::text AS role
    FROM users u
    LEFT JOIN schools s ON s.id = ${schoolId}
    LEFT JOIN memberships m ON m.school_id = s.id AND m.user_id = u.id
    WHERE u.id = ${userId}`
  const row = rows[0]
  if (!row) return { kind: 'no_user' }
  if (!row.school_exists) return { kind: 'no_school' }
  if (!row.role || !ADMIN_ROLES.includes(row.role)) return { kind: 'forbidden' }
  return { kind: 'admin', role: row.role, user: { id: row.id, email: row.email, name: row.name } }
}

/** A user watching a school, as the realtime service re-checks it. */
export interface SchoolUser {
  schoolId: number
  userId: number
}

/**
 * Of these (school, user) pairs, those whose user is no longer an owner or admin of the school (role
 * changed, membership or account removed). One statement for all of them, whatever their number: the
 * realtime service's safety-net recheck of every open connection.
 */
export async function pairsWithoutAdminAccess(prisma: PrismaClient, pairs: readonly SchoolUser[]): Promise<SchoolUser[]> {
  if (pairs.length === 0) return []
  const rows = await prisma.$queryRaw<Array<{ school_id: number; user_id: number }>>`
    SELECT w.school_id, w.user_id
    FROM unnest(${pairs.map((pair) => pair.schoolId)}::int[], ${pairs.map((pair) => pair.userId)}::int[]) AS w(school_id, user_id)
    WHERE NOT EXISTS (
      SELECT 1 FROM memberships m
      WHERE m.user_id = w.user_id AND m.school_id = w.school_id AND m.role::text = ANY(${[...ADMIN_ROLES]}::text[])
    )`
  return rows.map((row) => ({ schoolId: row.school_id, userId: row.user_id }))
}
