// Floods against the running services, one test per case: pings beyond the per-connection budget, on one
// connection and on as many as an address may open; thousands of handshake attempts from one address;
// sign-in attempts from one address behind the proxy; too many connections per user and per address; and
// a realtime instance killed with connections open, whose counts must not lock its users out. Attackers
// connect from other loopback addresses (127.0.0.2, ...) than the legitimate client (127.0.0.1): the
// services trust the one-origin proxy (TRUST_PROXY=loopback), which reports each client's address.
import { request as httpRequest } from 'node:http'
import { connect } from 'node:net'
import t, { type Test } from 'tap'
import { Redis } from 'ioredis'
import { pollUntil } from '@school/test-support'
import { PlainClient, SocketIoClient, startSystem, type DashboardClient } from '@school/test-support/system'
import { assertStillHealthy, plainRefusal, residentBytes, socketIoRefusal } from './hostile-checks.js'

const LIMITS = { perUser: 3, perAddress: 5, handshakesPerMinute: 200, messagesPerSecond: 20, loginsPerAddress: 10 }
const system = await startSystem(t, 'e2e_hostile_floods', {
  realtimeEnv: {
    MAX_CONNECTIONS_PER_USER: String(LIMITS.perUser),
    MAX_CONNECTIONS_PER_IP: String(LIMITS.perAddress),
    HANDSHAKES_PER_IP_PER_MINUTE: String(LIMITS.handshakesPerMinute),
    CLIENT_MESSAGES_PER_SECOND: String(LIMITS.messagesPerSecond),
    // A killed instance's connections stop counting after this.
    PRESENCE_TTL_MS: '1000',
    PRESENCE_HEARTBEAT_MS: '250',
  },
  apiEnv: { LOGIN_MAX_PER_IP: String(LIMITS.loginsPerAddress), LOGIN_MAX_PER_ACCOUNT: '1000' },
})
const { fixture } = system
const [ownerA, adminA, ownerB] = [await system.login(fixture.ownerA), await system.login(fixture.adminA), await system.login(fixture.ownerB)]
// The legitimate client is school B's owner from 127.0.0.1; the attacks below use the other users.
const legitimate = { token: ownerB, schoolId: fixture.schoolB.id }
const schoolA = fixture.schoolA.id
const redis = new Redis(system.redisUrl)
t.teardown(() => redis.quit())

const rateLimited = `At most ${LIMITS.messagesPerSecond} messages per second`
const answers = (client: DashboardClient) => client.inbox.messages.filter((m) => m.type === 'pong' || m.type === 'error')

/** Sends `count` pings at once and waits for as many answers. */
async function flood(client: DashboardClient, count: number): Promise<void> {
  for (let i = 0; i < count; i++) client.ping(i)
  await client.inbox.waitFor(() => answers(client).length >= count, `answers to ${count} pings`)
}

function assertFloodAnswered(t: Test, client: DashboardClient, count: number): void {
  const all = answers(client)
  t.equal(all.length, count, 'every ping is answered')
  t.same(all.slice(0, LIMITS.messagesPerSecond).map((m) => m.type), Array(LIMITS.messagesPerSecond).fill('pong'), 'the budget of the second is served')
  t.same(all[LIMITS.messagesPerSecond]?.data, { code: 'rate_limited', message: rateLimited }, 'the next one is answered rate_limited')
  const pongs = all.filter((m) => m.type === 'pong').length
  t.ok(pongs < count / 2, `${pongs} of ${count} served: the rest refused, not queued`)
}

