// The membership check behind every school-scoped route and channel, read from the database each time,
// never from token claims a user could have kept after losing the role.
import type { PrismaClient } from '@school/db'
import { ADMIN_ROLES, type Role } from '@school/events'

export type SchoolAccess =
  | { kind: 'admin'; role: Role; user: { id: number; email: string | null; name: string } }
  | { kind: 'forbidden' }
  | { kind: 'no_school' }
  | { kind: 'no_user' }

/** May this user administer this school? Distinguishes a missing school (404) from a refusal (403). */
export async function resolveSchoolAccess(prisma: PrismaClient, userId: number, schoolId: number): Promise<SchoolAccess> {
  const [school, user] = await Promise.all([
    prisma.school.findUnique({
      where: { id: schoolId },
      select: { memberships: { where: { userId }, select: { role: true } } },
    }),
    prisma.user.findUnique({ where: { id: userId }, select: { id: true, email: true, name: true } }),
  ])
  if (!user) return { kind: 'no_user' }
  if (!school) return { kind: 'no_school' }
  const role = school.memberships[0]?.role
  if (!role || !ADMIN_ROLES.includes(role)) return { kind: 'forbidden' }
  return { kind: 'admin', role, user }
}
