// The connection limits at the handshake of both transports, on two instances sharing Redis: refusals
// before the upgrade (HTTP 429 + JSON, Retry-After for the handshake rate) and as Socket.IO connect_errors,
// slots given back on every way a connection ends, and client addresses taken from X-Forwarded-For only
// when the proxy is trusted.
import { connect } from 'node:net'
import t from 'tap'
import WebSocket from 'ws'
import { Redis } from 'ioredis'
import { pollUntil, TEST_REDIS_URL } from '@school/test-support'
import { PlainClient, SocketIoClient, type HandshakeRefusal, type RefusedHandshake } from '@school/test-support/clients'
import { createWorld, type World } from '../helper.js'
import { connectionLimitKeys } from '../../src/guards/connection-limits.js'

const redis = new Redis(TEST_REDIS_URL)
t.teardown(() => redis.quit())

/** Connections counted in Redis for a key, over every instance. */
async function counted(key: string): Promise<number> {
  return (await redis.hvals(key)).reduce((sum, value) => sum + Number(value), 0)
}

/** Resolves once `key` counts `expected` connections: a close reaches Redis a moment after the client sees it. */
const countReaches = (key: string, expected: number, description: string) => pollUntil(() => counted(key), (count) => count === expected, description)

async function plainRefusal(origin: string, schoolId: number, headers: Record<string, string>): Promise<(HandshakeRefusal & Pick<RefusedHandshake, 'headers'>) | null> {
  return PlainClient.open(PlainClient.url(origin, schoolId), headers).then(
    async (client) => {
      await client.close()
      return null
    },
    (error: Partial<RefusedHandshake>) => (error.refusal && error.headers ? { ...error.refusal, headers: error.headers } : null),
  )
}

async function socketIoError(origin: string, auth: Record<string, unknown>, headers: Record<string, string> = {}) {
  return SocketIoClient.open(SocketIoClient.socket(origin, { auth, headers })).then(
    async (client) => {
      await client.close()
      return null
    },
    (error: Error & { data?: Record<string, unknown> }) => ({ message: error.message, data: error.data }),
  )
}

