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
