// Guards on live connections: browser origins outside the allow-list are refused at the handshake, a
// connection ends when its token expires, and a flood of client messages is answered, not served.
import t from 'tap'
import { PlainClient, SocketIoClient } from '@school/test-support/clients'
import { createWorld } from '../helper.js'

const world = await createWorld(t, 'rt_guards', { PUBLIC_URL: 'https://school.test', CLIENT_MESSAGES_PER_SECOND: '5', ACCESS_RECHECK_MS: '100' })
const { fixture } = world
const instance = await world.startInstance({ worker: false })
const schoolA = fixture.schoolA.id

t.test('a browser origin outside the allow-list is refused on both transports; no Origin is not a browser', async (t) => {
  const token = world.token(fixture.ownerA)
  const refusal = await PlainClient.open(PlainClient.url(instance.url, schoolA, token), { Origin: 'https://evil.test' }).then(
    () => null,
    (error: { refusal?: unknown }) => error.refusal,
  )
  t.match(refusal, { status: 403, body: { code: 'origin_not_allowed' } })
  const error = await SocketIoClient.open(
    SocketIoClient.socket(instance.url, { auth: { token, schoolId: schoolA }, headers: { Origin: 'https://evil.test' } }),
  ).catch((e: Error & { data?: unknown }) => e)
  t.match(error, { message: 'origin_not_allowed', data: { status: 403, code: 'origin_not_allowed' } })

  for (const headers of [{ Origin: 'https://school.test' }, {}] as Array<Record<string, string>>) {
    const client = await PlainClient.open(PlainClient.url(instance.url, schoolA, token), headers)
    t.teardown(() => client.close())
    t.equal((await client.inbox.next()).type, 'connection_established', `accepted with ${JSON.stringify(headers)}`)
  }
})

t.test('the connection is closed when its access token expires', async (t) => {
  const token = world.token(fixture.ownerA, { ttlSeconds: 2 })
  const plain = await PlainClient.connect(instance.url, schoolA, token)
  const sio = await SocketIoClient.connect(instance.url, schoolA, token)
  t.teardown(() => Promise.all([plain.close(), sio.close()]))
  const [closed, reason] = await Promise.all([plain.closed(), sio.disconnected()])
  t.same(closed, { code: 4001, reason: 'token expired' })
  t.equal(reason, 'io server disconnect')
  t.match(sio.inbox.messages.find((m) => m.type === 'error'), { data: { code: 'token_expired' } })
})

t.test('a flood of pings is answered with rate_limited beyond the budget, and the connection stays usable', async (t) => {
  const client = await PlainClient.connect(instance.url, schoolA, world.token(fixture.ownerA))
  t.teardown(() => client.close())
  await client.inbox.waitFor((m) => m.type === 'metrics_update', 'the snapshot')
  for (let i = 0; i < 50; i++) client.ping(i)
  await client.inbox.waitFor((m) => m.type === 'error' && (m.data as { code: string }).code === 'rate_limited', 'a rate_limited error')
  const answered = () => client.inbox.messages.filter((m) => m.type === 'pong' || m.type === 'error').length
  while (answered() < 50) await client.inbox.waitFor(() => answered() >= 50, 'an answer to every ping')
  const pongs = client.inbox.messages.filter((m) => m.type === 'pong').length
  t.ok(pongs >= 5 && pongs <= 15, `${pongs} pongs within the 5 per second budget (the flood may span two windows)`)
  t.equal(client.socket.readyState, client.socket.OPEN, 'still open')
})

t.test('a user who stops being an admin is disconnected while connected; the others stay', async (t) => {
  const admin = await PlainClient.connect(instance.url, schoolA, world.token(fixture.adminA))
  const adminOverSocketIo = await SocketIoClient.connect(instance.url, schoolA, world.token(fixture.adminA))
  const owner = await PlainClient.connect(instance.url, schoolA, world.token(fixture.ownerA))
  t.teardown(() => Promise.all([admin.close(), adminOverSocketIo.close(), owner.close()]))
  for (const client of [admin, adminOverSocketIo, owner]) await client.inbox.waitFor((m) => m.type === 'metrics_update', 'the snapshot')
  const membership = { userId_schoolId: { userId: fixture.adminA.id, schoolId: schoolA } }
  await world.prisma.membership.update({ where: membership, data: { role: 'teacher' } })
  t.teardown(() => world.prisma.membership.update({ where: membership, data: { role: 'school_admin' } }))
  const [closed, reason] = await Promise.all([admin.closed(), adminOverSocketIo.disconnected()])
  t.same(closed, { code: 4003, reason: 'access revoked' })
  t.equal(reason, 'io server disconnect')
  t.match(adminOverSocketIo.inbox.messages.find((m) => m.type === 'error'), { data: { code: 'access_revoked' } })
  owner.ping('still here')
  await owner.inbox.waitFor((m) => m.type === 'pong' && m.data === 'still here', "the owner's connection is untouched")
})
