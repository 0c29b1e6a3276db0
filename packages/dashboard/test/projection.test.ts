// The dashboard projection: folded from the log in order, once per sequence number, rebuildable, and
// never blocked by an event it cannot apply.
import t from 'tap'
import { createPrismaClient, appendDomainEvent, addMember, type PrismaClient, type Role } from '@school/db'
import { createTestDatabase, waitUntilBlockedOnLock } from '@school/db/testing'
import { advanceProjections, eventsSince, foldLog, readProjection, readSchoolMetrics, rebuildProjections } from '../src/index.js'
import { withActor, type EventRowWithActor } from '../src/event-log.js'
import { EMPTY_METRICS } from '../src/metrics.js'
import { advanceProjection } from './helper.js'

const db = await createTestDatabase('projection')
t.teardown(db.drop)
const prisma = createPrismaClient(db.url, { maxConnections: 4 })
t.teardown(() => prisma.$disconnect())

async function newSchool(prisma: PrismaClient) {
  const school = await prisma.school.create({ data: { name: 'S' } })
  const owner = await prisma.user.create({ data: { name: 'Olivia Owner' } })
  await addMember(prisma, { userId: owner.id, schoolId: school.id, role: 'school_owner', name: owner.name })
  return school.id
}

const invitation = (id: number, status: string, role = 'teacher') => ({ invitationId: id, email: `i${id}@x.test`, role, status })

async function append(schoolId: number, type: string, payload: object) {
  return prisma.$transaction((tx) => appendDomainEvent(tx, { schoolId, type, actorId: null, payload: payload as never }))
}

/**
 * Locks the school's projection row in a transaction of its own; the returned function makes that
 * transaction store `counters` (and a new version) and commit, and resolves once it has.
 */
async function holdProjectionRow(schoolId: number, counters: { students?: number; classes?: number }): Promise<() => Promise<void>> {
  let release!: () => void
  const released = new Promise<void>((resolve) => (release = resolve))
  let locked!: () => void
  const rowLocked = new Promise<void>((resolve) => (locked = resolve))
  const writer = prisma.$transaction(async (tx) => {
    await tx.$queryRaw`SELECT 1 FROM school_dashboard_projections WHERE school_id = ${schoolId} FOR UPDATE`
    locked()
    await released
    await tx.schoolDashboardProjection.update({ where: { schoolId }, data: { ...counters, version: { increment: 1 } } })
  })
  await rowLocked
  return async () => {
    release()
    await writer
  }
}

t.test('applies every pending event of the log, in order, exactly once', async (t) => {
  const schoolId = await newSchool(prisma)
  await append(schoolId, 'invitation.created', invitation(1, 'pending'))
  await append(schoolId, 'invitation.created', invitation(2, 'pending', 'school_admin'))
  await append(schoolId, 'invitation.accepted', { ...invitation(2, 'accepted', 'school_admin'), userId: 99 })
  await append(schoolId, 'student.registered', { userId: 5, name: 'Sam', email: null })
  await append(schoolId, 'class.created', { classId: 1, name: '5A', teacherId: null, teacherName: null })
  await append(schoolId, 'invitation.cancelled', invitation(1, 'cancelled'))

  const first = await advanceProjection(prisma, schoolId)
  t.same(first?.applied.map((e) => e.seq), [1, 2, 3, 4, 5, 6, 7])
  const expected = { ...EMPTY_METRICS, admins: 2, students: 1, classes: 1, acceptedInvitations: 1, cancelledInvitations: 1 }
  t.same(first?.metrics, expected)
  t.equal(first?.lastSeq, 7)

  // A redelivered job, or one that arrives after a later job already caught up: nothing to apply.
  const again = await advanceProjection(prisma, schoolId)
  t.same(again?.applied, [])
  t.same(await readProjection(prisma, schoolId), { metrics: expected, lastSeq: 7 })
})

