// Bodies with text PostgreSQL cannot store: U+0000 anywhere in a JSON body is a 400 naming the field,
// never a database error answered as 500; the six characters \u0000 as text are ordinary text.
import t from 'tap'
import { buildTestApp } from '../helper.js'

const { app, fixture, prisma, authFor } = await buildTestApp(t)
const schoolA = fixture.schoolA.id
const nulRefusal = (field: string) => ({
  code: 'validation_failed',
  message: 'Invalid request body',
  errors: [{ field, message: 'must not contain the NUL character (U+0000)' }],
})

t.test('U+0000 in a field is refused with 400 validation_failed naming the field, and nothing is stored', async (t) => {
  const cases: Array<[string, string, unknown, string]> = [
    ['a student name', `/api/accounts/schools/${schoolA}/students/`, { name: 'Ana\u0000' }, 'name'],
    ['an invitation message', `/api/accounts/schools/${schoolA}/invitations/`, { email: 'nul@example.com', role: 'teacher', message: 'hi\u0000there' }, 'message'],
    ['a class name', `/api/accounts/schools/${schoolA}/classes/`, { name: '\u00001A' }, 'name'],
    ['the sign-in email', '/api/auth/login', { email: 'owner-a@fixture.test\u0000', password: 'x'.repeat(12) }, 'email'],
    ['a key', `/api/accounts/schools/${schoolA}/students/`, { name: 'Ana', 'e\u0000mail': 'x' }, 'e\u0000mail'],
  ]
  for (const [name, url, payload, field] of cases) {
    const response = await app.inject({ method: 'POST', url, headers: authFor(fixture.ownerA), payload: payload as object })
    t.equal(response.statusCode, 400, name)
    t.same(response.json(), nulRefusal(field), name)
  }
  t.equal(await prisma.domainEvent.count({ where: { type: { not: 'member.joined' } } }), 0, 'no event was written')
})

t.test('the text \\u0000 (backslash, u, four zeros) is stored and returned as it is', async (t) => {
  const name = 'Ana \\u0000 Nul'
  const response = await app.inject({ method: 'POST', url: `/api/accounts/schools/${schoolA}/students/`, headers: authFor(fixture.ownerA), payload: { name } })
  t.equal(response.statusCode, 201)
  t.equal(response.json().name, name)
})
