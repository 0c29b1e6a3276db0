// The whole path, with both services as separate processes behind the one public origin: HTTP actions
// in, dashboard messages out, over plain WebSocket and Socket.IO.
import t from 'tap'
import type { AnyEnvelope } from '@school/events'
import { PlainClient, SocketIoClient, type DashboardClient, type HandshakeRefusal } from '@school/test-support/system'
import { startSystem } from '@school/test-support/system'
import { FIXTURE_METRICS } from '@school/test-support'

const system = await startSystem(t, 'e2e_dashboard')
const { fixture } = system
const ownerA = await system.login(fixture.ownerA)
const adminA = await system.login(fixture.adminA)
const teacherA = await system.login(fixture.teacherA)
const ownerB = await system.login(fixture.ownerB)

const refusedTokens = (): Array<[string, string | undefined]> => [
  ['no token', undefined],
  ['a malformed token', 'not-a-jwt'],
  ['a token signed with another key', system.signToken({ sub: String(fixture.ownerA.id) }, { key: 'x'.repeat(40) })],
  ['an expired token', system.signToken({ sub: String(fixture.ownerA.id), exp: Math.floor(Date.now() / 1000) - 60 })],
]

t.test('refuses plain WebSocket handshakes with the HTTP status, before upgrading', async (t) => {
  const cases: Array<[string, number | string, string | undefined, number, string]> = [
    ...refusedTokens().map(([name, token]): [string, number, string | undefined, number, string] => [
      name,
      fixture.schoolA.id,
      token,
      401,
      'unauthorized',
    ]),
    ['a teacher of the school', fixture.schoolA.id, teacherA, 403, 'forbidden'],
    ["the owner of another school", fixture.schoolA.id, ownerB, 403, 'forbidden'],
    ['a school that does not exist', 999_999, ownerA, 404, 'school_not_found'],
    ['a non-numeric school id', 'abc', ownerA, 404, 'school_not_found'],
  ]
  for (const [name, schoolId, token, status, code] of cases) {
    const error = await PlainClient.connect(system.origin, schoolId, token).then(
      (client) => {
        void client.close()
        return null
      },
      (error: { refusal?: HandshakeRefusal }) => error,
    )
    t.same(
      { status: error?.refusal?.status, code: error?.refusal?.body.code },
      { status, code },
      `${name}: ${status} ${code}`,
    )
    t.type(error?.refusal?.body.message, 'string')
  }
})

t.test('refuses Socket.IO handshakes with a connect_error that says why', async (t) => {
  const cases: Array<[string, number | string, string | undefined, number, string]> = [
    ...refusedTokens().map(([name, token]): [string, number, string | undefined, number, string] => [
      name,
      fixture.schoolA.id,
      token,
      401,
      'unauthorized',
    ]),
    ['a teacher of the school', fixture.schoolA.id, teacherA, 403, 'forbidden'],
    ['a school that does not exist', 999_999, ownerA, 404, 'school_not_found'],
  ]
  for (const [name, schoolId, token, status, code] of cases) {
    const error = await SocketIoClient.connect(system.origin, schoolId, token).then(
      (client) => {
        void client.close()
        return null
      },
      (error: Error & { data?: { status?: number; code?: string } }) => error,
    )
    t.same({ message: error?.message, status: error?.data?.status, code: error?.data?.code }, { message: code, status, code }, name)
  }
})

t.test('a connection starts with connection_established and a metrics snapshot, on both transports', async (t) => {
  const clients: DashboardClient[] = [
    await PlainClient.connect(system.origin, fixture.schoolA.id, ownerA),
    await PlainClient.connect(system.origin, fixture.schoolA.id, ownerA, 'query'),
    await SocketIoClient.connect(system.origin, fixture.schoolA.id, adminA),
    await SocketIoClient.connect(system.origin, fixture.schoolA.id, adminA, 'polling'),
  ]
  t.teardown(() => Promise.all(clients.map((client) => client.close())))
  for (const client of clients) {
    const snapshot = await client.inbox.waitFor((m) => m.type === 'metrics_update', `snapshot on ${client.kind}`)
    const [first, second] = client.inbox.messages
    t.equal(first?.type, 'connection_established', `${client.kind}: first message`)
    t.equal(second, snapshot, `${client.kind}: the snapshot comes second`)
    const established = first as Extract<AnyEnvelope, { type: 'connection_established' }>
    t.equal(established.data.schoolId, fixture.schoolA.id)
    t.equal(established.data.transport, client.kind === 'websocket' ? 'websocket' : 'socket.io')
    t.same(snapshot.data, FIXTURE_METRICS.schoolA)
    t.match(snapshot.ts, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)
  }
})