t.test('concurrent advances of one school never double count', async (t) => {
  const schoolId = await newSchool(prisma)
  for (let i = 1; i <= 30; i++) await append(schoolId, 'invitation.created', invitation(i, 'pending'))
  const results = await Promise.all(Array.from({ length: 6 }, () => advanceProjection(prisma, schoolId, { limit: 7 })))
  const appliedSeqs = results.flatMap((r) => r?.applied.map((e) => e.seq) ?? []).sort((a, b) => a - b)
  // Six calls of at most 7 events may or may not cover all 31; whatever they applied, they applied once.
  t.same(appliedSeqs, Array.from({ length: appliedSeqs.length }, (_, i) => i + 1))
  while ((await advanceProjection(prisma, schoolId))?.applied.length);
  const { metrics, lastSeq } = await readProjection(prisma, schoolId)
  t.equal(lastSeq, 31)
  t.equal(metrics.pendingInvitations, 30)
})

// Two statements store a fold: a plain conditional UPDATE for a single school, the general one (unnest, locks
// in school order, dead letters) for several or with dead letters. Each must lose to a write that came first,
// and a dead letter be kept once, by the write that stores its fold.
for (const shape of ['alone', 'beside another school', 'with an event it dead-letters'] as const) {
  t.test(`an advance that read before another write is redone from that write, never stored over it (${shape})`, async (t) => {
    const schoolId = await newSchool(prisma)
    const other = shape === 'beside another school' ? await newSchool(prisma) : undefined
    const schools = other === undefined ? [schoolId] : [schoolId, other]
    await advanceProjections(prisma, schools)
    await append(schoolId, 'invitation.created', invitation(1, 'pending'))
    const poison = shape === 'with an event it dead-letters' ? await append(schoolId, 'no.such.type', { whatever: true }) : undefined
    if (other !== undefined) await append(other, 'class.created', { classId: 1, name: '5A', teacherId: null, teacherName: null })
    // A writer holding the row, as a rebuild does, that will store corrected counters at the same last_seq.
    const writeHeld = await holdProjectionRow(schoolId, { students: 40 })
    const advancing = advanceProjections(prisma, schools)
    // The advance has read the old version and waits for the row with its compare-and-set.
    await waitUntilBlockedOnLock(prisma, shape === 'alone' ? 'WHERE school_id = $' : 'FOR UPDATE OF p')
    await writeHeld()
    const result = await advancing
    t.same(result.get(schoolId)?.applied.map((e) => e.seq), [2], 'the event is applied once, after the retry')
    const lastSeq = poison ? 3 : 2
    t.same(await readProjection(prisma, schoolId), { metrics: { ...EMPTY_METRICS, admins: 1, students: 40, pendingInvitations: 1 }, lastSeq }, "on the other writer's counters")
    if (poison) {
      t.same(result.get(schoolId)?.deadLettered.map((d) => d.seq), [3], 'the poison event is skipped')
      const letters = await prisma.deadLetterEvent.findMany({ where: { schoolId } })
      t.same(letters.map((l) => l.eventId), [poison.id], 'and kept once, by the write that stored the fold')
    }
    if (other !== undefined) {
      t.same(result.get(other)?.applied.map((e) => e.seq), [2], 'the other school, not held, is stored by the first write')
      t.same(await readProjection(prisma, other), { metrics: { ...EMPTY_METRICS, admins: 1, classes: 1 }, lastSeq: 2 })
    }
  })
}

