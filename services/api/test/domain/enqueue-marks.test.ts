import t from 'tap'
import type { Test } from 'tap'
import { randomUUID } from 'node:crypto'
import { appendDomainEvent, createPrismaClient } from '@school/db'
import { createFixture, createTestDatabase } from '@school/test-support'
import { createEnqueueMarks } from '../../src/domain/enqueue-marks.js'

/** Twenty-five events of one school, appended (not marked) in one transaction. */
async function appendedEvents(t: Test) {
  const database = await createTestDatabase('api_marks')
  t.teardown(database.drop)
  const prisma = createPrismaClient(database.url, { maxConnections: 2 })
  t.teardown(() => prisma.$disconnect())
  const { schoolA } = await createFixture(prisma)
  const events = await prisma.$transaction(async (tx) => {
    const appended = []
    for (let i = 0; i < 25; i++) {
      appended.push(await appendDomainEvent(tx, { schoolId: schoolA.id, type: 'class.created', actorId: null, payload: { i } }))
    }
    return appended
  })
  const unmarked = () => prisma.domainEvent.count({ where: { id: { in: events.map((event) => event.id) }, enqueuedAt: null } })
  return { prisma, ids: events.map((event) => event.id), unmarked }
}

t.test('marks made within the delay, in several turns, go out in one statement when the delay ends', async (t) => {
  const { prisma, ids, unmarked } = await appendedEvents(t)
  const marks = createEnqueueMarks(prisma, { delayMs: 60_000 })
  const first = ids.slice(0, 20).map((id) => marks.mark(id))
  await new Promise((resolve) => setImmediate(resolve))
  const later = ids.slice(20).map((id) => marks.mark(id))
  t.equal(marks.flushes, 0, 'nothing is sent before the delay ends')
  marks.sendNow()
  await Promise.all([...first, ...later])
  t.equal(marks.flushes, 1, 'twenty-five marks over two turns: one UPDATE')
  t.equal(await unmarked(), 0, 'every row has enqueued_at')

  const timed = createEnqueueMarks(prisma, { delayMs: 20 })
  await timed.mark(ids[0]!)
  t.equal(timed.flushes, 1, 'without sendNow the batch goes out when its delay ends')
})

t.test('a full batch goes out at once, and one that fills while an UPDATE is in flight follows it', async (t) => {
  const { prisma, ids, unmarked } = await appendedEvents(t)
  // A delay the test would time out on: only the size limit can send these.
  const marks = createEnqueueMarks(prisma, { delayMs: 600_000, maxIds: 10 })
  await Promise.all(ids.map((id) => marks.mark(id)))
  t.equal(marks.flushes, 2, 'the first ten at once; the next fifteen (full at ten, the rest joining) right after')
  t.equal(await unmarked(), 0, 'every row has enqueued_at')
})

t.test('a failed statement rejects the marks of its batch only', async (t) => {
  const database = await createTestDatabase('api_marks')
  t.teardown(database.drop)
  const prisma = createPrismaClient(database.url, { maxConnections: 2 })
  t.teardown(() => prisma.$disconnect())
  const marks = createEnqueueMarks(prisma)
  await t.rejects(marks.mark('not-a-uuid'), 'an id the database refuses fails its batch')
  await t.resolves(marks.mark(randomUUID()), 'the next batch is sent and succeeds (no such row is not an error)')
})
