import t from 'tap'
import { FIXTURE_METRICS } from '@school/test-support'
import { PlainClient, type HandshakeRefusal, type RefusedHandshake } from '@school/test-support/clients'
import { createWorld } from '../helper.js'
import { refusalCases } from '../refusal-cases.js'

const world = await createWorld(t, 'rt_plain')
const { fixture } = world
const instance = await world.startInstance({ worker: false })
const connect = async (...args: Parameters<typeof PlainClient.connect>) => {
  const client = await PlainClient.connect(...args)
  world.defer(() => client.close())
  return client
}
const refusalOf = async (promise: Promise<unknown>): Promise<HandshakeRefusal & Pick<RefusedHandshake, 'headers'>> => {
  const error = (await promise.then(
    () => null,
    (e: unknown) => e,
  )) as Partial<RefusedHandshake> | null
  if (!error?.refusal || !error.headers) throw new Error(`expected an HTTP refusal, got ${String(error)}`)
  return { ...error.refusal, headers: error.headers }
}
t.test('refuses before upgrading, with an HTTP status and a JSON body', async (t) => {
  for (const c of await refusalCases(world)) {
    const headers: Record<string, string> = c.token === undefined ? {} : { Authorization: `Bearer ${c.token}` }
    const refusal = await refusalOf(PlainClient.open(PlainClient.url(instance.url, c.schoolId), headers))
    t.equal(refusal.status, c.status, `${c.name}: status`)
    t.same(refusal.body, { code: c.code, message: c.message }, `${c.name}: body`)
    t.match(refusal.headers['content-type'], /^application\/json/, `${c.name}: content type`)
    t.equal(refusal.headers.connection, 'close', `${c.name}: connection closed`)
  }
})

t.test('refuses a token given in the query when it is invalid', async (t) => {
  const refusal = await refusalOf(PlainClient.open(PlainClient.url(instance.url, fixture.schoolA.id, 'nope')))
  t.equal(refusal.status, 401)
  t.same(refusal.body, { code: 'unauthorized', message: 'A valid access token is required' })
})

t.test('answers an upgrade to an unknown path with 404 not_found', async (t) => {
  for (const path of ['/ws/elsewhere', '/ws/schools/1/dashboard/extra', '/']) {
    const refusal = await refusalOf(PlainClient.open(`${instance.url.replace('http', 'ws')}${path}`))
    t.equal(refusal.status, 404, path)
    t.same(refusal.body, { code: 'not_found', message: `No WebSocket endpoint at ${path}` }, path)
  }
})

t.test('accepts an owner and sends connection_established, then the metrics snapshot', async (t) => {
  const client = await connect(instance.url, fixture.schoolA.id, world.token(fixture.ownerA))
  const established = await client.inbox.next()
  t.same(established, {
    type: 'connection_established',
    data: {
      schoolId: fixture.schoolA.id,
      user: { id: fixture.ownerA.id, email: fixture.ownerA.email, name: fixture.ownerA.name, role: 'school_owner' },
      transport: 'websocket',
    },
    ts: established.ts,
  })
  t.ok(!Number.isNaN(Date.parse(established.ts)), 'ts is a date')
  const snapshot = await client.inbox.next()
  // The fixture's four memberships are the school's first four events.
  t.same(snapshot, { type: 'metrics_update', data: FIXTURE_METRICS.schoolA, ts: snapshot.ts, seq: 4 })
})

t.test('accepts an admin with the token in the query and without the trailing slash', async (t) => {
  const url = `${instance.url.replace('http', 'ws')}/ws/schools/${fixture.schoolA.id}/dashboard?token=${world.token(fixture.adminA)}`
  const client = await PlainClient.open(url)
  world.defer(() => client.close())
  const established = await client.inbox.next()
  t.equal(established.type, 'connection_established')
  t.match(established.data, { user: { id: fixture.adminA.id, role: 'school_admin' }, transport: 'websocket' })
  t.equal((await client.inbox.next()).type, 'metrics_update')
})

t.test('the snapshot carries the sequence of the last event its counters include', async (t) => {
  await world.prisma.schoolDashboardProjection.update({ where: { schoolId: fixture.schoolB.id }, data: { lastSeq: 41 } })
  t.teardown(() => world.prisma.schoolDashboardProjection.update({ where: { schoolId: fixture.schoolB.id }, data: { lastSeq: 1 } }))
  const client = await connect(instance.url, fixture.schoolB.id, world.token(fixture.ownerB), 'query')
  await client.inbox.next()
  const snapshot = await client.inbox.next()
  t.equal(snapshot.type, 'metrics_update')
  t.equal(snapshot.seq, 41)
  t.same(snapshot.data, FIXTURE_METRICS.schoolB)
})