t.test('a poison event is dead-lettered and skipped; the events after it still apply', async (t) => {
  const schoolId = await newSchool(prisma)
  await append(schoolId, 'invitation.created', invitation(1, 'pending'))
  const poison = await append(schoolId, 'no.such.type', { whatever: true })
  await append(schoolId, 'invitation.created', { invitationId: 2, email: 'x', role: 'principal', status: 'pending' })
  await append(schoolId, 'class.created', { classId: 1, name: '5A', teacherId: null, teacherName: null })
  const result = await advanceProjection(prisma, schoolId)
  t.same(result?.applied.map((e) => e.seq), [1, 2, 5])
  t.same(result?.deadLettered.map((d) => d.seq), [3, 4])
  t.match(result?.deadLettered[0]?.error, /unknown type no\.such\.type/)
  t.match(result?.deadLettered[1]?.error, /unknown role "principal"/)
  t.equal(result?.lastSeq, 5)
  t.same(result?.metrics, { ...EMPTY_METRICS, admins: 1, pendingInvitations: 1, classes: 1 })
  const letters = await prisma.deadLetterEvent.findMany({ where: { schoolId }, orderBy: { seq: 'asc' } })
  t.same(letters.map((l) => [l.eventId, l.seq]), [[poison.id, 3], [letters[1]!.eventId, 4]])
  // The replay of the log skips it the same way.
  const slice = await eventsSince(prisma, schoolId, 1, 100)
  t.same(slice.events.map((e) => e.seq), [2, 5])
  t.equal(slice.lastSeq, 5)
})

t.test('rebuilding every projection from the log gives the live numbers', async (t) => {
  const schoolId = await newSchool(prisma)
  for (let i = 1; i <= 12; i++) await append(schoolId, 'invitation.created', invitation(i, 'pending', i % 2 ? 'teacher' : 'student'))
  for (let i = 1; i <= 4; i++) await append(schoolId, 'invitation.accepted', { ...invitation(i, 'accepted', i % 2 ? 'teacher' : 'student'), userId: 100 + i })
  await append(schoolId, 'invitation.declined', invitation(5, 'declined'))
  await append(schoolId, 'invitation.expired', invitation(6, 'expired'))
  while ((await advanceProjection(prisma, schoolId))?.applied.length);
  const live = await readProjection(prisma, schoolId)
  t.same(await foldLog(prisma, schoolId), { ...live, deadLettered: [] })

  // Corrupt the stored counters; a rebuild restores exactly what the log says.
  await prisma.schoolDashboardProjection.update({ where: { schoolId }, data: { teachers: 1000, lastSeq: 3 } })
  const rebuilt = await rebuildProjections(prisma, [schoolId])
  t.same(rebuilt, [{ schoolId, metrics: live.metrics, lastSeq: live.lastSeq, changed: true }])
  t.same(await readProjection(prisma, schoolId), live)
  t.same((await rebuildProjections(prisma, [schoolId]))[0]?.changed, false)
})

t.test('a rebuild records the dead letters of its fold, once however often it runs', async (t) => {
  const schoolId = await newSchool(prisma)
  const poison = await append(schoolId, 'no.such.type', { whatever: true })
  await append(schoolId, 'invitation.created', invitation(1, 'pending'))
  const [rebuilt] = await rebuildProjections(prisma, [schoolId])
  t.same(rebuilt, { schoolId, metrics: { ...EMPTY_METRICS, admins: 1, pendingInvitations: 1 }, lastSeq: 3, changed: true })
  t.same((await rebuildProjections(prisma, [schoolId]))[0]?.changed, false)
  const letters = await prisma.deadLetterEvent.findMany({ where: { schoolId } })
  t.same(letters.map((l) => [l.eventId, l.seq, l.error]), [[poison.id, 2, `event ${poison.id} has unknown type no.such.type`]])
})

t.test('the projection of a log written by real changes equals the counters of the tables', async (t) => {
  const schoolId = await newSchool(prisma)
  const sam = await prisma.user.create({ data: { name: 'Sam' } })
  await addMember(prisma, { userId: sam.id, schoolId, role: 'student', name: 'Sam' })
  while ((await advanceProjection(prisma, schoolId))?.applied.length);
  t.same((await readProjection(prisma, schoolId)).metrics, await readSchoolMetrics(prisma, schoolId))
})

/** Removes a member the way the API does: the membership and its event in one transaction. */
async function removeMember(schoolId: number, userId: number) {
  await prisma.$transaction(async (tx) => {
    const membership = await tx.membership.delete({ where: { userId_schoolId: { userId, schoolId } }, include: { user: true } })
    await appendDomainEvent(tx, { schoolId, type: 'member.removed', actorId: null, payload: { userId, name: membership.user.name, role: membership.role } })
  })
}

