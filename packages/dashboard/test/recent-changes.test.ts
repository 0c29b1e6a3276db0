// The periodic passes' reads: only what was written since the previous pass (less a lookback), on the
// database's clock, whatever the number of schools.
import t from 'tap'
import { createPrismaClient, addMember, appendDomainEvent, type PrismaClient } from '@school/db'
import { createTestDatabase } from '@school/db/testing'
import { advanceProjections, projectionsChangedSince, rebuildProjections, schoolsBehindRecentEvents } from '../src/index.js'
import { LOOKBACK_MS } from '../src/recent-changes.js'

const db = await createTestDatabase('recent_changes')
t.teardown(db.drop)
const prisma = createPrismaClient(db.url, { maxConnections: 2 })
t.teardown(() => prisma.$disconnect())

async function newSchool(prisma: PrismaClient): Promise<number> {
  const school = await prisma.school.create({ data: { name: 'S' } })
  const owner = await prisma.user.create({ data: { name: 'Olivia Owner' } })
  await addMember(prisma, { userId: owner.id, schoolId: school.id, role: 'school_owner', name: owner.name })
  return school.id
}

/** Moves a projection's write time, or an event's enqueue time, into the past. */
const age = {
  projection: (schoolId: number, ms: number) =>
    prisma.$executeRaw`UPDATE school_dashboard_projections SET updated_at = now() - make_interval(secs => ${ms / 1000}) WHERE school_id = ${schoolId}`,
  events: (schoolId: number, ms: number) =>
    prisma.$executeRaw`UPDATE domain_events SET enqueued_at = now() - make_interval(secs => ${ms / 1000}) WHERE school_id = ${schoolId}`,
}

t.test('projectionsChangedSince: the projections written since the previous pass, less the lookback', async (t) => {
  const [quiet, busy] = [await newSchool(prisma), await newSchool(prisma)]
  await rebuildProjections(prisma)
  await age.projection(quiet, LOOKBACK_MS + 60_000)
  await age.projection(busy, LOOKBACK_MS + 60_000)
  const first = await projectionsChangedSince(prisma, null)
  t.same(first.changed, [], 'nothing written within the lookback: nothing read')

  await prisma.$transaction((tx) => appendDomainEvent(tx, { schoolId: busy, type: 'class.created', actorId: null, payload: { classId: 1, name: 'C', teacherId: null, teacherName: null } }))
  await advanceProjections(prisma, [busy])
  const second = await projectionsChangedSince(prisma, first.nextSince)
  t.same(second.changed, [{ schoolId: busy, lastSeq: 2 }], 'the school whose projection moved, at its new seq')
  t.ok(second.nextSince.getTime() >= first.nextSince.getTime(), 'the next pass starts later')

  await age.projection(busy, LOOKBACK_MS - 2_000)
  t.same((await projectionsChangedSince(prisma, second.nextSince)).changed, [{ schoolId: busy, lastSeq: 2 }], 'a write stamped within the lookback before the previous pass is still seen')
})

t.test('schoolsBehindRecentEvents: schools with an event enqueued in the window that their projection lacks', async (t) => {
  const [applied, lost, fresh] = [await newSchool(prisma), await newSchool(prisma), await newSchool(prisma)]
  await rebuildProjections(prisma)
  for (const schoolId of [applied, lost, fresh]) {
    await prisma.$transaction((tx) => appendDomainEvent(tx, { schoolId, type: 'class.created', actorId: null, payload: { classId: 1, name: 'C', teacherId: null, teacherName: null } }))
    await prisma.domainEvent.updateMany({ where: { schoolId }, data: { enqueuedAt: new Date() } })
  }
  await advanceProjections(prisma, [applied])
  await age.events(applied, 3_000)
  await age.events(lost, 3_000)
  const { schoolIds, nextSince } = await schoolsBehindRecentEvents(prisma, null, 2_000)
  t.same(schoolIds, [lost], 'the applied school is not behind; the fresh one is within the grace (its job may be on its way)')
  t.ok(nextSince.getTime() < Date.now() - 1_000, 'the next pass starts at the grace boundary')
  await advanceProjections(prisma, [lost])
  t.same((await schoolsBehindRecentEvents(prisma, nextSince, 2_000)).schoolIds, [], 'once applied, nothing is behind')
})
