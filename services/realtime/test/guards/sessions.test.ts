// Sessions on live connections: a connection is told before its token expires and renews it in band on
// both transports (no reconnect); a token of another user or session, a malformed or an expired one is
// refused and changes nothing; a revocation notice (the API's connection-revocations queue) closes the
// connections of that session, or of every session of the user, on every instance within a second; the
// periodic recheck catches a session revoked with no notice.
import t from 'tap'
import { Queue } from 'bullmq'
import { Redis } from 'ioredis'
import { CONNECTION_REVOCATIONS_QUEUE, queuePrefix, type AnyEnvelope, type ConnectionRevocationJob } from '@school/events'
import { TEST_REDIS_URL } from '@school/test-support'
import { PlainClient, SocketIoClient, stillOpen, watching, type DashboardClient } from '@school/test-support/clients'
import { createWorld } from '../helper.js'

const NOTICE_S = 2
const world = await createWorld(t, 'rt_sessions', { ACCESS_RECHECK_MS: '60000', TOKEN_EXPIRING_NOTICE_S: String(NOTICE_S) })
const { fixture } = world
const schoolA = fixture.schoolA.id
const applying = await world.startInstance()
const listening = await world.startInstance({ worker: false })
const revocations = new Queue<ConnectionRevocationJob>(CONNECTION_REVOCATIONS_QUEUE, { connection: { url: TEST_REDIS_URL }, prefix: queuePrefix(world.prefix) })
world.defer(() => revocations.close())
const redis = new Redis(TEST_REDIS_URL)
world.defer(() => redis.quit())

type Typed<T extends AnyEnvelope['type']> = Extract<AnyEnvelope, { type: T }>
const isError = (code: string) => (m: AnyEnvelope) => m.type === 'error' && m.data.code === code
const nowSeconds = () => Math.floor(Date.now() / 1000)

for (const transport of ['websocket', 'socket.io'] as const) {
  t.test(`${transport}: told before the token expires, renewed in band, and open past the old expiry`, async (t) => {
    // A user of its own per transport: the count key's lifetime is per user.
    const user = transport === 'websocket' ? fixture.ownerA : fixture.adminA
    const sessionId = await world.startSession(user)
    const first = world.token(user, { sessionId, ttlSeconds: NOTICE_S + 1 })
    const oldExp = JSON.parse(Buffer.from(first.split('.')[1]!, 'base64url').toString()).exp as number
    const client = await watching<DashboardClient>(t, 
      transport === 'websocket' ? PlainClient.connect(applying.url, schoolA, first) : SocketIoClient.connect(applying.url, schoolA, first),
    )
    const expiring = (await client.inbox.waitFor((m) => m.type === 'token_expiring', 'token_expiring')) as Typed<'token_expiring'>
    t.same(expiring.data, { expiresAt: new Date(oldExp * 1000).toISOString() })

    const countKey = `${world.prefix}:limits:connections:user:${user.id}`
    const ttlBefore = await redis.pttl(countKey)
    const fresh = world.token(user, { sessionId, ttlSeconds: 600 })
    const newExp = nowSeconds() + 600
    client.refresh(fresh)
    const refreshed = (await client.inbox.waitFor((m) => m.type === 'token_refreshed', 'token_refreshed')) as Typed<'token_refreshed'>
    t.ok(Math.abs(Date.parse(refreshed.data.expiresAt) / 1000 - newExp) <= 1, `lives until the new token's expiry (${refreshed.data.expiresAt})`)
    // The key lives as long as the longest token it counts (the address's key may have made it longer already).
    const ttlAfter = await redis.pttl(countKey)
    t.ok(ttlAfter >= 590_000 && ttlAfter >= ttlBefore, `the connection count lives as long as the new token (${ttlBefore} -> ${ttlAfter} ms)`)

    // Nothing to await here but time: the old expiry and the tick after it must pass without a close.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, oldExp * 1000 + 1200 - Date.now())))
    await stillOpen(client, 'past the old expiry')
    t.equal(client.inbox.messages.filter((m) => m.type === 'connection_established').length, 1, 'never reconnected')
    t.equal(client.inbox.messages.filter((m) => m.type === 'token_expiring').length, 1, 'told once: the new token is far from expiring')
  })
}

t.test('refused renewals change nothing: another user, another session, a malformed token, an expired one, a bad message', async (t) => {
  const sessionId = await world.startSession(fixture.adminA)
  const otherSession = await world.startSession(fixture.adminA)
  const token = world.token(fixture.adminA, { sessionId })
  const plain = await watching(t, PlainClient.connect(listening.url, schoolA, token))
  const sio = await watching(t, SocketIoClient.connect(listening.url, schoolA, token))
  const cases: Array<[string, string, string]> = [
    ["another user's token", world.token(fixture.ownerA, { sessionId }), 'token_mismatch'],
    ["another session's token", world.token(fixture.adminA, { sessionId: otherSession }), 'token_mismatch'],
    ['a token of no session', world.token(fixture.adminA), 'token_mismatch'],
    ['a malformed token', 'not.a.token', 'invalid_token'],
    ['a token signed with another key', world.token(fixture.adminA, { sessionId, secret: 'another-secret-of-at-least-32-chars!!' }), 'invalid_token'],
    ['an expired token', world.token(fixture.adminA, { sessionId, ttlSeconds: 1, issuedSecondsAgo: 10 }), 'expired_token'],
  ]
  for (const client of [plain, sio]) {
    for (const [name, bad, code] of cases) {
      const before = client.inbox.messages.length
      client.refresh(bad)
      const error = (await client.inbox.waitFor((m) => client.inbox.messages.indexOf(m) >= before && isError(code)(m), `${client.kind}: ${name}`)) as Typed<'error'>
      t.equal(error.data.code, code, `${client.kind}: ${name}`)
      await stillOpen(client, `${client.kind} after ${name}`)
    }
  }
  plain.send(JSON.stringify({ type: 'refresh', data: { token: 42 } }))
  const shape = (await plain.inbox.waitFor(isError('invalid_message'), 'a refresh without a token')) as Typed<'error'>
  t.same(shape.data, { code: 'invalid_message', message: 'A refresh carries the new access token: {"type":"refresh","data":{"token":"<access token>"}}' })
  sio.socket.emit('refresh', 'just a string')
  await sio.inbox.waitFor(isError('invalid_message'), 'Socket.IO: a refresh without {token}')
  t.same(await Promise.all([plain, sio].map((client) => client.inbox.messages.filter((m) => m.type === 'token_refreshed').length)), [0, 0])
})

