import t from 'tap'
import { createPrismaClient } from '@school/db'
import { createTestDatabase } from '@school/db/testing'
import { randomUUID } from 'node:crypto'
import { resolveSchoolAccess, watchersWithoutAccess } from '../src/index.js'

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

t.test('a token of a revoked session is refused before anything else is looked at; one of no session is not tied to any', async (t) => {
  const db = await createTestDatabase('auth_session')
  t.teardown(db.drop)
  const prisma = createPrismaClient(db.url, { maxConnections: 2 })
  t.teardown(() => prisma.$disconnect())
  const school = await prisma.school.create({ data: { name: 'S' } })
  const [owner, other] = await Promise.all(['owner', 'other'].map((name) => prisma.user.create({ data: { email: `${name}@x.test`, name } })))
  await prisma.membership.create({ data: { userId: owner!.id, schoolId: school.id, role: 'school_owner' } })
  const later = new Date(Date.now() + 3_600_000)
  const session = (userId: number) => prisma.session.create({ data: { id: randomUUID(), userId, expiresAt: later, idleExpiresAt: later } })
  const [live, revoked, othersSession] = [await session(owner!.id), await session(owner!.id), await session(other!.id)]
  await prisma.session.update({ where: { id: revoked.id }, data: { revokedAt: new Date(), revokedReason: 'logout' } })

  t.match(await resolveSchoolAccess(prisma, owner!.id, school.id, live.id), { kind: 'admin', role: 'school_owner' })
  t.match(await resolveSchoolAccess(prisma, owner!.id, school.id), { kind: 'admin' }, 'a token of no session')
  t.same(await resolveSchoolAccess(prisma, owner!.id, school.id, revoked.id), { kind: 'session_ended' })
  t.same(await resolveSchoolAccess(prisma, owner!.id, school.id + 1000, revoked.id), { kind: 'session_ended' }, 'before the school is looked at')
  t.same(await resolveSchoolAccess(prisma, owner!.id, school.id, othersSession.id), { kind: 'session_ended' }, "another user's session is not this user's")
  t.same(await resolveSchoolAccess(prisma, owner!.id, school.id, randomUUID()), { kind: 'session_ended' }, 'an unknown session')
})

t.test('finds, in one statement, the watchers that lost owner or admin access or whose session ended', async (t) => {
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
  const order = (a: { schoolId: number; userId: number }, b: { schoolId: number; userId: number }) => a.schoolId - b.schoolId || a.userId - b.userId
  t.same(await watchersWithoutAccess(prisma, []), [], 'nothing to check, no statement')
  const lost = await watchersWithoutAccess(prisma, [pair(one!, owner!), pair(two!, owner!), pair(one!, admin!), pair(one!, demoted!), pair(one!, removed!)])
  t.same(
    lost.sort(order),
    [pair(one!, demoted!), pair(one!, removed!), pair(two!, owner!)].sort(order).map((watcher) => ({ ...watcher, reason: 'access' })),
    'a teacher or student role, or no membership at all, is no access; owners and admins keep theirs',
  )

  const later = new Date(Date.now() + 3_600_000)
  const [live, ended] = await Promise.all(
    [1, 2].map(() => prisma.session.create({ data: { id: randomUUID(), userId: admin!.id, expiresAt: later, idleExpiresAt: later } })),
  )
  await prisma.session.update({ where: { id: ended!.id }, data: { revokedAt: new Date(), revokedReason: 'password_changed' } })
  const withSessions = await watchersWithoutAccess(prisma, [
    { ...pair(one!, admin!), sessionId: live!.id },
    { ...pair(one!, admin!), sessionId: ended!.id },
    { ...pair(one!, demoted!), sessionId: ended!.id },
    pair(one!, owner!),
  ])
  t.same(
    withSessions.sort((a, b) => order(a, b) || a.reason.localeCompare(b.reason)),
    [
      { ...pair(one!, admin!), sessionId: ended!.id, reason: 'session' },
      { ...pair(one!, demoted!), sessionId: ended!.id, reason: 'session' },
    ].sort(order),
    "a revoked session ends its watchers (and another user's session id is not theirs); a live one keeps them",
  )
})
