// What an instance remembers of the schools it advanced: the known window it makes of a row and the
// events the jobs carried (in order, from the next seq, up to the first gap), and its bound.
import t from 'tap'
import type { AdvancedProjection, EventRowWithActor } from '@school/dashboard'
import { createProjectionMemory } from '../../src/worker/projection-memory.js'

const EMPTY = { students: 0, teachers: 0, admins: 1, classes: 0, pendingInvitations: 0, acceptedInvitations: 0, declinedInvitations: 0, cancelledInvitations: 0, expiredInvitations: 0 }

const advanced = (lastSeq: number, version: number): AdvancedProjection => ({ metrics: EMPTY, lastSeq, version, read: true, applied: [], deadLettered: [] })

const event = (seq: number): EventRowWithActor => ({
  id: `event-${seq}`,
  schoolId: 1,
  seq,
  type: 'class.created',
  actorId: null,
  payload: { classId: seq, name: 'C', teacherId: null, teacherName: null },
  occurredAt: new Date(0),
  enqueuedAt: null,
  correlationId: null,
  actor: null,
})

t.test('a known window: the remembered row, and the carried events from the next seq on, in order, up to a gap', async (t) => {
  const memory = createProjectionMemory(10)
  t.equal(memory.knownWindow(1, [event(1)]), undefined, 'nothing remembered: the log decides')
  memory.remember(1, advanced(3, 7))
  const window = memory.knownWindow(1, [event(5), event(4), event(4), event(7), event(3)])
  t.same(window?.state, { metrics: EMPTY, lastSeq: 3 })
  t.equal(window?.version, 7)
  t.same(window?.events.map((e) => e.seq), [4, 5], 'sorted, once each, the already applied and those after the gap left out')
  t.equal(memory.knownWindow(1, [event(3)]), undefined, 'only events the row already holds')
  t.equal(memory.knownWindow(1, [event(6)]), undefined, 'a gap right after the row')
  t.equal(memory.knownWindow(1, []), undefined, 'nothing carried')
  memory.forget(1)
  t.equal(memory.knownWindow(1, [event(4)]), undefined, 'forgotten')
})

t.test('remembers the schools advanced or looked up most recently, up to its bound', async (t) => {
  const memory = createProjectionMemory(2)
  memory.remember(1, advanced(1, 1))
  memory.remember(2, advanced(1, 1))
  t.ok(memory.knownWindow(1, [event(2)]), 'school 1 looked up: now the most recent')
  memory.remember(3, advanced(1, 1))
  t.ok(memory.knownWindow(1, [event(2)]))
  t.equal(memory.knownWindow(2, [event(2)]), undefined, 'school 2, the least recent, was dropped')
  t.ok(memory.knownWindow(3, [event(2)]))
})
