// A school's members: listing them, removing one (DELETE) and changing one's role (PATCH). Who may act on
// whom, the last owner, the events each change appends, and races decided under the school's row lock.
import t from 'tap'
import { foldLog, readSchoolMetrics } from '@school/dashboard'
import { addMember, createPrismaClient, type Role } from '@school/db'
import { buildTestApp, eventsOf } from '../helper.js'

const { app, fixture, prisma, queue, config, authFor } = await buildTestApp(t)

interface Person {
  id: number
  email: string
  name: string
}

interface TestSchool {
  id: number
  members: string
  member: (userId: number | string) => string
}

let schools = 0

/** A school of its own for a test, its members added through the log as the fixture does, in this order. */
async function schoolWith<K extends string>(people: Record<K, [name: string, role: Role, email?: null]>) {
  const created = await prisma.school.create({ data: { name: `Members ${++schools}` } })
  const members = {} as Record<K, Person>
  for (const [key, [name, role, email]] of Object.entries(people) as Array<[K, [string, Role, null?]]>) {
    const address = email === null ? null : `${key}-${created.id}@members.test`
    const user = await prisma.user.create({ data: { email: address, name } })
    await addMember(prisma, { userId: user.id, schoolId: created.id, role, name })
    members[key] = { id: user.id, email: address ?? '', name }
  }
  const base = `/api/accounts/schools/${created.id}/members/`
  const school: TestSchool = { id: created.id, members: base, member: (userId) => `${base}${userId}/` }
  return { school, ...members }
}

/** The usual cast: two owners, two admins, a teacher and a student. */
function staffedSchool() {
  return schoolWith({
    owner: ['Olivia Owner', 'school_owner'],
    coOwner: ['Oscar Owner', 'school_owner'],
    admin: ['Adam Admin', 'school_admin'],
    otherAdmin: ['Alma Admin', 'school_admin'],
    teacher: ['Tom Teacher', 'teacher'],
    student: ['Sam Student', 'student'],
  })
}

function remove(school: TestSchool, userId: number | string, as: Person) {
  return app.inject({ method: 'DELETE', url: school.member(userId), headers: authFor(as) })
}

function changeRole(school: TestSchool, userId: number | string, role: unknown, as: Person) {
  return app.inject({ method: 'PATCH', url: school.member(userId), headers: authFor(as), payload: { role } })
}

async function roleOf(schoolId: number, userId: number): Promise<Role | null> {
  const membership = await prisma.membership.findUnique({ where: { userId_schoolId: { userId, schoolId } } })
  return membership?.role ?? null
}

async function lastSeq(schoolId: number): Promise<number> {
  return (await prisma.school.findUniqueOrThrow({ where: { id: schoolId } })).lastEventSeq
}

/** The events appended after `seq`, as [seq, type, actorId, payload]. */
async function eventsAfter(schoolId: number, seq: number) {
  return (await eventsOf(prisma, schoolId)).filter((e) => e.seq > seq).map((e) => [e.seq, e.type, e.actorId, e.payload])
}

const insufficientRole = {
  code: 'insufficient_role',
  message: 'An admin may only remove or change teachers and students, and only make them teachers or students',
}
const lastOwner = { code: 'last_owner', message: 'The school must keep at least one owner' }
const memberNotFound = { code: 'member_not_found', message: 'This user is not a member of this school' }
const forbidden = { code: 'forbidden', message: 'You are not an owner or admin of this school' }

t.test('lists the members to owners and admins: owners, admins, teachers, students, each by name', async (t) => {
  const { school, ...people } = await schoolWith({
    zoe: ['Zoe Student', 'student'],
    walter: ['Walter Owner', 'school_owner'],
    bruno: ['Bruno Teacher', 'teacher'],
    carla: ['Carla Admin', 'school_admin'],
    anna: ['Anna Owner', 'school_owner'],
    abel: ['Abel Student', 'student', null],
    beto: ['Beto Admin', 'school_admin'],
  })
  const memberships = await prisma.membership.findMany({ where: { schoolId: school.id } })
  const joinedAt = (userId: number) => memberships.find((m) => m.userId === userId)!.createdAt.toISOString()
  const entry = (person: Person, role: Role) => ({
    userId: person.id,
    name: person.name,
    email: person.email === '' ? null : person.email,
    role,
    joinedAt: joinedAt(person.id),
  })
  const expected = [
    entry(people.anna, 'school_owner'),
    entry(people.walter, 'school_owner'),
    entry(people.beto, 'school_admin'),
    entry(people.carla, 'school_admin'),
    entry(people.bruno, 'teacher'),
    entry(people.abel, 'student'),
    entry(people.zoe, 'student'),
  ]
  for (const [as, url] of [
    [people.walter, school.members],
    [people.carla, school.members.slice(0, -1)],
  ] as const) {
    const response = await app.inject({ method: 'GET', url, headers: authFor(as) })
    t.equal(response.statusCode, 200, `${as.name} at ${url}`)
    t.same(response.json(), expected, `${as.name} at ${url}`)
  }
  t.equal(expected[5]!.email, null, 'a student registered without an email has none')
  for (const person of [people.bruno, people.zoe, fixture.ownerA]) {
    const refused = await app.inject({ method: 'GET', url: school.members, headers: authFor(person) })
    t.equal(refused.statusCode, 403, person.name)
    t.same(refused.json(), forbidden)
  }
})

