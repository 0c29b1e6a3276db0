// Sessions end everywhere at once: a sign-out closes the connections opened with that session's tokens on
// both realtime processes within a second (plain WebSocket 4001 session_revoked, Socket.IO error and a
// server disconnect), and no other session's; a password change does the same for every session of the
// user. The notice goes from the API through the connection-revocations queue to one realtime process,
// which re-checks its connections and tells the other.
import t, { type Test } from 'tap'
import { PlainClient, SocketIoClient, stillOpen, watching, type DashboardClient } from '@school/test-support/system'
import { startScaledSystem } from './scaled-system.js'

const system = await startScaledSystem(t, { label: 'scale_sessions', apis: 1, realtimes: 2, loadBalancer: false, env: { ACCESS_RECHECK_MS: '60000' } })
const { fixture } = system
const schoolA = fixture.schoolA.id
const [one, two] = system.realtimes as [(typeof system.realtimes)[0], (typeof system.realtimes)[0]]

async function signIn(user: { email: string; password: string }): Promise<{ token: string; refreshToken: string }> {
  const { status, body } = await system.request('POST', '/api/auth/login', { body: { email: user.email, password: user.password, refreshTokenInBody: true } })
  if (status !== 200) throw new Error(`sign-in failed: ${status}`)
  return { token: body.token, refreshToken: body.refreshToken }
}

const sessionRevoked = (client: SocketIoClient) => client.inbox.messages.find((m) => m.type === 'error' && m.data.code === 'session_revoked')

t.test("sign-out closes the session's dashboards on both instances within a second, and no other session's", async (t) => {
  const session = await signIn(fixture.ownerA)
  const otherSession = await signIn(fixture.ownerA)
  const onOne = await watching(t, PlainClient.connect(one.url, schoolA, session.token))
  const onTwo = await watching(t, SocketIoClient.connect(two.url, schoolA, session.token))
  const sameUserOtherSession = await watching(t, PlainClient.connect(two.url, schoolA, otherSession.token))

  const started = Date.now()
  const { status } = await system.request('POST', '/api/auth/logout', { body: { refreshToken: session.refreshToken } })
  t.equal(status, 204)
  const [closed, reason] = await Promise.all([onOne.closed(), onTwo.disconnected()])
  const elapsed = Date.now() - started
  t.same(closed, { code: 4001, reason: 'session_revoked' })
  t.equal(reason, 'io server disconnect')
  t.match(sessionRevoked(onTwo), { data: { code: 'session_revoked' } })
  t.ok(elapsed < 1_000, `both closed ${elapsed} ms after the sign-out started`)
  await stillOpen([sameUserOtherSession], 'another session')

  const refresh = await system.request('POST', '/api/auth/refresh', { body: { refreshToken: session.refreshToken } })
  t.same(refresh, { status: 401, body: { code: 'refresh_token_revoked', message: 'The session of this refresh token has ended; sign in again' } })
  const reconnect = await PlainClient.connect(one.url, schoolA, session.token).then(
    (client) => client.close().then(() => null),
    (error: { refusal?: unknown }) => error.refusal,
  )
  t.same(reconnect, { status: 401, body: { code: 'unauthorized', message: 'The session of this access token has ended; sign in again' } }, 'its access token opens nothing any more')
})

t.test("a password change closes every session's dashboards on both instances within a second", async (t) => {
  const [first, second] = [await signIn(fixture.adminA), await signIn(fixture.adminA)]
  const owner = await signIn(fixture.ownerA)
  const clients = [
    await watching(t, SocketIoClient.connect(one.url, schoolA, first.token)),
    await watching(t, PlainClient.connect(two.url, schoolA, first.token)),
    await watching(t, PlainClient.connect(one.url, schoolA, second.token)),
  ] as const
  const ownerClient = await watching(t, SocketIoClient.connect(two.url, schoolA, owner.token))

  const started = Date.now()
  const { status } = await system.request('POST', '/api/auth/password', {
    token: second.token,
    body: { currentPassword: fixture.adminA.password, newPassword: 'a-completely-new-password' },
  })
  t.equal(status, 204)
  const [reason, closedTwo, closedOne] = await Promise.all([clients[0].disconnected(), clients[1].closed(), clients[2].closed()])
  const elapsed = Date.now() - started
  t.equal(reason, 'io server disconnect')
  t.same([closedTwo, closedOne], [{ code: 4001, reason: 'session_revoked' }, { code: 4001, reason: 'session_revoked' }])
  t.ok(elapsed < 1_000, `all closed ${elapsed} ms after the change started (the password hash takes part of it)`)
  await stillOpen([ownerClient], "another user's")
  for (const session of [first, second]) {
    const refresh = await system.request('POST', '/api/auth/refresh', { body: { refreshToken: session.refreshToken } })
    t.equal(refresh.body.code, 'refresh_token_revoked')
  }
})
