import t from 'tap'
import { createPrismaClient } from '@school/db'
import { createTestDatabase } from '@school/db/testing'
import { verifyPassword } from '@school/auth'
import { DEMO_ACCOUNTS, seedDemoData } from '../src/index.js'

t.test('the demo data loads once and a second run changes nothing', async (t) => {
  const db = await createTestDatabase('seed')
  t.teardown(db.drop)
  const prisma = createPrismaClient(db.url, { maxConnections: 2 })
  t.teardown(() => prisma.$disconnect())
  t.same(await seedDemoData(prisma), { createdUsers: 3, createdSchools: 2, createdMemberships: 3 })
  t.same(await seedDemoData(prisma), { createdUsers: 0, createdSchools: 0, createdMemberships: 0 })
  const school = await prisma.school.findUniqueOrThrow({ where: { id: 1 }, include: { memberships: { include: { user: true } } } })
  t.equal(school.name, 'Escola Demo')
  t.same(school.memberships.map((m) => [m.user.email, m.role]).sort(), [
    ['owner@example.com', 'school_owner'],
    ['teacher@example.com', 'teacher'],
  ])
  for (const account of DEMO_ACCOUNTS) {
    const user = await prisma.user.findUniqueOrThrow({ where: { email: account.email } })
    t.ok(await verifyPassword(user.passwordHash!, account.password), `${account.email} signs in with the documented password`)
  }
  const next = await prisma.school.create({ data: { name: 'Third' } })
  t.equal(next.id, 3, 'new schools get ids after the demo ones')
})