t.test('answers ping with pong, and bad frames with an error while staying open', async (t) => {
  const plain = await PlainClient.connect(system.origin, fixture.schoolA.id, ownerA)
  const sio = await SocketIoClient.connect(system.origin, fixture.schoolA.id, ownerA)
  t.teardown(() => Promise.all([plain.close(), sio.close()]))

  plain.ping({ n: 1 })
  sio.ping({ n: 2 })
  t.same((await plain.inbox.waitFor((m) => m.type === 'pong', 'pong')).data, { n: 1 })
  t.same((await sio.inbox.waitFor((m) => m.type === 'pong', 'pong')).data, { n: 2 })

  plain.send('{not json')
  plain.send(JSON.stringify({ type: 'subscribe_everything' }))
  const errors = () => plain.inbox.ofType('error').map((m) => m.data.code)
  await plain.inbox.waitFor((m) => m.type === 'error' && m.data.code === 'unknown_type', 'unknown_type error')
  t.same(errors(), ['invalid_json', 'unknown_type'])
  plain.ping('still there?')
  t.equal((await plain.inbox.waitFor((m) => m.type === 'pong' && m.data === 'still there?', 'second pong')).data, 'still there?')
})

t.test('every action reaches every admin of the school exactly once, and no one else', async (t) => {
  const schoolAClients: DashboardClient[] = [
    await PlainClient.connect(system.origin, fixture.schoolA.id, ownerA),
    await SocketIoClient.connect(system.origin, fixture.schoolA.id, adminA, 'websocket'),
    await SocketIoClient.connect(system.origin, fixture.schoolA.id, ownerA, 'polling'),
  ]
  const schoolBClient = await PlainClient.connect(system.origin, fixture.schoolB.id, ownerB)
  t.teardown(() => Promise.all([...schoolAClients, schoolBClient].map((client) => client.close())))
  for (const client of [...schoolAClients, schoolBClient]) {
    await client.inbox.waitFor((m) => m.type === 'metrics_update', 'snapshot')
  }

  const schools = `/api/accounts/schools/${fixture.schoolA.id}`
  const steps: Array<{ name: string; act: () => Promise<void>; expect: { event: string; status?: string; metrics: object } }> = []
  let acceptUrl = ''
  let declineToken = ''
  let cancelId = 0
  steps.push({
    name: 'an invitation is sent',
    act: async () => {
      const { status, body } = await system.request('POST', `${schools}/invitations/`, {
        token: ownerA,
        body: { email: 'New.Teacher@Example.com', role: 'teacher', message: 'Welcome!' },
      })
      t.equal(status, 201)
      t.equal(body.status, 'pending')
      acceptUrl = body.acceptUrl
    },
    expect: { event: 'invitation.created', status: 'pending', metrics: { pendingInvitations: 1 } },
  })
  steps.push({
    name: 'the invitation is accepted',
    act: async () => {
      const response = await fetch(acceptUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'Nina Newteacher', password: 'a-good-password' }),
      })
      t.equal(response.status, 200)
    },
    expect: { event: 'invitation.accepted', status: 'accepted', metrics: { teachers: 2, pendingInvitations: 0, acceptedInvitations: 1 } },
  })
  steps.push({
    name: 'a second invitation is sent',
    act: async () => {
      const { status, body } = await system.request('POST', `${schools}/invitations`, {
        token: adminA,
        body: { email: 'maybe@example.com', role: 'student' },
      })
      t.equal(status, 201)
      declineToken = new URL(body.acceptUrl).pathname.split('/').at(-3) ?? ''
    },
    expect: { event: 'invitation.created', status: 'pending', metrics: { pendingInvitations: 1 } },
  })
  steps.push({
    name: 'it is declined',
    act: async () => {
      const { status } = await system.request('POST', `/api/accounts/invitations/${declineToken}/decline/`)
      t.equal(status, 200)
    },
    expect: { event: 'invitation.declined', status: 'declined', metrics: { pendingInvitations: 0, declinedInvitations: 1 } },
  })
  steps.push({
    name: 'a third invitation is sent',
    act: async () => {
      const { status, body } = await system.request('POST', `${schools}/invitations/`, {
        token: ownerA,
        body: { email: 'oops@example.com', role: 'school_admin' },
      })
      t.equal(status, 201)
      cancelId = body.id
    },
    expect: { event: 'invitation.created', status: 'pending', metrics: { pendingInvitations: 1 } },
  })
  steps.push({
    name: 'it is cancelled',
    act: async () => {
      const { status, body } = await system.request('DELETE', `${schools}/invitations/${cancelId}/`, { token: ownerA })
      t.equal(status, 200)
      t.equal(body.status, 'cancelled')
    },
    expect: { event: 'invitation.cancelled', status: 'cancelled', metrics: { pendingInvitations: 0, cancelledInvitations: 1 } },
  })
  steps.push({
    name: 'a student registers',
    act: async () => {
      const { status } = await system.request('POST', `${schools}/students/`, { token: ownerA, body: { name: 'Sofia Student' } })
      t.equal(status, 201)
    },
    expect: { event: 'student.registered', metrics: { students: 2 } },
  })
  steps.push({
    name: 'a class is created',
    act: async () => {
      const { status } = await system.request('POST', `${schools}/classes/`, {
        token: adminA,
        body: { name: '5th grade A', teacherId: fixture.teacherA.id },
      })
      t.equal(status, 201)
    },
    expect: { event: 'class.created', metrics: { classes: 1 } },
  })

  // The fixture's memberships are the first events of each school's log: 4 in school A, 1 in school B.
  const FIXTURE_EVENTS_A = 4
  for (const [index, step] of steps.entries()) {
    const seq = FIXTURE_EVENTS_A + index + 1
    await step.act()
    for (const client of schoolAClients) {
      await client.inbox.waitFor((m) => m.type === 'metrics_update' && m.seq === seq, `${step.name}: metrics of seq ${seq} on ${client.kind}`)
    }
  }

  // Another school's event, once school A's are all delivered: school B's client must see only this one.
  const { status } = await system.request('POST', `/api/accounts/schools/${fixture.schoolB.id}/invitations/`, {
    token: ownerB,
    body: { email: 'b-teacher@example.com', role: 'teacher' },
  })
  t.equal(status, 201)
  await schoolBClient.inbox.waitFor((m) => m.type === 'metrics_update' && m.seq === 2, 'school B event')

  for (const client of schoolAClients) {
    const live = client.inbox.messages.filter((m) => m.eventId !== undefined)
    const perEvent = new Map<string, AnyEnvelope[]>()
    for (const message of live) perEvent.set(message.eventId!, [...(perEvent.get(message.eventId!) ?? []), message])
    t.equal(perEvent.size, steps.length, `${client.kind}: one group of messages per event`)
    for (const [index, step] of steps.entries()) {
      const seq = FIXTURE_EVENTS_A + index + 1
      const group = [...perEvent.values()].find((messages) => messages[0]?.seq === seq) ?? []
      const expectedTypes = step.expect.status ? ['invitation_status_update', 'activity_new'] : ['activity_new']
      t.same(group.map((m) => m.type), expectedTypes, `${client.kind}: ${step.name} arrives once, in order`)
      t.ok(group.every((m) => m.seq === seq), `${client.kind}: ${step.name} carries seq ${seq}`)
      const activity = group.find((m) => m.type === 'activity_new') as Extract<AnyEnvelope, { type: 'activity_new' }>
      t.equal(activity?.data.type, step.expect.event)
      t.equal(activity?.data.seq, seq)
      if (step.expect.status) {
        const update = group[0] as Extract<AnyEnvelope, { type: 'invitation_status_update' }>
        t.equal(update.data.status, step.expect.status)
      }
      // Each step waited for its counters, so none were coalesced away: exactly one metrics_update per seq.
      const metrics = client.inbox.ofType('metrics_update').filter((m) => m.seq === seq)
      t.equal(metrics.length, 1, `${client.kind}: one metrics_update reflecting ${step.name}`)
      t.match(metrics[0]?.data, step.expect.metrics, `${client.kind}: metrics after ${step.name}`)
    }
  }
  const accepted = schoolAClients[0]!.inbox.ofType('activity_new').find((m) => m.data.type === 'invitation.created')
  t.equal(accepted?.data.summary, 'Olivia Owner invited new.teacher@example.com as teacher')
  t.equal(accepted?.data.actor?.id, fixture.ownerA.id)

  // After connection_established and the snapshot: only school B's one event.
  t.same(schoolBClient.inbox.messages.slice(2).map((m) => [m.type, m.seq]), [
    ['invitation_status_update', 2],
    ['activity_new', 2],
    ['metrics_update', 2],
  ], "school B's client received its own event and none of school A's")
})

t.test('the dashboard endpoint renders the same state the live messages built', async (t) => {
  const { status, body } = await system.request('GET', `/api/accounts/schools/${fixture.schoolA.id}/dashboard`, { token: ownerA })
  t.equal(status, 200)
  t.same(body.metrics, {
    students: 2,
    teachers: 2,
    admins: 2,
    classes: 1,
    pendingInvitations: 0,
    acceptedInvitations: 1,
    declinedInvitations: 1,
    cancelledInvitations: 1,
    expiredInvitations: 0,
  })
  t.same(body.recentActivity.map((a: { seq: number }) => a.seq), [12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1])
})
