// Many schools seeded set-based leave the state the API would have: memberships with their events, the
// log's sequence on each school, and a projection equal to both the tables and a fold of the log.
import t from 'tap'
import { createPrismaClient } from '@school/db'
import { foldLog, readProjection, readSchoolMetrics } from '@school/dashboard'
import { createTestDatabase, seedManySchools } from '../src/index.js'

t.test('seeds N schools x K admins, the first of each an owner, consistent with the log', async (t) => {
  const db = await createTestDatabase('ts_many')
  t.teardown(db.drop)
  const prisma = createPrismaClient(db.url, { maxConnections: 2 })
  t.teardown(() => prisma.$disconnect())

  const schools = await seedManySchools(prisma, { schools: 3, adminsPerSchool: 2 })
  t.equal(schools.length, 3)
  for (const school of schools) {
    t.same(
      school.admins.map((admin) => admin.role),
      ['school_owner', 'school_admin'],
      `school ${school.id}: an owner, then an admin`,
    )
    t.equal(school.admins[0]!.name, `Owner of school ${school.id}`)
    const expected = { ...(await readSchoolMetrics(prisma, school.id)) }
    t.same(await readProjection(prisma, school.id), { metrics: expected, lastSeq: 2 }, 'the projection counts what the tables hold')
    const folded = await foldLog(prisma, school.id)
    t.same({ metrics: folded.metrics, lastSeq: folded.lastSeq, deadLettered: folded.deadLettered }, { metrics: expected, lastSeq: 2, deadLettered: [] }, 'and what the log folds to')
    t.equal((await prisma.school.findUniqueOrThrow({ where: { id: school.id } })).lastEventSeq, 2)
  }
  t.equal(await prisma.domainEvent.count({ where: { enqueuedAt: null } }), 0, 'every event counts as enqueued: nothing for an outbox relay')

  const more = await seedManySchools(prisma, { schools: 2, adminsPerSchool: 1, label: 'second' })
  t.equal(new Set([...schools, ...more].map((school) => school.id)).size, 5, 'a second seeding adds schools of its own')
  await t.rejects(seedManySchools(prisma, { schools: 0, adminsPerSchool: 2 }), RangeError)
})