t.test('an owner removes a teacher: 204, the membership deleted, member.removed appended and queued', async (t) => {
  const { school, owner, teacher } = await staffedSchool()
  const before = await lastSeq(school.id)
  const response = await remove(school, teacher.id, owner)
  t.equal(response.statusCode, 204)
  t.equal(response.body, '')
  t.equal(await roleOf(school.id, teacher.id), null, 'no longer a member')
  t.ok(await prisma.user.findUnique({ where: { id: teacher.id } }), 'the account stays')
  t.same(await eventsAfter(school.id, before), [
    [before + 1, 'member.removed', owner.id, { userId: teacher.id, name: 'Tom Teacher', role: 'teacher' }],
  ])
  t.equal(await lastSeq(school.id), before + 1)
  const [event] = (await eventsOf(prisma, school.id)).slice(-1)
  const job = await queue.getJob(event!.id)
  t.match(job?.data, { eventId: event!.id, schoolId: school.id, seq: before + 1, type: 'member.removed' }, 'on the queue, job id = event id')

  const dashboard = await app.inject({ method: 'GET', url: `/api/accounts/schools/${school.id}/dashboard/`, headers: authFor(owner) })
  t.match(dashboard.json().recentActivity[0], { seq: before + 1, type: 'member.removed', summary: 'Olivia Owner removed Tom Teacher (teacher)' })
  t.equal(dashboard.json().metrics.teachers, 0)

  const again = await remove(school, teacher.id, owner)
  t.equal(again.statusCode, 404, 'a second removal finds no member')
  t.same(again.json(), memberNotFound)
  t.equal(await lastSeq(school.id), before + 1)
})

t.test("an owner changes a teacher's role: 200 with the member, the membership updated, member.role_changed appended", async (t) => {
  const { school, owner, teacher } = await staffedSchool()
  const before = await lastSeq(school.id)
  const joinedBefore = (await prisma.membership.findFirstOrThrow({ where: { schoolId: school.id, userId: teacher.id } })).createdAt
  const response = await changeRole(school, teacher.id, 'school_admin', owner)
  t.equal(response.statusCode, 200)
  t.same(response.json(), { userId: teacher.id, schoolId: school.id, name: 'Tom Teacher', role: 'school_admin' })
  const membership = await prisma.membership.findFirstOrThrow({ where: { schoolId: school.id, userId: teacher.id } })
  t.equal(membership.role, 'school_admin')
  t.same(membership.createdAt, joinedBefore, 'joinedAt is when they joined, not when their role changed')
  t.same(await eventsAfter(school.id, before), [
    [before + 1, 'member.role_changed', owner.id, { userId: teacher.id, name: 'Tom Teacher', role: 'school_admin', previousRole: 'teacher' }],
  ])
  const dashboard = await app.inject({ method: 'GET', url: `/api/accounts/schools/${school.id}/dashboard`, headers: authFor(owner) })
  t.match(dashboard.json().recentActivity[0], { type: 'member.role_changed', summary: "Olivia Owner changed Tom Teacher's role from teacher to admin" })
})

