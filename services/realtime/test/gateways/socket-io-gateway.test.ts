import t from 'tap'
import { FIXTURE_METRICS } from '@school/test-support'
import { SocketIoClient, type SocketIoTransport } from '@school/test-support/clients'
import { createWorld } from '../helper.js'
import { refusalCases } from '../refusal-cases.js'

const world = await createWorld(t, 'rt_sio')
const { fixture } = world
const instance = await world.startInstance({ worker: false })
const track = async (opening: Promise<SocketIoClient>) => {
  const client = await opening
  world.defer(() => client.close())
  return client
}
const connectErrorOf = async (promise: Promise<unknown>) => {
  const error = (await promise.then(
    () => null,
    (e: unknown) => e,
  )) as (Error & { data?: unknown }) | null
  if (!error) throw new Error('expected a connect_error')
  return { message: error.message, data: error.data }
}

t.test('refuses the handshake with connect_error carrying the code and the status', async (t) => {
  for (const c of await refusalCases(world)) {
    for (const transport of ['websocket', 'polling'] as const) {
      const refusal = await connectErrorOf(SocketIoClient.connect(instance.url, c.schoolId, c.token, transport))
      t.same(refusal, { message: c.code, data: { status: c.status, code: c.code, message: c.message } }, `${c.name} (${transport})`)
    }
  }
})

t.test('takes the token from the Authorization header and the school from the query', async (t) => {
  const socket = SocketIoClient.socket(instance.url, {
    headers: { Authorization: `Bearer ${world.token(fixture.adminA)}` },
    query: { schoolId: String(fixture.schoolA.id) },
  })
  const client = await track(SocketIoClient.open(socket))
  const established = await client.inbox.next()
  t.match(established, { type: 'connection_established', data: { schoolId: fixture.schoolA.id, user: { id: fixture.adminA.id } } })

  const refused = SocketIoClient.socket(instance.url, {
    headers: { Authorization: `Bearer ${world.token(fixture.teacherA)}` },
    query: { schoolId: String(fixture.schoolA.id) },
  })
  t.match(await connectErrorOf(SocketIoClient.open(refused)), { message: 'forbidden', data: { status: 403 } })
})

for (const transport of ['websocket', 'polling'] as SocketIoTransport[]) {
  t.test(`over ${transport}: connection_established, then the metrics snapshot, then ping/pong`, async (t) => {
    const client = await track(SocketIoClient.connect(instance.url, fixture.schoolA.id, world.token(fixture.ownerA), transport))
    t.equal(client.socket.io.engine.transport.name, transport)
    const established = await client.inbox.next()
    t.same(established, {
      type: 'connection_established',
      data: {
        schoolId: fixture.schoolA.id,
        user: { id: fixture.ownerA.id, email: fixture.ownerA.email, name: fixture.ownerA.name, role: 'school_owner' },
        transport: 'socket.io',
      },
      ts: established.ts,
    })
    const snapshot = await client.inbox.next()
    t.same(snapshot, {
      type: 'metrics_update',
      data: FIXTURE_METRICS.schoolA,
      ts: snapshot.ts,
      seq: 4,
    })
    client.ping({ at: 1 })
    const pong = await client.inbox.next()
    t.same(pong, { type: 'pong', data: { at: 1 }, ts: pong.ts })
    client.ping(undefined)
    t.same((await client.inbox.next()).data, null)
    t.same(client.mismatched, [], 'every event name equals its envelope type')
  })
}

t.test('does not answer cross-origin polling requests with CORS headers', async (t) => {
  const response = await fetch(`${instance.url}/socket.io/?EIO=4&transport=polling`, { headers: { Origin: 'https://elsewhere.example' } })
  t.equal(response.status, 200)
  t.equal(response.headers.get('access-control-allow-origin'), null)
  await response.text()
})
