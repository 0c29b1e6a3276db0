// The demo world the quick start shows: two schools, their owners and a teacher. Idempotent: running it
// again changes nothing and never resets a password someone changed.
import { addMember, type PrismaClient, type Role } from '@school/db'
import { hashPassword } from '@school/auth'

export interface DemoAccount {
  email: string
  password: string
  name: string
  memberships: Array<{ schoolId: number; role: Role }>
}

export const DEMO_SCHOOLS = [
  { id: 1, name: 'Escola Demo' },
  { id: 2, name: 'Escola Dois' },
] as const

export const DEMO_ACCOUNTS: readonly DemoAccount[] = [
  { email: 'owner@example.com', password: 'owner-password', name: 'Olivia Owner', memberships: [{ schoolId: 1, role: 'school_owner' }] },
  { email: 'owner2@example.com', password: 'owner2-password', name: 'Otto Owner', memberships: [{ schoolId: 2, role: 'school_owner' }] },
  { email: 'teacher@example.com', password: 'teacher-password', name: 'Tania Teacher', memberships: [{ schoolId: 1, role: 'teacher' }] },
]

export interface SeedResult {
  createdUsers: number
  createdSchools: number
  createdMemberships: number
}

export async function seedDemoData(prisma: PrismaClient): Promise<SeedResult> {
  const result: SeedResult = { createdUsers: 0, createdSchools: 0, createdMemberships: 0 }
  for (const school of DEMO_SCHOOLS) {
    const existing = await prisma.school.findUnique({ where: { id: school.id } })
    if (!existing) {
      await prisma.school.create({ data: school })
      result.createdSchools += 1
    }
  }
  // Explicit ids do not advance the serial sequence; move it past them so later schools get fresh ids.
  await prisma.$executeRaw`SELECT setval(pg_get_serial_sequence('schools', 'id'), GREATEST((SELECT max(id) FROM schools), 1))`

  for (const account of DEMO_ACCOUNTS) {
    let user = await prisma.user.findUnique({ where: { email: account.email } })
    if (!user) {
      user = await prisma.user.create({
        data: { email: account.email, name: account.name, passwordHash: await hashPassword(account.password) },
      })
      result.createdUsers += 1
    }
    for (const membership of account.memberships) {
      const found = await prisma.membership.findUnique({
        where: { userId_schoolId: { userId: user.id, schoolId: membership.schoolId } },
      })
      if (!found) {
        await addMember(prisma, { userId: user.id, name: user.name, ...membership })
        result.createdMemberships += 1
      }
    }
  }
  return result
}