t.test('giving a member the role they have answers 200 and writes nothing: no event, no seq taken', async (t) => {
  const { school, owner, admin, teacher, student } = await staffedSchool()
  const before = await lastSeq(school.id)
  const jobsBefore = await queue.count()
  const cases: Array<[Person, Person, Role, string]> = [
    [owner, teacher, 'teacher', 'Tom Teacher'],
    [admin, student, 'student', 'Sam Student'],
    [owner, owner, 'school_owner', 'Olivia Owner'],
    [owner, admin, 'school_admin', 'Adam Admin'],
  ]
  for (const [as, target, role, name] of cases) {
    for (let attempt = 1; attempt <= 2; attempt++) {
      const response = await changeRole(school, target.id, role, as)
      t.equal(response.statusCode, 200, `${as.name} makes ${name} ${role}, attempt ${attempt}`)
      t.same(response.json(), { userId: target.id, schoolId: school.id, name, role })
      t.equal(await roleOf(school.id, target.id), role)
    }
  }
  t.equal(await lastSeq(school.id), before, 'no seq was taken')
  t.same(await eventsAfter(school.id, before), [])
  t.equal(await queue.count(), jobsBefore, 'nothing was queued')
  // The next real change takes the very next seq: the log has no gap.
  t.equal((await changeRole(school, teacher.id, 'student', owner)).statusCode, 200)
  t.same((await eventsAfter(school.id, before)).map(([seq, type]) => [seq, type]), [[before + 1, 'member.role_changed']])
})

t.test('an owner may act on anyone: owners, admins, teachers, students, themselves', async (t) => {
  const { school, owner, coOwner, admin, otherAdmin, teacher, student } = await staffedSchool()
  const before = await lastSeq(school.id)
  t.equal((await changeRole(school, student.id, 'school_owner', owner)).statusCode, 200, 'a student made owner')
  t.equal((await changeRole(school, admin.id, 'student', owner)).statusCode, 200, 'an admin made student')
  t.equal((await changeRole(school, coOwner.id, 'school_admin', owner)).statusCode, 200, 'an owner made admin')
  t.equal((await remove(school, otherAdmin.id, owner)).statusCode, 204, 'an admin removed')
  t.equal((await changeRole(school, teacher.id, 'school_admin', owner)).statusCode, 200, 'a teacher made admin')
  t.equal((await remove(school, owner.id, owner)).statusCode, 204, 'an owner leaves while another owner remains')
  t.same(await eventsAfter(school.id, before), [
    [before + 1, 'member.role_changed', owner.id, { userId: student.id, name: 'Sam Student', role: 'school_owner', previousRole: 'student' }],
    [before + 2, 'member.role_changed', owner.id, { userId: admin.id, name: 'Adam Admin', role: 'student', previousRole: 'school_admin' }],
    [before + 3, 'member.role_changed', owner.id, { userId: coOwner.id, name: 'Oscar Owner', role: 'school_admin', previousRole: 'school_owner' }],
    [before + 4, 'member.removed', owner.id, { userId: otherAdmin.id, name: 'Alma Admin', role: 'school_admin' }],
    [before + 5, 'member.role_changed', owner.id, { userId: teacher.id, name: 'Tom Teacher', role: 'school_admin', previousRole: 'teacher' }],
    [before + 6, 'member.removed', owner.id, { userId: owner.id, name: 'Olivia Owner', role: 'school_owner' }],
  ])
  const members = await prisma.membership.findMany({ where: { schoolId: school.id }, orderBy: { userId: 'asc' } })
  t.same(
    members.map((m) => [m.userId, m.role]),
    [
      [coOwner.id, 'school_admin'],
      [admin.id, 'student'],
      [teacher.id, 'school_admin'],
      [student.id, 'school_owner'],
    ],
  )
})

t.test('an admin may remove teachers and students and switch them between those two roles', async (t) => {
  const { school, admin, teacher, student } = await staffedSchool()
  const before = await lastSeq(school.id)
  t.same((await changeRole(school, teacher.id, 'student', admin)).json(), { userId: teacher.id, schoolId: school.id, name: 'Tom Teacher', role: 'student' })
  t.equal((await changeRole(school, teacher.id, 'teacher', admin)).statusCode, 200)
  t.equal((await remove(school, student.id, admin)).statusCode, 204)
  t.same(await eventsAfter(school.id, before), [
    [before + 1, 'member.role_changed', admin.id, { userId: teacher.id, name: 'Tom Teacher', role: 'student', previousRole: 'teacher' }],
    [before + 2, 'member.role_changed', admin.id, { userId: teacher.id, name: 'Tom Teacher', role: 'teacher', previousRole: 'student' }],
    [before + 3, 'member.removed', admin.id, { userId: student.id, name: 'Sam Student', role: 'student' }],
  ])
  t.equal(await roleOf(school.id, teacher.id), 'teacher')
  t.equal(await roleOf(school.id, student.id), null)
})

