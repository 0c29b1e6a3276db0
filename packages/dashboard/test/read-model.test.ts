import t from 'tap'
import { randomUUID } from 'node:crypto'
import { createPrismaClient } from '@school/db'
import { createTestDatabase } from '@school/db/testing'
import type { DomainEvent } from '@school/events'
import { eventMessages, readSchoolMetrics, recentActivity } from '../src/index.js'
import { describeActivity } from '../src/activity.js'
import { loadEvent } from './helper.js'

const db = await createTestDatabase('dashboard')
t.teardown(db.drop)
const prisma = createPrismaClient(db.url, { maxConnections: 2 })
t.teardown(() => prisma.$disconnect())

const school = await prisma.school.create({ data: { name: 'S' } })
const owner = await prisma.user.create({ data: { email: 'o@x.test', name: 'Olivia Owner' } })

t.test('describes every event type in a sentence', async (t) => {
  const event = (type: DomainEvent['type'], payload: object): DomainEvent =>
    ({ id: 'x', schoolId: 1, seq: 1, type, actor: { id: 1, name: 'Olivia Owner' }, payload, occurredAt: new Date() }) as DomainEvent
  const invitation = { invitationId: 1, email: 'ana@x.test', role: 'teacher', status: 'pending' }
  t.equal(describeActivity(event('invitation.created', invitation)), 'Olivia Owner invited ana@x.test as teacher')
  t.equal(describeActivity(event('invitation.accepted', { ...invitation, userId: 3 })), 'ana@x.test accepted the invitation to join as teacher')
  t.equal(describeActivity(event('invitation.declined', invitation)), 'ana@x.test declined the invitation to join as teacher')
  t.equal(describeActivity(event('invitation.cancelled', invitation)), 'Olivia Owner cancelled the invitation of ana@x.test')
  t.equal(describeActivity(event('invitation.expired', invitation)), 'The invitation of ana@x.test expired')
  t.equal(describeActivity(event('student.registered', { userId: 2, name: 'Sam', email: null })), 'Olivia Owner registered student Sam')
  t.equal(
    describeActivity(event('class.created', { classId: 1, name: '5A', teacherId: 2, teacherName: 'Tania' })),
    'Olivia Owner created class 5A taught by Tania',
  )
  t.equal(describeActivity(event('member.joined', { userId: 2, name: 'Tania', role: 'teacher' })), 'Tania joined as teacher')
  t.equal(
    describeActivity(event('member.removed', { userId: 2, name: 'Tom Teacher', role: 'teacher' })),
    'Olivia Owner removed Tom Teacher (teacher)',
  )
  t.equal(
    describeActivity(event('member.role_changed', { userId: 2, name: 'Tom Teacher', role: 'school_admin', previousRole: 'teacher' })),
    "Olivia Owner changed Tom Teacher's role from teacher to admin",
  )
  t.equal(
    describeActivity(event('member.role_changed', { userId: 3, name: 'Olga', role: 'school_admin', previousRole: 'school_owner' })),
    "Olivia Owner changed Olga's role from owner to admin",
  )
  t.equal(describeActivity({ ...event('class.created', { classId: 1, name: '5A', teacherId: null, teacherName: null }), actor: null }), 'Someone created class 5A')
})

t.test('counts members, classes and invitations by stored status, as folding the log does', async (t) => {
  const student = await prisma.user.create({ data: { name: 'Sam' } })
  await prisma.membership.createMany({
    data: [
      { userId: owner.id, schoolId: school.id, role: 'school_owner' },
      { userId: student.id, schoolId: school.id, role: 'student' },
    ],
  })
  await prisma.schoolClass.create({ data: { schoolId: school.id, name: '5A' } })
  const invitation = (email: string, status: 'pending' | 'accepted' | 'cancelled', expiresInMs: number) => ({
    schoolId: school.id,
    email,
    role: 'teacher' as const,
    status,
    tokenHash: randomUUID(),
    expiresAt: new Date(Date.now() + expiresInMs),
  })
  await prisma.invitation.createMany({
    data: [
      invitation('a@x.test', 'pending', 3_600_000),
      invitation('b@x.test', 'pending', -1000),
      invitation('c@x.test', 'accepted', 3_600_000),
      invitation('d@x.test', 'cancelled', 3_600_000),
    ],
  })
  t.same(await readSchoolMetrics(prisma, school.id), {
    students: 1,
    teachers: 0,
    admins: 1,
    classes: 1,
    // The overdue one stays pending until the API's expiry sweep records its invitation.expired.
    pendingInvitations: 2,
    acceptedInvitations: 1,
    declinedInvitations: 0,
    cancelledInvitations: 1,
    expiredInvitations: 0,
  })
})

t.test('an event becomes its messages in order, and the feed reads newest first', async (t) => {
  const ids = [randomUUID(), randomUUID()]
  await prisma.domainEvent.createMany({
    data: [
      { id: ids[0]!, schoolId: school.id, seq: 1, type: 'invitation.created', actorId: owner.id, payload: { invitationId: 1, email: 'a@x.test', role: 'teacher', status: 'pending' } },
      { id: ids[1]!, schoolId: school.id, seq: 2, type: 'student.registered', actorId: owner.id, payload: { userId: 9, name: 'Sam', email: null } },
    ],
  })
  const first = await loadEvent(prisma, ids[0]!)
  t.equal(first?.actor?.name, 'Olivia Owner')
  const messages = eventMessages(first!)
  t.same(messages.map((m) => [m.type, m.seq, m.eventId]), [
    ['invitation_status_update', 1, ids[0]],
    ['activity_new', 1, ids[0]],
  ])
  t.same(messages[0]!.data, { invitationId: 1, email: 'a@x.test', role: 'teacher', status: 'pending' })
  const second = eventMessages((await loadEvent(prisma, ids[1]!))!)
  t.same(second.map((m) => m.type), ['activity_new'])
  t.same((await recentActivity(prisma, school.id, 10)).map((a) => a.seq), [2, 1])
  t.same(await recentActivity(prisma, school.id, 0), [])
  t.equal(await loadEvent(prisma, randomUUID()), null)
})
