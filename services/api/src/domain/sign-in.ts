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

const USER_RECORD = {
  id: true,
  email: true,
  name: true,
  passwordHash: true,
  memberships: { select: { schoolId: true, role: true, school: { select: { name: true } } }, orderBy: { schoolId: 'asc' } },
} as const

type UserRecord = { id: number; email: string | null; name: string; memberships: Array<{ schoolId: number; role: Role; school: { name: string } }> }

function signedIn(user: UserRecord): SignedInUser {
  return {
    id: user.id,
    email: user.email ?? '',
    name: user.name,
    memberships: user.memberships.map((m) => ({ schoolId: m.schoolId, schoolName: m.school.name, role: m.role })),
  }
}

export async function checkCredentials(prisma: PrismaClient, rawEmail: string, password: string): Promise<SignedInUser | null> {
  const email = normalizeEmail(rawEmail)
  const user = await prisma.user.findUnique({ where: { email }, select: USER_RECORD })
  const valid = await verifyPasswordOrDummy(user?.passwordHash, password)
  if (!user || !valid) return null
  return signedIn(user)
}

/** Who a session's user is now (a refresh answers with it, as sign-in does); null if the account is gone. */
export async function signedInUser(prisma: PrismaClient, userId: number): Promise<SignedInUser | null> {
  const user = await prisma.user.findUnique({ where: { id: userId }, select: USER_RECORD })
  return user ? signedIn(user) : null
}

/** Checks a user's current password (the password change proves it); false for an account without one. */
export async function currentPasswordMatches(prisma: PrismaClient, userId: number, password: string): Promise<boolean> {
  const user = await prisma.user.findUnique({ where: { id: userId }, select: { passwordHash: true } })
  return verifyPasswordOrDummy(user?.passwordHash, password)
}
