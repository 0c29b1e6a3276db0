// GET /api/accounts/schools/:id/dashboard: the first render, counting the school as it is now.
import t from 'tap'
import { createEventPublisher } from '../../src/domain/event-publisher.js'
import { expireLapsedInvitations } from '../../src/domain/invitations.js'
import { createApiMetrics } from '../../src/plugins/metrics.js'
import { FIXTURE_METRICS } from '@school/test-support'
import { buildTestApp } from '../helper.js'

const { app, fixture, prisma, authFor, queue } = await buildTestApp(t)
const schoolA = fixture.schoolA.id
const dashboard = `/api/accounts/schools/${schoolA}/dashboard/`

t.test('counts the fixture: 1 student, 1 teacher, 2 admins, nothing else yet', async (t) => {
  const response = await app.inject({ method: 'GET', url: dashboard, headers: authFor(fixture.adminA) })
  t.equal(response.statusCode, 200)
  const body = response.json()
  t.same(
    { ...body, recentActivity: body.recentActivity.map(({ seq, type, actor, summary }: Record<string, unknown>) => ({ seq, type, actor, summary })) },
    {
      school: { id: schoolA, name: 'School A' },
      metrics: FIXTURE_METRICS.schoolA,
      // The fixture's memberships, as the log recorded them, newest first.
      recentActivity: [
        { seq: 4, type: 'member.joined', actor: null, summary: 'Samuel Student joined as student' },
        { seq: 3, type: 'member.joined', actor: null, summary: 'Tereza Teacher joined as teacher' },
        { seq: 2, type: 'member.joined', actor: null, summary: 'Adam Admin joined as admin' },
        { seq: 1, type: 'member.joined', actor: null, summary: 'Olivia Owner joined as owner' },
      ],
      lastEventSeq: 4,
    },
  )
})

t.test('shows what happened since, newest first, with the metrics and seq of the same moment', async (t) => {
  const owner = authFor(fixture.ownerA)
  const post = (path: string, payload: Record<string, unknown>) =>
    app.inject({ method: 'POST', url: `/api/accounts/schools/${schoolA}/${path}/`, headers: owner, payload })
  t.equal((await post('invitations', { email: 'ana@example.com', role: 'teacher' })).statusCode, 201)
  t.equal((await post('students', { name: 'Sofia Student' })).statusCode, 201)
  t.equal((await post('classes', { name: '5th grade A', teacherId: fixture.teacherA.id })).statusCode, 201)
  // Another school's events stay out of this dashboard.
  const other = await app.inject({
    method: 'POST',
    url: `/api/accounts/schools/${fixture.schoolB.id}/students`,
    headers: authFor(fixture.ownerB),
    payload: { name: 'Bea' },
  })
  t.equal(other.statusCode, 201)

  const response = await app.inject({ method: 'GET', url: dashboard, headers: owner })
  const body = response.json()
  const events = await prisma.domainEvent.findMany({ where: { schoolId: schoolA }, orderBy: { seq: 'desc' } })
  t.same(body.metrics, {
    students: 2,
    teachers: 1,
    admins: 2,
    classes: 1,
    pendingInvitations: 1,
    acceptedInvitations: 0,
    declinedInvitations: 0,
    cancelledInvitations: 0,
    expiredInvitations: 0,
  })
  t.equal(body.lastEventSeq, 7)
  const actor = { id: fixture.ownerA.id, name: 'Olivia Owner' }
  t.same(body.recentActivity.slice(0, 3), [
    {
      id: events[0]!.id,
      seq: 7,
      type: 'class.created',
      actor,
      summary: 'Olivia Owner created class 5th grade A taught by Tereza Teacher',
      occurredAt: events[0]!.occurredAt.toISOString(),
    },
    {
      id: events[1]!.id,
      seq: 6,
      type: 'student.registered',
      actor,
      summary: 'Olivia Owner registered student Sofia Student',
      occurredAt: events[1]!.occurredAt.toISOString(),
    },
    {
      id: events[2]!.id,
      seq: 5,
      type: 'invitation.created',
      actor,
      summary: 'Olivia Owner invited ana@example.com as teacher',
      occurredAt: events[2]!.occurredAt.toISOString(),
    },
  ])
})

t.test('a lapsed pending invitation counts as expired once the expiry sweep has recorded it', async (t) => {
  await prisma.$executeRaw`UPDATE invitations SET expires_at = now() - interval '1 second' WHERE school_id = ${schoolA}`
  const before = await app.inject({ method: 'GET', url: dashboard, headers: authFor(fixture.ownerA) })
  t.match(before.json().metrics, { pendingInvitations: 1, expiredInvitations: 0 }, 'the counters follow the log, not the clock')
  const publisher = createEventPublisher({ queue, prisma, timeoutMs: 2000, metrics: createApiMetrics({ prisma, queue }) })
  t.equal(await expireLapsedInvitations({ prisma, publisher }, app.log, new Date()), 1)
  t.equal(await expireLapsedInvitations({ prisma, publisher }, app.log, new Date()), 0, 'a second sweep finds nothing')
  const after = (await app.inject({ method: 'GET', url: dashboard, headers: authFor(fixture.ownerA) })).json()
  t.match(after.metrics, { pendingInvitations: 0, expiredInvitations: 1 })
  t.match(after.recentActivity[0], { seq: 8, type: 'invitation.expired', actor: null, summary: 'The invitation of ana@example.com expired' })
  t.equal((await queue.getJob(after.recentActivity[0].id))?.data.seq, 8, 'the expiry was enqueued like any change')
})

t.test('shows the 20 most recent entries', async (t) => {
  for (let i = 0; i < 19; i++) {
    const response = await app.inject({
      method: 'POST',
      url: `/api/accounts/schools/${schoolA}/students/`,
      headers: authFor(fixture.ownerA),
      payload: { name: `Student ${i}` },
    })
    t.equal(response.statusCode, 201)
  }
  const body = (await app.inject({ method: 'GET', url: dashboard, headers: authFor(fixture.ownerA) })).json()
  t.equal(body.lastEventSeq, 27)
  t.same(
    body.recentActivity.map((a: { seq: number }) => a.seq),
    Array.from({ length: 20 }, (_, i) => 27 - i),
  )
})