t.test('403 insufficient_role when an admin acts on an owner or an admin, or gives an admin role; nothing is written', async (t) => {
  const { school, owner, admin, otherAdmin, teacher, student } = await staffedSchool()
  const before = await lastSeq(school.id)
  const attempts: Array<[string, () => ReturnType<typeof remove>]> = [
    ['remove an owner', () => remove(school, owner.id, admin)],
    ['remove another admin', () => remove(school, otherAdmin.id, admin)],
    ['remove themselves', () => remove(school, admin.id, admin)],
    ['make an owner a teacher', () => changeRole(school, owner.id, 'teacher', admin)],
    ['make an owner owner', () => changeRole(school, owner.id, 'school_owner', admin)],
    ['make another admin a student', () => changeRole(school, otherAdmin.id, 'student', admin)],
    ['make themselves a teacher', () => changeRole(school, admin.id, 'teacher', admin)],
    ['make another admin admin', () => changeRole(school, otherAdmin.id, 'school_admin', admin)],
    ['make a teacher admin', () => changeRole(school, teacher.id, 'school_admin', admin)],
    ['make a student owner', () => changeRole(school, student.id, 'school_owner', admin)],
  ]
  for (const [what, attempt] of attempts) {
    const response = await attempt()
    t.equal(response.statusCode, 403, `an admin may not ${what}`)
    t.same(response.json(), insufficientRole, what)
  }
  t.equal(await lastSeq(school.id), before, 'nothing was written')
  t.same(
    (await prisma.membership.findMany({ where: { schoolId: school.id }, orderBy: { userId: 'asc' } })).map((m) => m.role),
    ['school_owner', 'school_owner', 'school_admin', 'school_admin', 'teacher', 'student'],
  )
})

t.test('404 member_not_found for a user who is not a member of this school', async (t) => {
  const { school, owner, admin } = await staffedSchool()
  const before = await lastSeq(school.id)
  const strangers: Array<[string, number]> = [
    ['a member of another school', fixture.teacherA.id],
    ['a user of no school', fixture.outsider.id],
    ['a user who does not exist', 2_147_483_647],
  ]
  for (const [who, userId] of strangers) {
    for (const as of [owner, admin]) {
      for (const response of [await remove(school, userId, as), await changeRole(school, userId, 'student', as)]) {
        t.equal(response.statusCode, 404, `${as.name}: ${who}`)
        t.same(response.json(), memberNotFound)
      }
    }
  }
  t.equal(await lastSeq(school.id), before)
})

t.test('409 last_owner for removing or demoting the only owner, whoever asks', async (t) => {
  const { school, owner, coOwner } = await schoolWith({
    owner: ['Olivia Owner', 'school_owner'],
    coOwner: ['Oscar Owner', 'school_owner'],
    admin: ['Adam Admin', 'school_admin'],
  })
  t.equal((await remove(school, coOwner.id, owner)).statusCode, 204, 'one of two owners may go')
  const before = await lastSeq(school.id)
  for (const role of ['school_admin', 'teacher', 'student'] as const) {
    const response = await changeRole(school, owner.id, role, owner)
    t.equal(response.statusCode, 409, `the last owner made ${role}`)
    t.same(response.json(), lastOwner)
  }
  const leave = await remove(school, owner.id, owner)
  t.equal(leave.statusCode, 409, 'the last owner leaving')
  t.same(leave.json(), lastOwner)
  t.equal((await changeRole(school, owner.id, 'school_owner', owner)).statusCode, 200, 'staying owner is no demotion')
  t.equal(await lastSeq(school.id), before, 'nothing was written')
  t.equal(await roleOf(school.id, owner.id), 'school_owner')
})

/**
 * Holds the school's row (as a request's transaction does) while `requests` start, until every one of them
 * is waiting for it; then lets them through in turn. Proves the outcome is decided under the lock, not by
 * what each request read before it.
 */