t.test('answers a ping with a pong carrying the same data', async (t) => {
  const client = await connect(instance.url, fixture.schoolA.id, world.token(fixture.ownerA))
  await client.inbox.next()
  await client.inbox.next()
  client.ping({ n: 1, note: 'hello' })
  const pong = await client.inbox.next()
  t.same(pong, { type: 'pong', data: { n: 1, note: 'hello' }, ts: pong.ts })
  client.send(JSON.stringify({ type: 'ping' }))
  t.same((await client.inbox.next()).data, null, 'a ping without data gets null')
})

t.test('answers bad client frames with an error and keeps the connection open', async (t) => {
  const client = await connect(instance.url, fixture.schoolA.id, world.token(fixture.ownerA))
  await client.inbox.next()
  await client.inbox.next()
  const cases: Array<[string, string | Buffer, string]> = [
    ['malformed JSON', '{"type": "ping"', 'invalid_json'],
    ['a JSON array', '[1, 2]', 'invalid_message'],
    ['a JSON string', '"ping"', 'invalid_message'],
    ['null', 'null', 'invalid_message'],
    ['an object without type', '{"data": 1}', 'invalid_message'],
    ['a non-string type', '{"type": 5}', 'invalid_message'],
    ['an unknown type', '{"type": "subscribe"}', 'unknown_type'],
    ['a binary frame', Buffer.from([1, 2, 3]), 'unsupported_frame'],
  ]
  for (const [name, frame, code] of cases) {
    client.send(frame)
    const error = await client.inbox.next()
    t.equal(error.type, 'error', name)
    t.equal((error.data as { code: string }).code, code, name)
    t.type((error.data as { message: unknown }).message, 'string', name)
  }
  client.ping('still there?')
  t.same((await client.inbox.next()).data, 'still there?')
  t.equal(client.socket.readyState, client.socket.OPEN)
})

t.test('closes a connection that sends more than WS_MAX_PAYLOAD_BYTES', async (t) => {
  const client = await connect(instance.url, fixture.schoolA.id, world.token(fixture.ownerA))
  await client.inbox.next()
  const closed = client.closed()
  client.send(JSON.stringify({ type: 'ping', data: 'x'.repeat(world.config.WS_MAX_PAYLOAD_BYTES) }))
  t.equal((await closed).code, 1009)
})

t.test('drops a peer that stops answering heartbeat pings', async (t) => {
  const fast = await world.startInstance({ worker: false, heartbeatIntervalMs: 50 })
  const client = await connect(fast.url, fixture.schoolA.id, world.token(fixture.ownerA))
  await client.inbox.next()
  // ws answers pings automatically; a paused socket stops reading them, like a dead peer.
  client.socket.pause()
  const serverSide = [...fast.realtime.plain.wss.clients]
  t.equal(serverSide.length, 1)
  await new Promise((resolve) => serverSide[0]!.once('close', resolve))
  client.socket.terminate() // the paused client would otherwise wait out ws's 30 s close timeout
  t.equal(fast.realtime.bridge.memberIds(fast.realtime.io.of('/').adapter).length, 0, 'its pseudo id left the room')
})

t.test('the heartbeat pings each connection once per interval, spread over it rather than all at once', async (t) => {
  const intervalMs = 900
  const spread = await world.startInstance({ worker: false, heartbeatIntervalMs: intervalMs })
  // Two users, under the per-user connection limit (20).
  const clients = await Promise.all(
    Array.from({ length: 30 }, (_, index) => connect(spread.url, fixture.schoolA.id, world.token(index % 2 ? fixture.ownerA : fixture.adminA))),
  )
  t.teardown(() => Promise.all(clients.map((client) => client.close())))
  const pings = clients.map(() => [] as number[])
  clients.forEach((client, index) => client.socket.on('ping', () => pings[index]!.push(Date.now())))
  // Two pings each: two rounds of the heartbeat.
  await Promise.all(clients.map((client, index) => new Promise<void>((resolve) => {
    const check = () => (pings[index]!.length >= 2 ? resolve() : client.socket.once('ping', () => setImmediate(check)))
    check()
  })))
  const firsts = pings.map((times) => times[0]!)
  t.ok(Math.max(...firsts) - Math.min(...firsts) >= intervalMs / 3, `the first pings spread over ${Math.max(...firsts) - Math.min(...firsts)} ms, not one burst`)
  const gaps = pings.map((times) => times[1]! - times[0]!)
  t.ok(Math.min(...gaps) >= intervalMs * 0.8, `no connection pinged again sooner than the interval (shortest gap ${Math.min(...gaps)} ms)`)
})
