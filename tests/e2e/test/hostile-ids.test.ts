// Ids that are not ours or not ids, against the running services, one test per id and transport: another
// school's id, a school id that is not a number, negative, zero or beyond 32 bits, on the HTTP API, the
// plain WebSocket path and Socket.IO's schoolId, and another school's invitation id. Each is refused
// exactly, nothing changes, and both services stay healthy.
import t from 'tap'
import { PlainClient, SocketIoClient, startSystem } from '@school/test-support/system'
import { assertStillHealthy, plainRefusal, socketIoRefusal } from './hostile-checks.js'

const system = await startSystem(t, 'e2e_hostile_ids')
const { fixture } = system
const ownerA = await system.login(fixture.ownerA)
const ownerB = await system.login(fixture.ownerB)
const legitimate = { token: await system.login(fixture.adminA), schoolId: fixture.schoolA.id }

const invalidPath = (message: string) => ({ code: 'validation_failed', message: 'Invalid path', errors: [{ field: 'id', message }] })
const NO_SCHOOL = { status: 404, code: 'school_not_found', message: 'School not found' }
const FORBIDDEN_WS = { status: 403, code: 'forbidden', message: "Only the school's owners and admins can open its dashboard" }

const cases: Array<{ name: string; id: string; http: { status: number; body: object }; dashboard: { status: number; code: string; message: string } }> = [
  {
    name: "another school's id",
    id: String(fixture.schoolB.id),
    http: { status: 403, body: { code: 'forbidden', message: 'You are not an owner or admin of this school' } },
    dashboard: FORBIDDEN_WS,
  },
  { name: 'a non-numeric id', id: 'abc', http: { status: 400, body: invalidPath('must be integer') }, dashboard: NO_SCHOOL },
  { name: 'a number in another notation', id: '1e3', http: { status: 400, body: invalidPath('must be integer') }, dashboard: NO_SCHOOL },
  { name: 'a negative id', id: '-1', http: { status: 400, body: invalidPath('must be >= 1') }, dashboard: NO_SCHOOL },
  { name: 'id zero', id: '0', http: { status: 400, body: invalidPath('must be >= 1') }, dashboard: NO_SCHOOL },
  { name: 'an id just past 32 bits', id: '2147483648', http: { status: 400, body: invalidPath('must be <= 2147483647') }, dashboard: NO_SCHOOL },
  { name: 'a huge id', id: '99999999999999999999', http: { status: 400, body: invalidPath('must be <= 2147483647') }, dashboard: NO_SCHOOL },
  { name: 'the largest id, of no school', id: '2147483647', http: { status: 404, body: { code: 'school_not_found', message: 'School not found' } }, dashboard: NO_SCHOOL },
]

for (const { name, id, http, dashboard } of cases) {
  t.test(`HTTP: ${name} (${id}) is refused with ${http.status}`, async (t) => {
    t.same(await system.request('GET', `/api/accounts/schools/${id}/dashboard/`, { token: ownerA }), http, 'reading')
    const write = await system.request('POST', `/api/accounts/schools/${id}/students/`, { token: ownerA, body: { name: 'Intruder' } })
    t.same(write, http, 'writing')
    await assertStillHealthy(t, system, legitimate)
  })

  t.test(`plain WebSocket path: ${name} (${id}) is refused with ${dashboard.status} before the upgrade`, async (t) => {
    const refusal = await plainRefusal(PlainClient.connect(system.origin, id, ownerA))
    t.same(refusal, { status: dashboard.status, body: { code: dashboard.code, message: dashboard.message } })
    await assertStillHealthy(t, system, legitimate)
  })

  t.test(`Socket.IO schoolId: ${name} (${id}) is refused with connect_error ${dashboard.code}`, async (t) => {
    const refusal = await socketIoRefusal(SocketIoClient.connect(system.origin, id, ownerA))
    t.same(refusal, { message: dashboard.code, data: dashboard })
    await assertStillHealthy(t, system, legitimate)
  })
}

t.test('nobody was added to any school by the refused writes', async (t) => {
  t.equal(await system.prisma.user.count({ where: { name: 'Intruder' } }), 0)
  t.equal(await system.prisma.domainEvent.count({ where: { type: 'student.registered' } }), 0)
})

t.test("another school's invitation id through one's own school is not found, and that invitation is untouched", async (t) => {
  const created = await system.request('POST', `/api/accounts/schools/${fixture.schoolB.id}/invitations/`, {
    token: ownerB,
    body: { email: 'someone@school-b.test', role: 'teacher' },
  })
  t.equal(created.status, 201)
  const invitationId = created.body.id as number
  t.same(await system.request('DELETE', `/api/accounts/schools/${fixture.schoolA.id}/invitations/${invitationId}/`, { token: ownerA }), {
    status: 404,
    body: { code: 'invitation_not_found', message: 'Invitation not found' },
  })
  t.same(await system.request('DELETE', `/api/accounts/schools/${fixture.schoolB.id}/invitations/${invitationId}/`, { token: ownerA }), {
    status: 403,
    body: { code: 'forbidden', message: 'You are not an owner or admin of this school' },
  })
  const invitation = await system.prisma.invitation.findUniqueOrThrow({ where: { id: invitationId } })
  t.equal(invitation.status, 'pending', 'still pending')
  await assertStillHealthy(t, system, legitimate)
})

t.test('invitation ids that are not ids are refused with 400 before any lookup', async (t) => {
  for (const [id, message] of [
    ['abc', 'must be integer'],
    ['-1', 'must be >= 1'],
    ['0', 'must be >= 1'],
    ['99999999999999999999', 'must be <= 2147483647'],
  ] as const) {
    t.same(await system.request('DELETE', `/api/accounts/schools/${fixture.schoolA.id}/invitations/${id}/`, { token: ownerA }), {
      status: 400,
      body: { code: 'validation_failed', message: 'Invalid path', errors: [{ field: 'invId', message }] },
    }, id)
  }
  await assertStillHealthy(t, system, legitimate)
})
