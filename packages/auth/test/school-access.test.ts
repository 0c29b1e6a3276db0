import t from 'tap'
import { createPrismaClient } from '@school/db'
import { createTestDatabase } from '@school/db/testing'
import { pairsWithoutAdminAccess, resolveSchoolAccess } from '../src/index.js'

t.test('tells admins, refusals and missing schools apart, from the database', async (t) => {
  const db = await createTestDatabase('auth')
  t.teardown(db.drop)
  const prisma = createPrismaClient(db.url, { maxConnections: 2 })
  t.teardown(() => prisma.$disconnect())
  const school = await prisma.school.create({ data: { name: 'S' } })
  const [owner, admin, teacher, stranger] = await Promise.all(
    ['owner', 'admin', 'teacher', 'stranger'].map((name) => prisma.user.create({ data: { email: `${name}@x.test`, name } })),
  )
  await prisma.membership.createMany({
    data: [
      { userId: owner!.id, schoolId: school.id, role: 'school_owner' },
      { userId: admin!.id, schoolId: school.id, role: 'school_admin' },
      { userId: teacher!.id, schoolId: school.id, role: 'teacher' },
    ],
  })
  t.same(await resolveSchoolAccess(prisma, owner!.id, school.id), {
    kind: 'admin',
    role: 'school_owner',
    user: { id: owner!.id, email: 'owner@x.test', name: 'owner' },
  })
  t.match(await resolveSchoolAccess(prisma, admin!.id, school.id), { kind: 'admin', role: 'school_admin' })
  t.same(await resolveSchoolAccess(prisma, teacher!.id, school.id), { kind: 'forbidden' })
  t.same(await resolveSchoolAccess(prisma, stranger!.id, school.id), { kind: 'forbidden' })
  t.same(await resolveSchoolAccess(prisma, owner!.id, school.id + 1000), { kind: 'no_school' })
  t.same(await resolveSchoolAccess(prisma, 999_999, school.id), { kind: 'no_user' })
  t.same(await resolveSchoolAccess(prisma, 999_999, school.id + 1000), { kind: 'no_user' }, 'an unknown user is told first')

  // Losing the role takes effect at once, whatever a token still says.
  await prisma.membership.update({ where: { userId_schoolId: { userId: admin!.id, schoolId: school.id } }, data: { role: 'teacher' } })
  t.same(await resolveSchoolAccess(prisma, admin!.id, school.id), { kind: 'forbidden' })
})

t.test('finds, in one statement, the watched (school, user) pairs that lost owner or admin access', async (t) => {
  const db = await createTestDatabase('auth_pairs')
  t.teardown(db.drop)
  const prisma = createPrismaClient(db.url, { maxConnections: 2 })
  t.teardown(() => prisma.$disconnect())
  const [one, two] = await Promise.all(['One', 'Two'].map((name) => prisma.school.create({ data: { name } })))
  const [owner, admin, demoted, removed] = await Promise.all(
    ['owner', 'admin', 'demoted', 'removed'].map((name) => prisma.user.create({ data: { email: `${name}@x.test`, name } })),
  )
  await prisma.membership.createMany({
    data: [
      { userId: owner!.id, schoolId: one!.id, role: 'school_owner' },
      { userId: owner!.id, schoolId: two!.id, role: 'teacher' },
      { userId: admin!.id, schoolId: one!.id, role: 'school_admin' },
      { userId: demoted!.id, schoolId: one!.id, role: 'student' },
    ],
  })
  const pair = (school: { id: number }, user: { id: number }) => ({ schoolId: school.id, userId: user.id })
  t.same(await pairsWithoutAdminAccess(prisma, []), [], 'nothing to check, no statement')
  const lost = await pairsWithoutAdminAccess(prisma, [pair(one!, owner!), pair(two!, owner!), pair(one!, admin!), pair(one!, demoted!), pair(one!, removed!)])
  t.same(
    lost.sort((a, b) => a.schoolId - b.schoolId || a.userId - b.userId),
    [pair(one!, demoted!), pair(one!, removed!), pair(two!, owner!)].sort((a, b) => a.schoolId - b.schoolId || a.userId - b.userId),
    'a teacher or student role, or no membership at all, is no access; owners and admins keep theirs',
  )
})
