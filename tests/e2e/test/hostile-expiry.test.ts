// A token that expires while its dashboard connection is open, against the running services: the server
// ends the connection at `exp` (plain WebSocket close 4001, Socket.IO `error` token_expired and a server
// disconnect), the API refuses the same token from then on, and a fresh token reconnects and resumes.
import t from 'tap'
import type { AnyEnvelope } from '@school/events'
import { PlainClient, SocketIoClient, startSystem } from '@school/test-support/system'
import { assertStillHealthy } from './hostile-checks.js'

const system = await startSystem(t, 'e2e_hostile_expiry')
const { fixture } = system
const legitimate = { token: await system.login(fixture.adminA), schoolId: fixture.schoolA.id }
const owner = { sub: String(fixture.ownerA.id), email: fixture.ownerA.email }
/** A token of school A's owner that expires in about two seconds (exp is in whole seconds). */
const expiringSoon = () => system.signToken({ ...owner, exp: Math.floor(Date.now() / 1000) + 2 })

t.test('the plain WebSocket is closed with 4001 when the token expires; the API then refuses the token', async (t) => {
  const token = expiringSoon()
  const client = await PlainClient.connect(system.origin, fixture.schoolA.id, token)
  t.teardown(() => client.close())
  await client.inbox.waitFor((m) => m.type === 'metrics_update', 'the snapshot')
  const closed = await new Promise<{ code: number; reason: string }>((resolve) =>
    client.socket.once('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  )
  t.same(closed, { code: 4001, reason: 'token expired' })
  t.same(await system.request('GET', `/api/accounts/schools/${fixture.schoolA.id}/dashboard/`, { token }), {
    status: 401,
    body: { code: 'unauthorized', message: 'The access token has expired' },
  })
  await assertStillHealthy(t, system, legitimate)
})

t.test('Socket.IO gets error token_expired, then a server disconnect, which the client does not retry', async (t) => {
  const client = await SocketIoClient.connect(system.origin, fixture.schoolA.id, expiringSoon())
  t.teardown(() => client.close())
  await client.inbox.waitFor((m) => m.type === 'metrics_update', 'the snapshot')
  const reason = await new Promise<string>((resolve) => client.socket.once('disconnect', (why) => resolve(why)))
  t.equal(reason, 'io server disconnect')
  const error = client.inbox.messages.find((m) => m.type === 'error') as Extract<AnyEnvelope, { type: 'error' }> | undefined
  t.same(error?.data, { code: 'token_expired', message: 'The access token expired; sign in again and reconnect with since' })
  await assertStillHealthy(t, system, legitimate)
})

t.test('after expiry, a fresh token reconnects and resumes from the last seq seen, missing nothing', async (t) => {
  const first = await PlainClient.connect(system.origin, fixture.schoolA.id, expiringSoon())
  t.teardown(() => first.close())
  const snapshot = await first.inbox.waitFor((m) => m.type === 'metrics_update', 'the snapshot')
  await new Promise((resolve) => first.socket.once('close', resolve))
  // Something happens while the owner is signed out.
  const fresh = await system.login(fixture.ownerA)
  const { status } = await system.request('POST', `/api/accounts/schools/${fixture.schoolA.id}/students/`, { token: fresh, body: { name: 'Missed Meanwhile' } })
  t.equal(status, 201)
  const resumed = await PlainClient.connect(system.origin, fixture.schoolA.id, fresh, 'header', { since: snapshot.seq ?? 0 })
  t.teardown(() => resumed.close())
  const missed = await resumed.inbox.waitFor((m) => m.type === 'activity_new', 'the missed activity')
  t.equal((missed as Extract<AnyEnvelope, { type: 'activity_new' }>).data.summary, `${fixture.ownerA.name} registered student Missed Meanwhile`)
  t.equal(missed.seq, (snapshot.seq ?? 0) + 1, 'the next seq after the one seen')
  await assertStillHealthy(t, system, legitimate)
})
