// A known world to test against: school A with an owner, an admin, a teacher and a student; school B
// with its own owner; and a user who belongs to no school.
import { addMember, type PrismaClient } from '@school/db'
import { hashPassword } from '@school/auth'
import { metricsWith, type Role, type SchoolMetrics } from '@school/events'

export interface FixtureUser {
  id: number
  email: string
  password: string
  name: string
}

export interface Fixture {
  schoolA: { id: number; name: string }
  schoolB: { id: number; name: string }
  ownerA: FixtureUser
  adminA: FixtureUser
  teacherA: FixtureUser
  studentA: FixtureUser
  ownerB: FixtureUser
  outsider: FixtureUser
}

/** The dashboard counters of the fixture's schools as created: what a first snapshot must show. */
export const FIXTURE_METRICS = {
  schoolA: metricsWith({ students: 1, teachers: 1, admins: 2 }),
  schoolB: metricsWith({ admins: 1 }),
} as const satisfies Record<string, SchoolMetrics>

export async function createFixture(prisma: PrismaClient): Promise<Fixture> {
  // One hash for all: Argon2 is slow on purpose and tests need not pay for it six times.
  const password = 'fixture-password'
  const passwordHash = await hashPassword(password)
  const user = async (key: string, name: string): Promise<FixtureUser> => {
    const email = `${key}@fixture.test`
    const row = await prisma.user.create({ data: { email, name, passwordHash } })
    return { id: row.id, email, password, name }
  }
  const schoolA = await prisma.school.create({ data: { name: 'School A' } })
  const schoolB = await prisma.school.create({ data: { name: 'School B' } })
  const [ownerA, adminA, teacherA, studentA, ownerB, outsider] = await Promise.all([
    user('owner-a', 'Olivia Owner'),
    user('admin-a', 'Adam Admin'),
    user('teacher-a', 'Tereza Teacher'),
    user('student-a', 'Samuel Student'),
    user('owner-b', 'Bruno Owner'),
    user('outsider', 'Otto Outsider'),
  ])
  const memberships: Array<[FixtureUser, number, Role]> = [
    [ownerA, schoolA.id, 'school_owner'],
    [adminA, schoolA.id, 'school_admin'],
    [teacherA, schoolA.id, 'teacher'],
    [studentA, schoolA.id, 'student'],
    [ownerB, schoolB.id, 'school_owner'],
  ]
  // One at a time and through the log, as the projection must be rebuildable from it.
  for (const [member, schoolId, role] of memberships) await addMember(prisma, { userId: member.id, schoolId, role, name: member.name })
  return {
    schoolA: { id: schoolA.id, name: schoolA.name },
    schoolB: { id: schoolB.id, name: schoolB.name },
    ownerA,
    adminA,
    teacherA,
    studentA,
    ownerB,
    outsider,
  }
}