/** Changes a member's role the way the API does: the membership and its event in one transaction. */
async function changeRole(schoolId: number, userId: number, role: Role) {
  await prisma.$transaction(async (tx) => {
    const before = await tx.membership.findUniqueOrThrow({ where: { userId_schoolId: { userId, schoolId } }, include: { user: true } })
    await tx.membership.update({ where: { id: before.id }, data: { role } })
    await appendDomainEvent(tx, {
      schoolId,
      type: 'member.role_changed',
      actorId: null,
      payload: { userId, name: before.user.name, role, previousRole: before.role },
    })
  })
}

t.test('removals and role changes move the counters of the roles involved; owners and admins share one', async (t) => {
  const schoolId = await newSchool(prisma)
  const member = async (name: string, role: Role) => {
    const user = await prisma.user.create({ data: { name } })
    await addMember(prisma, { userId: user.id, schoolId, role, name })
    return user.id
  }
  const [admin, teacher, student, coOwner] = [
    await member('Adam Admin', 'school_admin'),
    await member('Tom Teacher', 'teacher'),
    await member('Sam Student', 'student'),
    await member('Olga Owner', 'school_owner'),
  ]
  const joined = await advanceProjection(prisma, schoolId)
  t.same(joined?.metrics, { ...EMPTY_METRICS, admins: 3, teachers: 1, students: 1 })

  const steps: Array<[string, () => Promise<void>, Partial<typeof EMPTY_METRICS>]> = [
    ['teacher made admin', () => changeRole(schoolId, teacher, 'school_admin'), { admins: 4, teachers: 0, students: 1 }],
    ['owner made admin', () => changeRole(schoolId, coOwner, 'school_admin'), { admins: 4, teachers: 0, students: 1 }],
    ['admin made teacher', () => changeRole(schoolId, admin, 'teacher'), { admins: 3, teachers: 1, students: 1 }],
    ['student made teacher', () => changeRole(schoolId, student, 'teacher'), { admins: 3, teachers: 2, students: 0 }],
    ['teacher removed (the former student)', () => removeMember(schoolId, student), { admins: 3, teachers: 1, students: 0 }],
    ['admin removed (the former co-owner)', () => removeMember(schoolId, coOwner), { admins: 2, teachers: 1, students: 0 }],
  ]
  for (const [name, step, counters] of steps) {
    await step()
    const result = await advanceProjection(prisma, schoolId)
    t.same(result?.applied.map((e) => e.type), [name.includes('removed') ? 'member.removed' : 'member.role_changed'], name)
    t.same(result?.metrics, { ...EMPTY_METRICS, ...counters }, name)
    t.same(result?.metrics, await readSchoolMetrics(prisma, schoolId), `${name}: as the tables count`)
  }
  // A rebuild from the whole log agrees with what the steps stored.
  const live = await readProjection(prisma, schoolId)
  t.same(await foldLog(prisma, schoolId), { ...live, deadLettered: [] })
  t.same((await rebuildProjections(prisma, [schoolId]))[0]?.changed, false)
})

t.test('a removal or role change naming an unknown role is dead-lettered like the other member events', async (t) => {
  const schoolId = await newSchool(prisma)
  await append(schoolId, 'member.removed', { userId: 1, name: 'X', role: 'principal' })
  await append(schoolId, 'member.role_changed', { userId: 1, name: 'X', role: 'teacher', previousRole: 'principal' })
  await append(schoolId, 'member.role_changed', { userId: 1, name: 'X', role: 'principal', previousRole: 'school_owner' })
  await append(schoolId, 'member.role_changed', { userId: 1, name: 'X', role: 'teacher' })
  const result = await advanceProjection(prisma, schoolId)
  t.same(result?.applied.map((e) => e.seq), [1])
  t.same(result?.deadLettered.map((d) => [d.seq, d.error]), [
    [2, 'unknown role "principal"'],
    [3, 'unknown role "principal"'],
    [4, 'unknown role "principal"'],
    [5, 'unknown role undefined'],
  ])
  t.same(result?.metrics, { ...EMPTY_METRICS, admins: 1 }, 'the counters are those before the bad events')
})

