// The event a school-events job carries, read back as the log's row it copies; anything not shaped like an
// event reads as none, so the worker reads the log instead.
import t from 'tap'
import type { SchoolEventJob } from '@school/events'
import { eventRowOfJob } from '../src/event-log.js'

const job: SchoolEventJob = {
  eventId: '7f0f8a8e-4b8e-4d4f-9d43-2f7b1f0b5b8a',
  schoolId: 3,
  seq: 9,
  type: 'class.created',
  occurredAt: '2026-01-02T03:04:05.678Z',
  event: { actor: { id: 4, name: 'Ann' }, payload: { classId: 1, name: '5A', teacherId: null, teacherName: null }, correlationId: 'req-1' },
}

t.test("a job's event is the log's row it copies", async (t) => {
  t.same(eventRowOfJob(job), {
    id: job.eventId,
    schoolId: 3,
    seq: 9,
    type: 'class.created',
    actorId: 4,
    payload: job.event!.payload,
    occurredAt: new Date('2026-01-02T03:04:05.678Z'),
    enqueuedAt: null,
    correlationId: 'req-1',
    actor: { id: 4, name: 'Ann' },
  })
  t.match(eventRowOfJob({ ...job, event: { ...job.event!, actor: null, correlationId: null } }), { actorId: null, actor: null, correlationId: null })
})

t.test('a job without its event, or with something else in its place, has none', async (t) => {
  const { event: _event, ...pointer } = job
  const garbled: unknown[] = [
    null,
    'event',
    { ...job.event, payload: null },
    { ...job.event, payload: [1, 2] },
    { ...job.event, actor: { id: '4', name: 'Ann' } },
    { ...job.event, actor: { id: 4 } },
    { ...job.event, actor: undefined },
    { ...job.event, correlationId: 5 },
  ]
  t.equal(eventRowOfJob(pointer), null, 'a pointer only (the outbox relay, or a job enqueued before jobs carried events)')
  for (const event of garbled) t.equal(eventRowOfJob({ ...job, event } as SchoolEventJob), null, JSON.stringify(event) ?? 'undefined')
  t.equal(eventRowOfJob({ ...job, occurredAt: 'yesterday' }), null, 'an occurredAt that is not a time')
})
