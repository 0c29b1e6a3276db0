// POST /api/accounts/schools/:id/classes: class names are unique per school, teachers must teach there.
import t from 'tap'
import { buildTestApp, eventsOf } from '../helper.js'

const { app, fixture, prisma, authFor } = await buildTestApp(t)
const schoolA = fixture.schoolA.id

function create(payload: Record<string, unknown>, schoolId = schoolA, user = fixture.ownerA) {
  return app.inject({ method: 'POST', url: `/api/accounts/schools/${schoolId}/classes/`, headers: authFor(user), payload })
}

t.test('creates a class taught by a teacher of the school', async (t) => {
  const response = await create({ name: ' 5th grade A ', teacherId: fixture.teacherA.id }, schoolA, fixture.adminA)
  t.equal(response.statusCode, 201)
  const row = await prisma.schoolClass.findFirstOrThrow({ where: { schoolId: schoolA } })
  t.same(response.json(), {
    id: row.id,
    schoolId: schoolA,
    name: '5th grade A',
    teacher: { id: fixture.teacherA.id, name: 'Tereza Teacher' },
    createdAt: row.createdAt.toISOString(),
  })
  t.equal(row.teacherId, fixture.teacherA.id)
  const [event] = (await eventsOf(prisma, schoolA)).slice(-1)
  t.same(
    [event?.type, event?.actorId, event?.payload],
    ['class.created', fixture.adminA.id, { classId: row.id, name: '5th grade A', teacherId: fixture.teacherA.id, teacherName: 'Tereza Teacher' }],
  )
})

t.test('creates a class without a teacher', async (t) => {
  const response = await create({ name: 'Choir' })
  t.equal(response.statusCode, 201)
  t.equal(response.json().teacher, null)
  const [event] = (await eventsOf(prisma, schoolA)).slice(-1)
  t.same(event?.payload, { classId: response.json().id, name: 'Choir', teacherId: null, teacherName: null })
})

t.test('400 invalid_teacher unless teacherId is a teacher of this school', async (t) => {
  const outsiderTeacher = await prisma.user.create({ data: { name: 'Other Teacher', email: 'other-teacher@fixture.test' } })
  await prisma.membership.create({ data: { userId: outsiderTeacher.id, schoolId: fixture.schoolB.id, role: 'teacher' } })
  const cases: Record<string, number> = {
    'a student of the school': fixture.studentA.id,
    'an admin of the school': fixture.adminA.id,
    'a teacher of another school': outsiderTeacher.id,
    'a user of no school': fixture.outsider.id,
    'no such user': 2_147_483_647,
  }
  for (const [who, teacherId] of Object.entries(cases)) {
    const response = await create({ name: `Class of ${who}`, teacherId })
    t.equal(response.statusCode, 400, who)
    t.same(response.json(), { code: 'invalid_teacher', message: 'teacherId must be a teacher of this school' }, who)
  }
  t.equal(await prisma.schoolClass.count({ where: { name: { startsWith: 'Class of' } } }), 0)
})

t.test('a class name already used in the school is 409 class_exists; another school may use it', async (t) => {
  const response = await create({ name: 'Choir', teacherId: fixture.teacherA.id })
  t.equal(response.statusCode, 409)
  t.same(response.json(), { code: 'class_exists', message: 'A class with this name already exists in this school' })
  const elsewhere = await create({ name: 'Choir' }, fixture.schoolB.id, fixture.ownerB)
  t.equal(elsewhere.statusCode, 201)
})

t.test('refuses bad bodies with the fields at fault', async (t) => {
  const cases: Array<[string, Record<string, unknown>, Array<{ field: string; message: string }>]> = [
    ['a blank name', { name: ' ' }, [{ field: 'name', message: 'must match pattern "\\S"' }]],
    ['a teacherId as a string', { name: 'Art', teacherId: '3' }, [{ field: 'teacherId', message: 'must be integer' }]],
    ['a teacherId of 0', { name: 'Art', teacherId: 0 }, [{ field: 'teacherId', message: 'must be >= 1' }]],
    ['an unknown field', { name: 'Art', room: 'B12' }, [{ field: 'room', message: 'is not allowed' }]],
  ]
  for (const [name, payload, errors] of cases) {
    const response = await create(payload)
    t.equal(response.statusCode, 400, name)
    t.same(response.json(), { code: 'validation_failed', message: 'Invalid request body', errors }, name)
  }
})