t.test('a school that does not exist has no projection to advance', async (t) => {
  t.equal(await advanceProjection(prisma, 2_000_000_000), null)
  t.same(await readProjection(prisma, 2_000_000_000), { metrics: EMPTY_METRICS, lastSeq: 0 })
})

t.test('one call advances many schools, each over its own log, and leaves out those that do not exist', async (t) => {
  const schools = [await newSchool(prisma), await newSchool(prisma), await newSchool(prisma)]
  for (const [index, schoolId] of schools.entries()) {
    for (let i = 1; i <= index + 1; i++) await append(schoolId, 'invitation.created', invitation(i, 'pending'))
  }
  const advanced = await advanceProjections(prisma, [...schools, 2_000_000_000])
  t.same([...advanced.keys()].sort((a, b) => a - b), schools)
  for (const [index, schoolId] of schools.entries()) {
    const result = advanced.get(schoolId)
    // seq 1 is the owner joining; then the school's own invitations.
    t.same(result?.applied.map((e) => e.seq), Array.from({ length: index + 2 }, (_, i) => i + 1), `school ${index}`)
    t.equal(result?.metrics.pendingInvitations, index + 1)
    t.same(await readProjection(prisma, schoolId), { metrics: result?.metrics, lastSeq: index + 2 })
  }
})

t.test('in a batch, only the school another write came first to is folded again', async (t) => {
  const [quiet, contested] = [await newSchool(prisma), await newSchool(prisma)]
  await advanceProjections(prisma, [quiet, contested])
  await append(quiet, 'invitation.created', invitation(1, 'pending'))
  await append(contested, 'invitation.created', invitation(1, 'pending'))
  const writeHeld = await holdProjectionRow(contested, { classes: 7 })
  const advancing = advanceProjections(prisma, [quiet, contested])
  await waitUntilBlockedOnLock(prisma, 'FOR UPDATE OF p')
  await writeHeld()
  const advanced = await advancing
  t.same(advanced.get(quiet)?.applied.map((e) => e.seq), [2])
  t.same(advanced.get(contested)?.applied.map((e) => e.seq), [2])
  t.same(await readProjection(prisma, quiet), { metrics: { ...EMPTY_METRICS, admins: 1, pendingInvitations: 1 }, lastSeq: 2 })
  t.same(await readProjection(prisma, contested), { metrics: { ...EMPTY_METRICS, admins: 1, classes: 7, pendingInvitations: 1 }, lastSeq: 2 }, "on the other writer's counters")
})

t.test('concurrent batches over the same schools in opposite orders neither deadlock nor double count', async (t) => {
  const schools = await Promise.all(Array.from({ length: 8 }, () => newSchool(prisma)))
  for (const schoolId of schools) for (let i = 1; i <= 5; i++) await append(schoolId, 'invitation.created', invitation(i, 'pending'))
  const reversed = [...schools].reverse()
  const batches = await Promise.all([schools, reversed, schools, reversed].map((ids) => advanceProjections(prisma, ids, { limit: 2 })))
  for (const schoolId of schools) {
    const seqs = batches.flatMap((batch) => batch.get(schoolId)?.applied.map((e) => e.seq) ?? []).sort((a, b) => a - b)
    t.same(seqs, Array.from({ length: seqs.length }, (_, i) => i + 1), `school ${schoolId}: each event applied once`)
  }
  const again = await advanceProjections(prisma, schools)
  for (const schoolId of schools) {
    const state = await readProjection(prisma, schoolId)
    t.equal(state.lastSeq, 6)
    t.equal(state.metrics.pendingInvitations, 5)
    t.ok(again.has(schoolId))
  }
})

