import t from 'tap'
import { createPrismaClient } from '@school/db'
import { createTestDatabase } from '@school/db/testing'
import { resolveSchoolAccess } from '../src/index.js'

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