/** One plain WebSocket upgrade sent from `localAddress` through the proxy; resolves with the HTTP status. */
function upgradeStatus(localAddress: string, token: string): Promise<number> {
  const { port } = new URL(system.origin)
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port: Number(port), localAddress })
    let head = ''
    socket.setEncoding('utf8')
    socket.on('data', (chunk: string) => {
      head += chunk
      const status = /^HTTP\/1\.1 (\d{3}) /.exec(head)?.[1]
      if (status) {
        socket.destroy()
        resolve(Number(status))
      }
    })
    socket.on('error', reject)
    socket.write(
      `GET /ws/schools/${schoolA}/dashboard/ HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
        `Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nAuthorization: Bearer ${token}\r\n\r\n`,
    )
  })
}

/** POST /api/auth/login from `localAddress` through the proxy; resolves with the status and body. */
function loginFrom(localAddress: string, email: string): Promise<{ status: number; body: { code?: string } }> {
  const body = JSON.stringify({ email, password: 'not-the-password' })
  return new Promise((resolve, reject) => {
    const request = httpRequest(`${system.origin}/api/auth/login`, {
      method: 'POST',
      localAddress,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
    })
    request.on('response', (response) => {
      let text = ''
      response.setEncoding('utf8')
      response.on('data', (chunk: string) => (text += chunk))
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: JSON.parse(text) as { code?: string } }))
    })
    request.on('error', reject)
    request.end(body)
  })
}

/**
 * Resolves once no connection is counted in Redis: a closed connection's slot is given back by the server
 * a moment after the client sees the close, and the next test must not inherit it.
 */
async function noConnectionsCounted(): Promise<void> {
  const counts = async () => {
    const keys = await redis.keys(`${system.redisPrefix}:limits:connections:user:*`)
    return (await Promise.all(keys.map((key) => redis.hvals(key)))).flat()
  }
  await pollUntil(counts, (values) => values.length === 0, 'no connection counted')
}
t.beforeEach(() => noConnectionsCounted())

const countOf = <T>(values: T[]) => Object.fromEntries([...new Set(values)].map((value) => [String(value), values.filter((v) => v === value).length]))

t.test('a ping flood on a plain WebSocket is answered rate_limited beyond the budget; the connection stays, others are served', async (t) => {
  const attacker = await PlainClient.connect(system.origin, schoolA, ownerA, 'header', { localAddress: '127.0.0.2' })
  const bystander = await PlainClient.connect(system.origin, schoolA, adminA)
  t.teardown(() => Promise.all([attacker.close(), bystander.close()]))
  await attacker.inbox.waitFor((m) => m.type === 'metrics_update', 'the snapshot')
  await flood(attacker, 500)
  assertFloodAnswered(t, attacker, 500)
  t.equal(attacker.socket.readyState, attacker.socket.OPEN, 'the flooding connection is kept')
  bystander.ping('me too')
  t.same((await bystander.inbox.waitFor((m) => m.type === 'pong' || m.type === 'error', 'the bystander answer')).data, 'me too', 'another client gets its pong')
  await assertStillHealthy(t, system, legitimate)
})

t.test('a ping flood over Socket.IO is answered the same way', async (t) => {
  const attacker = await SocketIoClient.connect(system.origin, schoolA, ownerA, 'websocket', { localAddress: '127.0.0.2' })
  t.teardown(() => attacker.close())
  await attacker.inbox.waitFor((m) => m.type === 'metrics_update', 'the snapshot')
  await flood(attacker, 500)
  assertFloodAnswered(t, attacker, 500)
  t.ok(attacker.socket.connected, 'the flooding connection is kept')
  await assertStillHealthy(t, system, legitimate)
})

t.test('one address flooding on as many connections as it may open: the next is refused, each is budgeted, others are served', async (t) => {
  const from = { localAddress: '127.0.0.3' }
  const users: Array<[string, number]> = [
    [ownerA, schoolA],
    [ownerA, schoolA],
    [adminA, schoolA],
    [adminA, schoolA],
    [ownerB, fixture.schoolB.id],
  ]
  const attackers: DashboardClient[] = []
  t.teardown(() => Promise.all(attackers.map((client) => client.close())))
  for (const [index, [token, schoolId]] of users.entries()) {
    attackers.push(
      await (index % 2 === 0
        ? PlainClient.connect(system.origin, schoolId, token, 'header', from)
        : SocketIoClient.connect(system.origin, schoolId, token, 'websocket', from)),
    )
  }
  t.same(await plainRefusal(PlainClient.connect(system.origin, fixture.schoolB.id, ownerB, 'header', from)), {
    status: 429,
    body: { code: 'too_many_connections', message: `At most ${LIMITS.perAddress} dashboard connections per client address; close one first` },
  }, `the ${LIMITS.perAddress + 1}th connection from the address`)
  for (const client of attackers) await client.inbox.waitFor((m) => m.type === 'metrics_update', 'the snapshot')
  await Promise.all(attackers.map((client) => flood(client, 200)))
  for (const client of attackers) assertFloodAnswered(t, client, 200)
  await assertStillHealthy(t, system, legitimate)
})

t.test('thousands of handshake attempts from one address are refused with 401, then 429, and cost no memory', async (t) => {
  const before = await residentBytes(system.realtime.url)
  const attempts = 3000
  const statuses: number[] = []
  const started = Date.now()
  let next = 0
  await Promise.all(
    Array.from({ length: 50 }, async () => {
      while (next < attempts) {
        next += 1
        statuses.push(await upgradeStatus('127.0.0.4', 'not-a-token'))
      }
    }),
  )
  t.comment(`${attempts} attempts in ${Date.now() - started} ms`)
  t.same(countOf(statuses), { 401: LIMITS.handshakesPerMinute, 429: attempts - LIMITS.handshakesPerMinute }, `the first ${LIMITS.handshakesPerMinute} are looked at, the rest refused unread`)
  t.equal(await upgradeStatus('127.0.0.4', ownerA), 429, 'a valid token from that address is refused too: the rate comes first')
  const growth = (await residentBytes(system.realtime.url)) - before
  t.ok(growth < 32 * 1024 * 1024, `realtime RSS grew by ${(growth / 1048576).toFixed(1)} MiB`)
  await assertStillHealthy(t, system, legitimate)
})

t.test('sign-in attempts from one address behind the proxy are limited for that address only', async (t) => {
  const statuses = []
  for (let i = 0; i <= LIMITS.loginsPerAddress; i++) statuses.push((await loginFrom('127.0.0.5', `guess${i}@example.com`)).status)
  t.same(statuses, [...Array(LIMITS.loginsPerAddress).fill(401), 429], `${LIMITS.loginsPerAddress} attempts, then 429`)
  t.match(await loginFrom('127.0.0.5', 'another@example.com'), { status: 429, body: { code: 'rate_limited' } })
  t.match(await loginFrom('127.0.0.6', 'another@example.com'), { status: 401, body: { code: 'invalid_credentials' } }, 'another address is not limited')
  t.equal((await system.request('POST', '/api/auth/login', { body: { email: fixture.adminA.email, password: fixture.adminA.password } })).status, 200, 'the legitimate client signs in')
  await assertStillHealthy(t, system, legitimate)
})

t.test('too many connections of one user are refused on both transports', async (t) => {
  const open = [
    await PlainClient.connect(system.origin, schoolA, adminA),
    await SocketIoClient.connect(system.origin, schoolA, adminA),
    await PlainClient.connect(system.origin, schoolA, adminA, 'query', { localAddress: '127.0.0.7' }),
  ]
  t.teardown(() => Promise.all(open.map((client) => client.close())))
  const message = `At most ${LIMITS.perUser} dashboard connections per user; close one first`
  t.same(await plainRefusal(PlainClient.connect(system.origin, schoolA, adminA, 'header', { localAddress: '127.0.0.8' })), {
    status: 429,
    body: { code: 'too_many_connections', message },
  }, 'from any address')
  t.same(await socketIoRefusal(SocketIoClient.connect(system.origin, schoolA, adminA)), {
    message: 'too_many_connections',
    data: { status: 429, code: 'too_many_connections', message },
  })
  await assertStillHealthy(t, system, legitimate)
})

t.test("a realtime instance killed with connections open does not lock their user out: its counts expire with it", async (t) => {
  const userKey = `${system.redisPrefix}:limits:connections:user:${fixture.ownerA.id}`
  const clients = [
    await PlainClient.connect(system.origin, schoolA, ownerA, 'header', { localAddress: '127.0.0.9' }),
    await SocketIoClient.connect(system.origin, schoolA, ownerA, 'websocket', { localAddress: '127.0.0.9' }),
    await PlainClient.connect(system.origin, schoolA, ownerA, 'header', { localAddress: '127.0.0.9' }),
  ]
  t.teardown(() => Promise.all(clients.map((client) => client.close())))
  t.same(Object.values(await redis.hgetall(userKey)), [String(LIMITS.perUser)], 'the user is at the limit, counted under the instance')
  await system.restart('realtime', { signal: 'SIGKILL' })
  t.same(Object.values(await redis.hgetall(userKey)), [String(LIMITS.perUser)], 'nothing released the slots: the process was killed')

  // Until PRESENCE_TTL_MS (1 s) after its last lease renewal the dead instance still counts; then it does not.
  const attempt = () =>
    PlainClient.connect(system.origin, schoolA, ownerA, 'header', { localAddress: '127.0.0.9' }).catch((error: { refusal?: { body: { code: string } } }) => {
      if (error.refusal?.body.code !== 'too_many_connections') throw error
      return null
    })
  const client = (await pollUntil(attempt, (connected) => connected !== null, 'a connection of the user after the kill'))!
  t.teardown(() => client.close())
  t.equal((await client.inbox.waitFor((m) => m.type === 'connection_established', 'the welcome')).type, 'connection_established', 'the user connects again')
  t.same(Object.values(await redis.hgetall(userKey)), ['1'], "the dead instance's count is gone; the new one counts one")
  await assertStillHealthy(t, system, legitimate)
})
