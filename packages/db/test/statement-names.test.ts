import t from 'tap'
import { createPrismaClient } from '../src/client.js'
import { createStatementNamer } from '../src/statement-names.js'
import { createTestDatabase } from '../src/testing.js'

const database = await createTestDatabase('db_statement_names')
t.teardown(database.drop)

t.test('names each distinct text once, the same name every time, and none past the limit', async (t) => {
  const name = createStatementNamer(2)
  t.equal(name({ sql: 'SELECT 1' }), 's1')
  t.equal(name({ sql: 'SELECT 2' }), 's2')
  t.equal(name({ sql: 'SELECT 1' }), 's1')
  t.equal(name({ sql: 'SELECT 3' }), '', 'past the limit: unnamed')
  t.equal(name({ sql: 'SELECT 2' }), 's2', 'texts named before the limit keep their names')
})

/** The prepared statements of the client's one connection, as PostgreSQL lists them. */
async function preparedOnItsConnection(prisma: ReturnType<typeof createPrismaClient>): Promise<Map<string, string>> {
  const rows = await prisma.$queryRaw<Array<{ name: string; statement: string }>>`SELECT name, statement FROM pg_prepared_statements`
  return new Map(rows.map((row) => [row.name, row.statement]))
}

t.test("a client's queries are prepared once per connection, up to its limit", async (t) => {
  const setup = createPrismaClient(database.url, { maxConnections: 1, preparedStatements: 0 })
  const school = await setup.school.create({ data: { name: 'Prepared School' } })
  await setup.$disconnect()

  const prisma = createPrismaClient(database.url, { maxConnections: 1, preparedStatements: 2 })
  t.teardown(() => prisma.$disconnect())
  for (let i = 0; i < 3; i++) {
    const found = await prisma.school.findUnique({ where: { id: school.id } })
    t.equal(found?.name, 'Prepared School', `read ${i + 1} answers`)
  }
  const prepared = await preparedOnItsConnection(prisma)
  t.equal(prepared.size, 2, 'the read and the listing itself, each prepared once')
  t.equal([...prepared.values()].filter((text) => /^SELECT/i.test(text) && /"schools"/.test(text)).length, 1, 'the read, once')

  const counted = await prisma.$queryRaw<Array<{ n: number }>>`SELECT count(*)::int AS n FROM schools`
  t.equal(counted[0]!.n, 1, 'a query past the limit still runs')
  t.strictSame(await preparedOnItsConnection(prisma), prepared, 'unnamed: nothing more is kept on the connection')
})

t.test('preparedStatements 0 prepares nothing', async (t) => {
  const prisma = createPrismaClient(database.url, { maxConnections: 1, preparedStatements: 0 })
  t.teardown(() => prisma.$disconnect())
  await prisma.school.count()
  t.equal((await preparedOnItsConnection(prisma)).size, 0)
})