t.test('without a trusted proxy: per-user and per-address limits over both instances and transports', async (t) => {
  const world = await createWorld(t, 'rt_limits_direct', { MAX_CONNECTIONS_PER_USER: '2', MAX_CONNECTIONS_PER_IP: '4' })
  const { fixture } = world
  const keys = connectionLimitKeys(world.prefix)
  const [a, b] = [await world.startInstance({ worker: false }), await world.startInstance({ worker: false })]
  const schoolA = fixture.schoolA.id
  const bearer = (user: Parameters<World['token']>[0], extra: Record<string, string> = {}) => ({ Authorization: `Bearer ${world.token(user)}`, ...extra })
  const address = '127.0.0.1'
  const idle = (description: string) => countReaches(keys.address(address), 0, description)

  t.test('the third connection of one user is refused on either instance and transport', async (t) => {
    const plain = await PlainClient.connect(a.url, schoolA, world.token(fixture.ownerA))
    const sio = await SocketIoClient.connect(b.url, schoolA, world.token(fixture.ownerA))
    t.teardown(() => Promise.all([plain.close(), sio.close()]))
    t.equal(await counted(keys.user(fixture.ownerA.id)), 2, 'counted in Redis, one per instance')

    const refusal = await plainRefusal(a.url, schoolA, bearer(fixture.ownerA))
    t.same({ status: refusal?.status, body: refusal?.body }, {
      status: 429,
      body: { code: 'too_many_connections', message: 'At most 2 dashboard connections per user; close one first' },
    })
    t.equal(refusal?.headers['retry-after'], undefined, 'no Retry-After: nobody knows when a slot frees up')
    t.equal(refusal?.headers['content-type'], 'application/json')
    t.same(await socketIoError(b.url, { token: world.token(fixture.ownerA), schoolId: schoolA }), {
      message: 'too_many_connections',
      data: { status: 429, code: 'too_many_connections', message: 'At most 2 dashboard connections per user; close one first' },
    })
    const admin = await PlainClient.connect(b.url, schoolA, world.token(fixture.adminA))
    t.teardown(() => admin.close())
    t.equal((await admin.inbox.next()).type, 'connection_established', 'another user is not affected')

    await plain.close()
    await countReaches(keys.user(fixture.ownerA.id), 1, 'the closed connection to be released')
    const again = await SocketIoClient.connect(a.url, schoolA, world.token(fixture.ownerA))
    t.teardown(() => again.close())
    t.equal((await again.inbox.next()).type, 'connection_established', 'its slot is free again')
  })

  t.test('the fifth connection from one address is refused, whoever the user; X-Forwarded-For is not believed', async (t) => {
    await idle('the previous test to release its slots')
    const clients = [
      await PlainClient.open(PlainClient.url(a.url, schoolA), bearer(fixture.ownerA, { 'X-Forwarded-For': '203.0.113.1' })),
      await PlainClient.open(PlainClient.url(b.url, schoolA), bearer(fixture.ownerA, { 'X-Forwarded-For': '203.0.113.2' })),
      await PlainClient.open(PlainClient.url(a.url, schoolA), bearer(fixture.adminA, { 'X-Forwarded-For': '203.0.113.3' })),
      await SocketIoClient.open(SocketIoClient.socket(b.url, { auth: { token: world.token(fixture.adminA), schoolId: schoolA }, headers: { 'X-Forwarded-For': '203.0.113.4' } })),
    ]
    t.teardown(() => Promise.all(clients.map((client) => client.close())))
    t.equal(await counted(keys.address(address)), 4, `all four counted as ${address}`)
    const refusal = await plainRefusal(b.url, fixture.schoolB.id, bearer(fixture.ownerB, { 'X-Forwarded-For': '203.0.113.5' }))
    t.same({ status: refusal?.status, body: refusal?.body }, {
      status: 429,
      body: { code: 'too_many_connections', message: 'At most 4 dashboard connections per client address; close one first' },
    })
    t.match(await socketIoError(a.url, { token: world.token(fixture.ownerB), schoolId: fixture.schoolB.id }), {
      message: 'too_many_connections',
      data: { status: 429, code: 'too_many_connections' },
    })
  })

  t.test('a slot is given back however the connection ends', async (t) => {
    await idle('the previous test to release its slots')
    const user = keys.user(fixture.ownerA.id)
    const released = (how: string) => countReaches(user, 0, `release after ${how}`)

    const closedByClient = await PlainClient.connect(a.url, schoolA, world.token(fixture.ownerA))
    await closedByClient.close()
    await released('a close by the client')

    const reset = await PlainClient.connect(a.url, schoolA, world.token(fixture.ownerA))
    reset.socket.terminate()
    await released('a TCP reset')

    const expiring = await PlainClient.connect(b.url, schoolA, world.token(fixture.ownerA, { ttlSeconds: 1 }))
    t.same(await expiring.closed(), { code: 4001, reason: 'token expired' })
    await released('a close by the server (token expired)')

    const polling = await SocketIoClient.connect(a.url, schoolA, world.token(fixture.ownerA), 'polling')
    await polling.close()
    await released('a Socket.IO disconnect over long-polling')

    // Gone while the handshake is still being checked: the slot, if taken, is given back all the same.
    const token = world.token(fixture.ownerA)
    const leaving = connect(Number(new URL(a.url).port), '127.0.0.1')
    leaving.on('error', () => {})
    leaving.end(
      `GET /ws/schools/${schoolA}/dashboard/ HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
        `Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nAuthorization: Bearer ${token}\r\n\r\n`,
      () => leaving.destroy(),
    )
    await released('a plain WebSocket client that left during its handshake')
    const engine = new WebSocket(`${a.url.replace(/^http/, 'ws')}/socket.io/?EIO=4&transport=websocket`)
    engine.on('error', () => {})
    await new Promise((resolve) => engine.once('message', resolve))
    engine.send(`40${JSON.stringify({ token, schoolId: schoolA })}`, () => engine.terminate())
    await released('a Socket.IO client that left during its handshake')

    const revoked = await SocketIoClient.connect(b.url, schoolA, world.token(fixture.ownerA))
    const disconnected = revoked.disconnected()
    await b.stop()
    t.equal(await disconnected, 'transport close')
    await released('the instance shutting down')
    t.pass('no slot is left behind')
  })
})

t.test('behind a trusted proxy: each forwarded address has its own handshake rate and connection limit', async (t) => {
  const world = await createWorld(t, 'rt_limits_proxy', { TRUST_PROXY: 'loopback', HANDSHAKES_PER_IP_PER_MINUTE: '3', MAX_CONNECTIONS_PER_IP: '1' })
  const { fixture } = world
  const instance = await world.startInstance({ worker: false })
  const schoolA = fixture.schoolA.id
  const from = (address: string, token?: string) => ({ 'X-Forwarded-For': address, ...(token ? { Authorization: `Bearer ${token}` } : {}) })

  t.test("attempts beyond the minute's budget are refused with 429 rate_limited and Retry-After, valid token or not", async (t) => {
    for (let i = 0; i < 3; i++) {
      t.match(await plainRefusal(instance.url, schoolA, from('203.0.113.10')), { status: 401, body: { code: 'unauthorized' } }, `attempt ${i + 1}`)
    }
    const refusal = await plainRefusal(instance.url, schoolA, from('203.0.113.10', world.token(fixture.ownerA)))
    t.same({ status: refusal?.status, body: refusal?.body }, {
      status: 429,
      body: { code: 'rate_limited', message: 'At most 3 dashboard connection attempts per minute from one address; retry later' },
    })
    const retryAfter = Number(refusal?.headers['retry-after'])
    t.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After: ${retryAfter}`)
    const error = await socketIoError(instance.url, { token: world.token(fixture.ownerA), schoolId: schoolA }, from('203.0.113.10'))
    t.match(error, { message: 'rate_limited', data: { status: 429, code: 'rate_limited', retryAfterSeconds: Number } })

    const other = await PlainClient.open(PlainClient.url(instance.url, schoolA), from('203.0.113.11', world.token(fixture.ownerA)))
    t.teardown(() => other.close())
    t.equal((await other.inbox.next()).type, 'connection_established', 'another forwarded address is not affected')
  })

  t.test('the per-address connection limit counts the forwarded client, not the proxy', async (t) => {
    const first = await PlainClient.open(PlainClient.url(instance.url, schoolA), from('203.0.113.20', world.token(fixture.ownerA)))
    t.teardown(() => first.close())
    t.match(await plainRefusal(instance.url, schoolA, from('203.0.113.20', world.token(fixture.adminA))), {
      status: 429,
      body: { code: 'too_many_connections' },
    })
    const second = await PlainClient.open(PlainClient.url(instance.url, schoolA), from('203.0.113.21', world.token(fixture.adminA)))
    t.teardown(() => second.close())
    t.equal((await second.inbox.next()).type, 'connection_established')
  })
})
