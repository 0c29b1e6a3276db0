import t from 'tap'
import { createPrismaClient } from '../src/client.js'
import { createTestDatabase } from '../src/testing.js'

const database = await createTestDatabase('db_client')
t.teardown(database.drop)

t.test("errors come in Prisma's minimal format whatever NODE_ENV says: no call site is captured per call", async (t) => {
  // Prisma reads NODE_ENV when the client is made; outside production it would capture a stack trace on every
  // call, to point at the caller in the message of a failure.
  const nodeEnv = process.env.NODE_ENV
  process.env.NODE_ENV = 'test'
  t.teardown(() => {
    if (nodeEnv === undefined) delete process.env.NODE_ENV
    else process.env.NODE_ENV = nodeEnv
  })
  const prisma = createPrismaClient(database.url, { maxConnections: 1 })
  t.teardown(() => prisma.$disconnect())

  const failed = (await prisma.$queryRaw`SELECT * FROM no_such_table`.catch((caught: unknown) => caught)) as Error & { code?: string }
  t.equal(failed.code, 'P2010', 'a failed statement is reported with its code')
  t.match(failed.message, /relation "no_such_table" does not exist/, "and the database's message")

  // A model call checks its arguments before it is sent: the one kind of error whose message a non-minimal
  // format fills with the captured call site (the calling file and line, and a rendering of the arguments).
  const invalid = (await prisma.school.findUnique({ where: {} as { id: number } }).catch((caught: unknown) => caught)) as Error
  t.match(invalid.message, /needs at least one of `id`/, 'an invalid call says what is wrong')
  t.notMatch(invalid.message, /client\.test/, 'without naming the calling file')
})