/** The log's row of an event, as a job's copy of it arrives: what a caller puts in a known window. */
async function rowOf(eventId: string): Promise<EventRowWithActor> {
  return (await prisma.domainEvent.findUniqueOrThrow({ where: { id: eventId }, include: withActor })) as EventRowWithActor
}

t.test('a known window at the current version is stored without a read: its row is taken as the caller knew it', async (t) => {
  const schoolId = await newSchool(prisma)
  const start = (await advanceProjections(prisma, [schoolId])).get(schoolId)!
  t.equal(start.read, true)
  const event = await append(schoolId, 'invitation.created', invitation(1, 'pending'))
  // Counters the row does not hold: only a write that did not read the row can store them.
  const knownState = { metrics: { ...start.metrics, classes: 5 }, lastSeq: start.lastSeq }
  const known = new Map([[schoolId, { state: knownState, version: start.version, events: [await rowOf(event.id)] }]])
  const advanced = (await advanceProjections(prisma, [schoolId], { known })).get(schoolId)
  t.match(advanced, { read: false, version: start.version + 1, lastSeq: 2, deadLettered: [] })
  t.same(advanced?.applied.map((e) => e.id), [event.id])
  t.same(await readProjection(prisma, schoolId), { metrics: { ...EMPTY_METRICS, admins: 1, classes: 5, pendingInvitations: 1 }, lastSeq: 2 })
})

t.test('a known window at an older version loses its compare-and-set, and the school is read and folded from its row', async (t) => {
  const schoolId = await newSchool(prisma)
  const start = (await advanceProjections(prisma, [schoolId])).get(schoolId)!
  const event = await append(schoolId, 'invitation.created', invitation(1, 'pending'))
  const stale = { metrics: { ...start.metrics, classes: 5 }, lastSeq: start.lastSeq }
  // Another writer (a rebuild here) moved the row on since the caller knew it.
  await rebuildProjections(prisma, [schoolId])
  const known = new Map([[schoolId, { state: stale, version: start.version, events: [await rowOf(event.id)] }]])
  const advanced = (await advanceProjections(prisma, [schoolId], { known })).get(schoolId)
  t.match(advanced, { read: true, version: start.version + 1, lastSeq: 2 })
  t.same(advanced?.applied.map((e) => e.id), [], 'the rebuild applied it; broadcasting it is not this pass to do')
  t.same(await readProjection(prisma, schoolId), { metrics: { ...EMPTY_METRICS, admins: 1, pendingInvitations: 1 }, lastSeq: 2 })
})

t.test('a known window that does not start right after its row, or holds an event that does not fold, is read instead', async (t) => {
  const schoolId = await newSchool(prisma)
  const start = (await advanceProjections(prisma, [schoolId])).get(schoolId)!
  await append(schoolId, 'invitation.created', invitation(1, 'pending'))
  const third = await append(schoolId, 'invitation.created', invitation(2, 'pending'))
  const gap = new Map([[schoolId, { state: start, version: start.version, events: [await rowOf(third.id)] }]])
  const afterGap = (await advanceProjections(prisma, [schoolId], { known: gap })).get(schoolId)
  t.match(afterGap, { read: true, lastSeq: 3 })
  t.same(afterGap?.applied.map((e) => e.seq), [2, 3], 'both events, from the log')

  const fourth = await append(schoolId, 'invitation.cancelled', invitation(1, 'cancelled'))
  // A copy the fold refuses while the log's event is sound: the log decides, and nothing is dead-lettered.
  const garbled = { ...(await rowOf(fourth.id)), type: 'invitation.garbled' }
  const refused = new Map([[schoolId, { state: afterGap!, version: afterGap!.version, events: [garbled] }]])
  const fromLog = (await advanceProjections(prisma, [schoolId], { known: refused })).get(schoolId)
  t.match(fromLog, { read: true, lastSeq: 4, deadLettered: [] })
  t.same(fromLog?.applied.map((e) => e.type), ['invitation.cancelled'])
  t.equal(await prisma.deadLetterEvent.count({ where: { schoolId } }), 0)
})
