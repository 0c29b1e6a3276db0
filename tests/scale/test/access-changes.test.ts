// Access changes through the API reach every realtime process: removing an admin or demoting one closes
// that user's dashboards of the school on both instances within a second, and no other connection; the
// change shows in the feed and the counters. A role changed straight in the database (outside the API) is
// caught by the periodic recheck instead, within its interval.
import t, { type Test } from 'tap'
import { PlainClient, SocketIoClient, stillOpen, watching, type DashboardClient } from '@school/test-support/system'
import { signAccessToken } from './access-tokens.js'
import { startScaledSystem } from './scaled-system.js'

const RECHECK_MS = 1_000
const system = await startScaledSystem(t, {
  label: 'scale_access',
  apis: 1,
  realtimes: 2,
  loadBalancer: false,
  env: { ACCESS_RECHECK_MS: String(RECHECK_MS) },
})
const { fixture } = system
const schoolA = fixture.schoolA.id
const [one, two] = system.realtimes as [(typeof system.realtimes)[0], (typeof system.realtimes)[0]]
const ownerToken = await system.login(fixture.ownerA)
const members = `/api/accounts/schools/${schoolA}/members`

t.test("DELETE of an admin closes their dashboards on both instances within a second, and nobody else's", async (t) => {
  const adminToken = await system.login(fixture.adminA)
  const adminOnOne = await watching(t, PlainClient.connect(one.url, schoolA, adminToken))
  const adminOnTwo = await watching(t, SocketIoClient.connect(two.url, schoolA, adminToken))
  const ownerOnOne = await watching(t, PlainClient.connect(one.url, schoolA, ownerToken))
  const ownerOnTwo = await watching(t, SocketIoClient.connect(two.url, schoolA, ownerToken))

  const started = Date.now()
  const { status } = await system.request('DELETE', `${members}/${fixture.adminA.id}/`, { token: ownerToken })
  t.equal(status, 204)
  const [plainClose, socketIoReason] = await Promise.all([adminOnOne.closed(), adminOnTwo.disconnected()])
  const elapsed = Date.now() - started
  t.same(plainClose, { code: 4003, reason: 'access revoked' })
  t.equal(socketIoReason, 'io server disconnect')
  t.ok(elapsed < 1_000, `both closed ${elapsed} ms after the request started`)

  for (const owner of [ownerOnOne, ownerOnTwo]) {
    const feed = await owner.inbox.waitFor((m) => m.type === 'activity_new' && m.data.type === 'member.removed', `${owner.kind}: the removal in the feed`)
    t.match(feed.data, { summary: 'Olivia Owner removed Adam Admin (admin)' })
    const metrics = await owner.inbox.waitFor((m) => m.type === 'metrics_update' && m.seq === feed.seq, `${owner.kind}: the counters after it`)
    t.match(metrics.data, { admins: 1 })
  }
  await stillOpen([ownerOnOne, ownerOnTwo], 'after the removal')
})

t.test('PATCH demoting an admin closes their dashboards; promoting one opens the way', async (t) => {
  const { status: promoted } = await system.request('PATCH', `${members}/${fixture.teacherA.id}/`, { token: ownerToken, body: { role: 'school_admin' } })
  t.equal(promoted, 200, 'the teacher is made an admin')
  const token = await system.login(fixture.teacherA)
  const onOne = await watching(t, SocketIoClient.connect(one.url, schoolA, token))
  const onTwo = await watching(t, PlainClient.connect(two.url, schoolA, token))
  const owner = await watching(t, PlainClient.connect(two.url, schoolA, ownerToken))

  const started = Date.now()
  const { status } = await system.request('PATCH', `${members}/${fixture.teacherA.id}/`, { token: ownerToken, body: { role: 'teacher' } })
  t.equal(status, 200)
  const [reason, close] = await Promise.all([onOne.disconnected(), onTwo.closed()])
  t.equal(reason, 'io server disconnect')
  t.same(close, { code: 4003, reason: 'access revoked' })
  t.ok(Date.now() - started < 1_000, `both closed within a second (${Date.now() - started} ms)`)
  await stillOpen([owner], 'after the demotion')
})

t.test('a role taken away in the database, outside the API, closes the connection within the recheck interval', async (t) => {
  const user = await system.prisma.user.create({ data: { name: 'Db Admin' } })
  await system.prisma.membership.create({ data: { userId: user.id, schoolId: schoolA, role: 'school_admin' } })
  const client = await watching(t, PlainClient.connect(two.url, schoolA, signAccessToken(user.id)))
  const started = Date.now()
  await system.prisma.membership.update({ where: { userId_schoolId: { userId: user.id, schoolId: schoolA } }, data: { role: 'student' } })
  t.same(await client.closed(), { code: 4003, reason: 'access revoked' })
  t.ok(Date.now() - started < RECHECK_MS + 1_000, `closed within ACCESS_RECHECK_MS (${Date.now() - started} ms)`)
})