async function raceOnSchoolLock<T>(schoolId: number, requests: Array<() => Promise<T>>): Promise<T[]> {
  const holder = createPrismaClient(config.DATABASE_URL, { maxConnections: 2 })
  try {
    let release!: () => void
    const released = new Promise<void>((resolve) => (release = resolve))
    let locked!: () => void
    const rowLocked = new Promise<void>((resolve) => (locked = resolve))
    const holding = holder.$transaction(
      async (tx) => {
        await tx.$queryRaw`SELECT id FROM schools WHERE id = ${schoolId} FOR UPDATE`
        locked()
        await released
      },
      { timeout: 30_000 },
    )
    await rowLocked
    const racing = requests.map((request) => request())
    const deadline = Date.now() + 10_000
    for (;;) {
      // The statement SchoolLog.open starts every change with, waiting for the row held above.
      const [row] = await holder.$queryRaw<Array<{ waiting: number }>>`
        SELECT count(*)::int AS waiting FROM pg_stat_activity
        WHERE datname = current_database() AND wait_event_type = 'Lock'
          AND position('UPDATE schools SET last_event_seq' in query) > 0`
      if ((row?.waiting ?? 0) >= requests.length) break
      if (Date.now() > deadline) {
        release()
        throw new Error(`${row?.waiting ?? 0} of ${requests.length} requests reached the school's row lock within 10 s`)
      }
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
    release()
    await holding
    return await Promise.all(racing)
  } finally {
    await holder.$disconnect()
  }
}

t.test('the last two owners leaving at once: one goes, the other is 409 last_owner', async (t) => {
  const { school, owner, coOwner } = await schoolWith({
    owner: ['Olivia Owner', 'school_owner'],
    coOwner: ['Oscar Owner', 'school_owner'],
    teacher: ['Tom Teacher', 'teacher'],
  })
  const before = await lastSeq(school.id)
  const [first, second] = await raceOnSchoolLock(school.id, [() => remove(school, owner.id, owner), () => remove(school, coOwner.id, coOwner)])
  t.same([first!.statusCode, second!.statusCode].sort(), [204, 409])
  t.same([first!, second!].find((r) => r.statusCode === 409)?.json(), lastOwner)
  const owners = await prisma.membership.findMany({ where: { schoolId: school.id, role: 'school_owner' } })
  t.equal(owners.length, 1, 'the school keeps an owner')
  const events = await eventsAfter(school.id, before)
  t.same(events.map(([seq, type]) => [seq, type]), [[before + 1, 'member.removed']], 'one event, no gap')
  t.not((events[0]![3] as { userId: number }).userId, owners[0]!.userId)
})

t.test('two owners demoting each other at once: the one judged second is no longer an owner and is refused', async (t) => {
  const { school, owner, coOwner } = await schoolWith({
    owner: ['Olivia Owner', 'school_owner'],
    coOwner: ['Oscar Owner', 'school_owner'],
  })
  const before = await lastSeq(school.id)
  const responses = await raceOnSchoolLock(school.id, [
    () => changeRole(school, coOwner.id, 'teacher', owner),
    () => changeRole(school, owner.id, 'teacher', coOwner),
  ])
  t.same(responses.map((r) => r.statusCode).sort(), [200, 403])
  t.same(responses.find((r) => r.statusCode === 403)?.json(), forbidden, 'refused as a caller who is no longer an owner or admin')
  const roles = (await prisma.membership.findMany({ where: { schoolId: school.id } })).map((m) => m.role).sort()
  t.same(roles, ['school_owner', 'teacher'])
  t.same((await eventsAfter(school.id, before)).map(([seq, type]) => [seq, type]), [[before + 1, 'member.role_changed']])
})

t.test('an admin removed or demoted gets 403 forbidden on the next school route', async (t) => {
  const { school, owner, admin, otherAdmin } = await staffedSchool()
  const routes = (id: number) => [
    { method: 'GET' as const, url: `/api/accounts/schools/${id}/members/` },
    { method: 'GET' as const, url: `/api/accounts/schools/${id}/dashboard/` },
    { method: 'GET' as const, url: `/api/accounts/schools/${id}/invitations/` },
    { method: 'POST' as const, url: `/api/accounts/schools/${id}/students/`, payload: { name: 'Sid' } },
  ]
  for (const route of routes(school.id)) {
    t.equal((await app.inject({ ...route, headers: authFor(admin) })).statusCode, route.method === 'POST' ? 201 : 200, `before: ${route.url}`)
  }
  t.equal((await remove(school, admin.id, owner)).statusCode, 204)
  t.equal((await changeRole(school, otherAdmin.id, 'teacher', owner)).statusCode, 200)
  for (const who of [admin, otherAdmin]) {
    for (const route of routes(school.id)) {
      const response = await app.inject({ ...route, headers: authFor(who) })
      t.equal(response.statusCode, 403, `${who.name} after: ${route.method} ${route.url}`)
      t.same(response.json(), forbidden)
    }
    t.same((await remove(school, fixture.teacherA.id, who)).json(), forbidden, `${who.name} cannot remove anyone`)
  }
})

t.test('401 without a token, 403 forbidden for other users, 404 school_not_found', async (t) => {
  const { school, owner, teacher, student } = await staffedSchool()
  const before = await lastSeq(school.id)
  const requests = (schoolId: number, headers: Record<string, string>) => [
    app.inject({ method: 'GET', url: `/api/accounts/schools/${schoolId}/members/`, headers }),
    app.inject({ method: 'DELETE', url: `/api/accounts/schools/${schoolId}/members/${student.id}`, headers }),
    app.inject({ method: 'PATCH', url: `/api/accounts/schools/${schoolId}/members/${student.id}/`, headers, payload: { role: 'teacher' } }),
  ]
  for (const response of await Promise.all(requests(school.id, {}))) {
    t.equal(response.statusCode, 401)
    t.equal(response.json().code, 'unauthorized')
  }
  for (const who of [teacher, student, fixture.ownerA, fixture.outsider]) {
    for (const response of await Promise.all(requests(school.id, authFor(who)))) {
      t.equal(response.statusCode, 403, who.name)
      t.same(response.json(), forbidden)
    }
  }
  for (const response of await Promise.all(requests(2_147_483_647, authFor(owner)))) {
    t.equal(response.statusCode, 404)
    t.same(response.json(), { code: 'school_not_found', message: 'School not found' })
  }
  t.equal(await lastSeq(school.id), before)
  t.equal(await roleOf(school.id, student.id), 'student')
})

t.test('400 validation_failed for ids that are not integers from 1 to 2^31-1 and for a bad role', async (t) => {
  const { school, owner, teacher } = await staffedSchool()
  const before = await lastSeq(school.id)
  for (const userId of ['abc', '0', '-1', '1.5', '2147483648', '99999999999999999999', '1e3']) {
    for (const response of [await remove(school, userId, owner), await changeRole(school, userId, 'student', owner)]) {
      t.equal(response.statusCode, 400, `userId ${userId}`)
      t.same(response.json().code, 'validation_failed')
      t.same(response.json().message, 'Invalid path')
      t.same(response.json().errors.map((e: { field: string }) => e.field), ['userId'], `userId ${userId}`)
    }
  }
  for (const id of ['abc', '2147483648']) {
    for (const method of ['GET', 'DELETE', 'PATCH'] as const) {
      const url = method === 'GET' ? `/api/accounts/schools/${id}/members/` : `/api/accounts/schools/${id}/members/${teacher.id}/`
      const response = await app.inject({ method, url, headers: authFor(owner), ...(method === 'PATCH' ? { payload: { role: 'student' } } : {}) })
      t.equal(response.statusCode, 400, `${method} school ${id}`)
      t.same(response.json().errors.map((e: { field: string }) => e.field), ['id'])
    }
  }
  const roles = 'must be one of school_owner, school_admin, teacher, student'
  const bodies: Array<[string, Record<string, unknown> | undefined, Array<{ field: string; message: string }>]> = [
    ['no body', undefined, [{ field: 'role', message: 'is required' }]],
    ['no role', {}, [{ field: 'role', message: 'is required' }]],
    ['an unknown role', { role: 'principal' }, [{ field: 'role', message: roles }]],
    ['a role in other words', { role: 'owner' }, [{ field: 'role', message: roles }]],
    ['a null role', { role: null }, [{ field: 'role', message: roles }]],
    ['another field', { role: 'student', name: 'x' }, [{ field: 'name', message: 'is not allowed' }]],
  ]
  for (const [what, payload, errors] of bodies) {
    const response = await app.inject({ method: 'PATCH', url: school.member(teacher.id), headers: authFor(owner), ...(payload ? { payload } : {}) })
    t.equal(response.statusCode, 400, what)
    t.same(response.json(), { code: 'validation_failed', message: 'Invalid request body', errors }, what)
  }
  t.equal(await lastSeq(school.id), before)
  t.equal(await roleOf(school.id, teacher.id), 'teacher')
})

t.test("every school's log, folded, gives the counters of its tables", async (t) => {
  const schoolIds = (await prisma.school.findMany({ select: { id: true } })).map((s) => s.id)
  t.ok(schoolIds.length > 10)
  for (const schoolId of schoolIds) {
    const folded = await foldLog(prisma, schoolId)
    t.same(folded.deadLettered, [], `school ${schoolId}: every event applies`)
    t.same(folded.metrics, await readSchoolMetrics(prisma, schoolId), `school ${schoolId}`)
  }
})
