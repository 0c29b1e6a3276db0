import t from 'tap'
import { SCHOOL_EVENT_JOB_OPTIONS } from '@school/events'
import { createPrismaClient } from '../src/client.js'
import {
  appendDomainEvent,
  invitationEventPayload,
  invitationEventPayloadSql,
  markEnqueued,
  schoolEventJob,
} from '../src/event-log.js'
import { createTestDatabase } from '../src/testing.js'

const database = await createTestDatabase('db_event_log')
t.teardown(database.drop)
const prisma = createPrismaClient(database.url, { maxConnections: 2 })
t.teardown(() => prisma.$disconnect())
const school = await prisma.school.create({ data: { name: 'Event Log School' } })

t.test("an invitation event's payload built in SQL is the one built in TypeScript from the same row", async (t) => {
  const invitations = [
    await prisma.invitation.create({
      data: { schoolId: school.id, email: 'pending@example.com', role: 'teacher', tokenHash: 'a', expiresAt: new Date(Date.now() + 86_400_000) },
    }),
    await prisma.invitation.create({
      data: { schoolId: school.id, email: 'declined@example.com', role: 'school_admin', status: 'declined', tokenHash: 'b', expiresAt: new Date() },
    }),
  ]
  for (const invitation of invitations) {
    const [row] = await prisma.$queryRaw<Array<{ payload: unknown }>>`
      SELECT ${invitationEventPayloadSql('i')} AS payload FROM invitations i WHERE i.id = ${invitation.id}`
    t.same(row!.payload, invitationEventPayload(invitation), `${invitation.status} ${invitation.role}`)
    t.strictSame(invitationEventPayload(invitation), {
      invitationId: invitation.id,
      email: invitation.email,
      role: invitation.role,
      status: invitation.status,
    })
  }
})

t.test('refuses an alias that is not a plain SQL name', async (t) => {
  t.throws(() => invitationEventPayloadSql('i; DROP TABLE invitations'), /not a plain SQL alias/)
})

t.test("an event's job: named by its type, its id the event id, the producer's options", async (t) => {
  const occurredAt = new Date('2026-01-02T03:04:05.678Z')
  const id = '7f0f8a8e-4b8e-4d4f-9d43-2f7b1f0b5b8a'
  t.strictSame(schoolEventJob({ id, schoolId: 3, seq: 9, type: 'class.created', occurredAt }), {
    name: 'class.created',
    data: { eventId: id, schoolId: 3, seq: 9, type: 'class.created', occurredAt: '2026-01-02T03:04:05.678Z' },
    opts: { ...SCHOOL_EVENT_JOB_OPTIONS, jobId: id },
  })
})

t.test("a job carries the event's content when its producer has it", async (t) => {
  const occurredAt = new Date('2026-01-02T03:04:05.678Z')
  const id = '7f0f8a8e-4b8e-4d4f-9d43-2f7b1f0b5b8a'
  const content = { actor: { id: 4, name: 'Ann' }, payload: { classId: 1, name: '5A', teacherId: null, teacherName: null }, correlationId: 'req-1' }
  t.strictSame(schoolEventJob({ id, schoolId: 3, seq: 9, type: 'class.created', occurredAt, content }).data, {
    eventId: id,
    schoolId: 3,
    seq: 9,
    type: 'class.created',
    occurredAt: '2026-01-02T03:04:05.678Z',
    event: content,
  })
})

t.test('an inserted event comes back with its content for the job: its actor as the log names it, or none', async (t) => {
  const actor = await prisma.user.create({ data: { name: 'Ann Actor' } })
  const [withActor, without] = await prisma.$transaction(async (tx) => [
    await appendDomainEvent(tx, { schoolId: school.id, type: 'class.created', actorId: actor.id, payload: { n: 1 } }),
    await appendDomainEvent(tx, { schoolId: school.id, type: 'class.created', actorId: null, payload: { n: 2 } }),
  ])
  t.same(withActor?.content, { actor: { id: actor.id, name: 'Ann Actor' }, payload: { n: 1 }, correlationId: null })
  t.equal(without?.content.actor, null)
})

t.test('marks the given events enqueued in one statement, inside a transaction or not', async (t) => {
  const appended = await prisma.$transaction(async (tx) => [
    await appendDomainEvent(tx, { schoolId: school.id, type: 'class.created', actorId: null, payload: { n: 1 } }),
    await appendDomainEvent(tx, { schoolId: school.id, type: 'class.created', actorId: null, payload: { n: 2 } }),
    await appendDomainEvent(tx, { schoolId: school.id, type: 'class.created', actorId: null, payload: { n: 3 } }),
  ])
  const [first, second, third] = appended.map((event) => event.id) as [string, string, string]
  t.equal(await markEnqueued(prisma, [first, second]), 2)
  t.equal(await prisma.$transaction((tx) => markEnqueued(tx, [third])), 1)
  const rows = await prisma.domainEvent.findMany({ where: { id: { in: [first, second, third] } }, select: { enqueuedAt: true } })
  t.equal(rows.filter((row) => row.enqueuedAt instanceof Date).length, 3)
})
