// Checking an email and password. Unknown email, wrong password and an account without a password all
// look the same from outside: same answer, and the same Argon2 work.
import { verifyPasswordOrDummy } from '@school/auth'
import type { PrismaClient } from '@school/db'
import type { Role } from '@school/events'
import { normalizeEmail } from './users.js'

export interface SignedInUser {
  id: number
  email: string
  name: string
  memberships: Array<{ schoolId: number; schoolName: string; role: Role }>
}

export async function checkCredentials(prisma: PrismaClient, rawEmail: string, password: string): Promise<SignedInUser | null> {
  const email = normalizeEmail(rawEmail)
  const user = await prisma.user.findUnique({
    where: { email },
    select: {
      id: true,
      email: true,
      name: true,
      passwordHash: true,
      memberships: { select: { schoolId: true, role: true, school: { select: { name: true } } }, orderBy: { schoolId: 'asc' } },
    },
  })
  const valid = await verifyPasswordOrDummy(user?.passwordHash, password)
  if (!user || !valid) return null
  return {
    id: user.id,
    email,
    name: user.name,
    memberships: user.memberships.map((m) => ({ schoolId: m.schoolId, schoolName: m.school.name, role: m.role })),
  }
}