t.test('a revocation notice for a session closes its connections on both instances within a second, and no one else’s', async (t) => {
  const sessionId = await world.startSession(fixture.ownerA)
  const otherSessionId = await world.startSession(fixture.ownerA)
  const token = world.token(fixture.ownerA, { sessionId })
  const onApplying = await watching(t, PlainClient.connect(applying.url, schoolA, token))
  const onListening = await watching(t, SocketIoClient.connect(listening.url, schoolA, token))
  const otherSession = await watching(t, PlainClient.connect(listening.url, schoolA, world.token(fixture.ownerA, { sessionId: otherSessionId })))
  const otherUser = await watching(t, PlainClient.connect(listening.url, schoolA, world.token(fixture.adminA)))

  const started = Date.now()
  await world.prisma.session.update({ where: { id: sessionId }, data: { revokedAt: new Date(), revokedReason: 'logout' } })
  await revocations.add('logout', { scope: { userId: fixture.ownerA.id, sessionId }, reason: 'logout' })
  const [closed, reason] = await Promise.all([onApplying.closed(), onListening.disconnected()])
  const elapsed = Date.now() - started
  t.same(closed, { code: 4001, reason: 'session_revoked' }, 'plain WebSocket: 4001 session_revoked')
  t.equal(reason, 'io server disconnect')
  t.same((onListening.inbox.messages.find(isError('session_revoked')) as Typed<'error'>).data, {
    code: 'session_revoked',
    message: 'Your session has ended (signed out, or the password was changed); sign in again',
  })
  t.ok(elapsed < 1000, `both closed ${elapsed} ms after the revocation was committed`)
  await stillOpen(otherSession, 'another session of the same user')
  await stillOpen(otherUser, 'another user')
  const { values } = await listening.realtime.metrics.sessionRevoked.get()
  t.equal(values.find((value) => value.labels.trigger === 'event')?.value, 1, 'counted on the instance without the worker too')
})

t.test("a notice for every session of a user (password change) closes all that user's session connections", async (t) => {
  const [one, two] = [await world.startSession(fixture.adminA), await world.startSession(fixture.adminA)]
  const first = await watching(t, SocketIoClient.connect(applying.url, schoolA, world.token(fixture.adminA, { sessionId: one })))
  const second = await watching(t, PlainClient.connect(listening.url, schoolA, world.token(fixture.adminA, { sessionId: two })))
  const owner = await watching(t, PlainClient.connect(listening.url, schoolA, world.token(fixture.ownerA)))
  await world.prisma.session.updateMany({ where: { userId: fixture.adminA.id, revokedAt: null }, data: { revokedAt: new Date(), revokedReason: 'password_changed' } })
  await revocations.add('password_changed', { scope: { userId: fixture.adminA.id }, reason: 'password_changed' })
  const [reason, closed] = await Promise.all([first.disconnected(), second.closed()])
  t.equal(reason, 'io server disconnect')
  t.same(closed, { code: 4001, reason: 'session_revoked' })
  await stillOpen(owner, 'the owner')
})

t.test('a renewal after the session ended closes the connection; the recheck closes one whose session was revoked without notice', async (t) => {
  const sessionId = await world.startSession(fixture.ownerB)
  const client = await watching(t, PlainClient.connect(listening.url, fixture.schoolB.id, world.token(fixture.ownerB, { sessionId })))
  await world.prisma.session.update({ where: { id: sessionId }, data: { revokedAt: new Date(), revokedReason: 'logout' } })
  client.refresh(world.token(fixture.ownerB, { sessionId }))
  t.same(await client.closed(), { code: 4001, reason: 'session_revoked' }, 'the renewal asked the database')

  const quiet = await world.startSession(fixture.ownerB)
  const unnoticed = await watching(t, SocketIoClient.connect(applying.url, fixture.schoolB.id, world.token(fixture.ownerB, { sessionId: quiet })))
  await world.prisma.session.update({ where: { id: quiet }, data: { revokedAt: new Date(), revokedReason: 'logout' } })
  const gone = unnoticed.disconnected()
  await applying.realtime.access.checkNow()
  t.equal(await gone, 'io server disconnect', 'the safety net: one statement over every watched connection')
  t.ok(unnoticed.inbox.messages.some(isError('session_revoked')))
})
