// Access changes are events: when the worker applies a member's removal or demotion, that user's
// connections to that school close (4003) on every instance, the one without a worker too, within a
// second, and nobody else's; the database decides, so an event whose change was undone keeps the connection.
// The periodic recheck, far off here (60 s), plays no part.
import t from 'tap'
import { PlainClient, SocketIoClient } from '@school/test-support/clients'
import { createWorld } from '../helper.js'

const world = await createWorld(t, 'rt_access_events', { ACCESS_RECHECK_MS: '60000' })
const { fixture } = world
const schoolA = fixture.schoolA.id
const applying = await world.startInstance()
const listening = await world.startInstance({ worker: false })

async function snapshot<C extends PlainClient | SocketIoClient>(connecting: Promise<C>): Promise<C> {
  const client = await connecting
  world.defer(() => client.close())
  await client.inbox.waitFor((m) => m.type === 'metrics_update', 'the snapshot')
  return client
}

t.test("removing an admin closes their connections to the school on every instance within a second, and no one else's", async (t) => {
  const membership = { userId_schoolId: { userId: fixture.adminA.id, schoolId: schoolA } }
  t.teardown(async () => {
    await world.prisma.membership.upsert({ where: membership, create: { userId: fixture.adminA.id, schoolId: schoolA, role: 'school_admin' }, update: {} })
  })
  const adminHere = await snapshot(PlainClient.connect(applying.url, schoolA, world.token(fixture.adminA)))
  const adminThere = await snapshot(SocketIoClient.connect(listening.url, schoolA, world.token(fixture.adminA)))
  const owner = await snapshot(PlainClient.connect(listening.url, schoolA, world.token(fixture.ownerA)))
  const otherSchool = await snapshot(PlainClient.connect(listening.url, fixture.schoolB.id, world.token(fixture.ownerB)))

  const started = Date.now()
  const removal = await world.produceEvent(
    schoolA,
    'member.removed',
    async (tx) => {
      await tx.membership.delete({ where: membership })
      return { userId: fixture.adminA.id, name: fixture.adminA.name, role: 'school_admin' as const }
    },
    { actorId: fixture.ownerA.id },
  )
  const [closed, reason] = await Promise.all([adminHere.closed(), adminThere.disconnected()])
  const elapsed = Date.now() - started
  t.same(closed, { code: 4003, reason: 'access revoked' }, 'plain WebSocket on the instance that applied the event: 4003')
  t.equal(reason, 'io server disconnect', 'Socket.IO on the other instance: disconnected by the server')
  t.match(adminThere.inbox.messages.find((m) => m.type === 'error'), { data: { code: 'access_revoked' } })
  t.ok(elapsed < 1000, `both closed ${elapsed} ms after the event was committed`)

  const feed = await owner.inbox.waitFor((m) => m.type === 'activity_new' && m.seq === removal.seq, 'the removal in the feed')
  t.match(feed.data, { type: 'member.removed', summary: 'Olivia Owner removed Adam Admin (admin)' })
  const metrics = await owner.inbox.waitFor((m) => m.type === 'metrics_update' && m.seq === removal.seq, 'the counters after it')
  t.match(metrics.data, { admins: 1 }, 'one admin fewer')
  for (const client of [owner, otherSchool]) {
    client.ping('still here')
    await client.inbox.waitFor((m) => m.type === 'pong' && m.data === 'still here', 'other connections untouched')
  }
  t.equal(await revoked(listening, 'event'), 1, 'the listening instance counts one revocation, by event')
})

t.test('a demotion closes the connection; an event whose change is no longer in the database does not', async (t) => {
  const membership = { userId_schoolId: { userId: fixture.adminA.id, schoolId: schoolA } }
  t.teardown(() => world.prisma.membership.update({ where: membership, data: { role: 'school_admin' } }))
  const admin = await snapshot(PlainClient.connect(listening.url, schoolA, world.token(fixture.adminA)))
  // An event saying the admin was removed, while the database (a later change) still has them as admin.
  const stale = await world.produceEvent(schoolA, 'member.removed', { userId: fixture.adminA.id, name: fixture.adminA.name, role: 'school_admin' })
  await admin.inbox.waitFor((m) => m.type === 'activity_new' && m.seq === stale.seq, 'the stale removal in the feed')
  admin.ping('kept')
  await admin.inbox.waitFor((m) => m.type === 'pong' && m.data === 'kept', 'the connection stays: the database still has the role')

  await world.produceEvent(schoolA, 'member.role_changed', async (tx) => {
    await tx.membership.update({ where: membership, data: { role: 'teacher' } })
    return { userId: fixture.adminA.id, name: fixture.adminA.name, role: 'teacher' as const, previousRole: 'school_admin' as const }
  })
  t.same(await admin.closed(), { code: 4003, reason: 'access revoked' }, 'demoted to teacher: closed')
})

async function revoked(instance: { realtime: { metrics: { accessRevoked: { get(): Promise<{ values: Array<{ value: number; labels: Record<string, unknown> }> }> } } } }, trigger: string): Promise<number> {
  const { values } = await instance.realtime.metrics.accessRevoked.get()
  return values.find((value) => value.labels.trigger === trigger)?.value ?? 0
}
