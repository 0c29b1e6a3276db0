// POST /api/accounts/schools/:id/students: new students, and existing users joining as students.
import t from 'tap'
import { buildTestApp, eventsOf } from '../helper.js'

const { app, fixture, prisma, authFor } = await buildTestApp(t)
const schoolA = fixture.schoolA.id
const students = `/api/accounts/schools/${schoolA}/students/`

function register(payload: Record<string, unknown>, user = fixture.ownerA) {
  return app.inject({ method: 'POST', url: students, headers: authFor(user), payload })
}

t.test('registers a student without an email: a user who cannot sign in, and a student membership', async (t) => {
  const response = await register({ name: '  Sofia Student ' }, fixture.adminA)
  t.equal(response.statusCode, 201)
  const user = await prisma.user.findFirstOrThrow({ where: { name: 'Sofia Student' } })
  t.same(response.json(), { id: user.id, name: 'Sofia Student', email: null, schoolId: schoolA, role: 'student' })
  t.equal(user.email, null)
  t.equal(user.passwordHash, null)
  const membership = await prisma.membership.findUniqueOrThrow({ where: { userId_schoolId: { userId: user.id, schoolId: schoolA } } })
  t.equal(membership.role, 'student')
  const [event] = (await eventsOf(prisma, schoolA)).slice(-1)
  t.same([event?.type, event?.actorId, event?.payload], ['student.registered', fixture.adminA.id, { userId: user.id, name: 'Sofia Student', email: null }])
})

t.test('registers a student with a new email, stored lower-cased', async (t) => {
  const response = await register({ name: 'Eva Email', email: 'Eva@Example.com' })
  t.equal(response.statusCode, 201)
  const user = await prisma.user.findUniqueOrThrow({ where: { email: 'eva@example.com' } })
  t.same(response.json(), { id: user.id, name: 'Eva Email', email: 'eva@example.com', schoolId: schoolA, role: 'student' })
})

t.test('an existing user with that email joins as a student and keeps their name', async (t) => {
  const response = await register({ name: 'Renamed By Admin', email: fixture.outsider.email })
  t.equal(response.statusCode, 201)
  t.same(response.json(), { id: fixture.outsider.id, name: 'Otto Outsider', email: fixture.outsider.email, schoolId: schoolA, role: 'student' })
  t.equal(await prisma.user.count({ where: { email: fixture.outsider.email } }), 1)
  const [event] = (await eventsOf(prisma, schoolA)).slice(-1)
  t.same(event?.payload, { userId: fixture.outsider.id, name: 'Otto Outsider', email: fixture.outsider.email })
})

t.test('a member of the school is 409 already_member, whatever their role', async (t) => {
  for (const email of [fixture.outsider.email, fixture.teacherA.email, 'EVA@example.com']) {
    const response = await register({ name: 'Again', email })
    t.equal(response.statusCode, 409, email)
    t.same(response.json(), { code: 'already_member', message: 'A user with this email is already a member of this school' })
  }
})

t.test('refuses bad bodies with the fields at fault', async (t) => {
  const cases: Array<[string, Record<string, unknown> | undefined, Array<{ field: string; message: string }>]> = [
    ['no body', undefined, [{ field: 'name', message: 'is required' }]],
    ['an empty name', { name: '' }, [{ field: 'name', message: 'must not have fewer than 1 characters' }, { field: 'name', message: 'must match pattern "\\S"' }]],
    ['a name over 100', { name: 'n'.repeat(101) }, [{ field: 'name', message: 'must not have more than 100 characters' }]],
    ['a malformed email', { name: 'Sam', email: 'sam@' }, [{ field: 'email', message: 'must match format "email"' }]],
    ['a null email', { name: 'Sam', email: null }, [{ field: 'email', message: 'must be string' }]],
    ['an unknown field', { name: 'Sam', role: 'teacher' }, [{ field: 'role', message: 'is not allowed' }]],
  ]
  for (const [name, payload, errors] of cases) {
    const response = await app.inject({ method: 'POST', url: students, headers: authFor(fixture.ownerA), ...(payload ? { payload } : {}) })
    t.equal(response.statusCode, 400, name)
    t.same(response.json(), { code: 'validation_failed', message: 'Invalid request body', errors }, name)
  }
})
