import t from 'tap'
import { randomUUID } from 'node:crypto'
import { appendDomainEvent, createPrismaClient } from '@school/db'
import { createFixture, createTestDatabase } from '@school/test-support'
import { createEnqueueMarks } from '../../src/domain/enqueue-marks.js'

t.test('marks events that arrive together with one statement, and later ones with the next', async (t) => {
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
  const ids = events.map((event) => event.id)
  const marks = createEnqueueMarks(prisma)

  await Promise.all(ids.slice(0, 20).map((id) => marks.mark(id)))
  t.equal(marks.flushes, 1, 'twenty marks in one turn: one UPDATE')
  // While one statement is in flight, the next marks wait for it and then go together.
  const first = marks.mark(ids[20]!)
  await new Promise((resolve) => setImmediate(resolve))
  await Promise.all([first, ...ids.slice(21).map((id) => marks.mark(id))])
  t.equal(marks.flushes, 3, 'one more for the first, one for the four that queued behind it')

  const unmarked = await prisma.domainEvent.count({ where: { id: { in: ids }, enqueuedAt: null } })
  t.equal(unmarked, 0, 'every row has enqueued_at')
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
