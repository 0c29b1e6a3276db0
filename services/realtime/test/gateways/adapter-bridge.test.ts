import t from 'tap'
import { once } from 'node:events'
import { Redis } from 'ioredis'
import { adapterChannelPrefix, dashboardRoom } from '@school/events'
import { TEST_REDIS_URL } from '@school/test-support'
import { PlainClient, SocketIoClient, type DashboardClient } from '@school/test-support/clients'
import { createWorld } from '../helper.js'

const world = await createWorld(t, 'rt_bridge')
const { fixture } = world
// Two instances sharing the Redis prefix, as behind a load balancer; only the first runs the worker.
const one = await world.startInstance({ worker: true })
const two = await world.startInstance({ worker: false })
const track = async <C extends DashboardClient>(opening: Promise<C>): Promise<C> => {
  const client = await opening
  world.defer(() => client.close())
  await client.inbox.next('connection_established')
  await client.inbox.next('the metrics snapshot')
  return client
}

t.test('every client on every instance and transport receives each broadcast exactly once', async (t) => {
  const ownerA = world.token(fixture.ownerA)
  const clients: DashboardClient[] = []
  for (const instance of [one, two]) {
    clients.push(
      await track(PlainClient.connect(instance.url, fixture.schoolA.id, ownerA)),
      await track(PlainClient.connect(instance.url, fixture.schoolA.id, world.token(fixture.adminA), 'query')),
      await track(SocketIoClient.connect(instance.url, fixture.schoolA.id, ownerA, 'websocket')),
      await track(SocketIoClient.connect(instance.url, fixture.schoolA.id, ownerA, 'polling')),
    )
  }
  const schoolB = [
    await track(PlainClient.connect(two.url, fixture.schoolB.id, world.token(fixture.ownerB))),
    await track(SocketIoClient.connect(one.url, fixture.schoolB.id, world.token(fixture.ownerB), 'polling')),
  ]

  const EVENTS = 5
  const produced = []
  for (let i = 1; i <= EVENTS; i++) produced.push(await world.inviteSomeone(fixture.schoolA.id, `invitee${i}@example.com`))
  const last = produced[produced.length - 1]!

  for (const client of clients) {
    await client.inbox.waitFor((m) => m.type === 'metrics_update' && m.seq === last.seq, `${client.kind}: the last metrics_update`)
  }
  const expected = produced.flatMap(({ eventId, seq }) =>
    ['invitation_status_update', 'activity_new'].map((type) => ({ type, eventId, seq })),
  )
  for (const [i, client] of clients.entries()) {
    const label = `client ${i} (${client.kind} on instance ${i < 4 ? 'one' : 'two'})`
    const broadcasts = client.inbox.broadcasts()
    const events = broadcasts.filter((m) => m.type !== 'metrics_update').map(({ type, eventId, seq }) => ({ type, eventId, seq }))
    t.same(events, expected, `${label}: ${EVENTS * 2} event messages, in order, once each`)
    // Metrics are coalesced: fewer than one per event is fine, but never a stale or repeated one.
    const metricsSeqs = broadcasts.filter((m) => m.type === 'metrics_update').map((m) => m.seq!)
    t.ok(metricsSeqs.every((seq, j) => j === 0 || seq > metricsSeqs[j - 1]!), `${label}: metrics seqs increase: ${metricsSeqs.join(',')}`)
    t.equal(metricsSeqs.at(-1), last.seq)
  }

  // School B's clients were connected all along. Its own event is published after school A's on the same
  // connection; Redis delivers in publish order, so it arriving first proves nothing of A's reached them.
  const b = await world.inviteSomeone(fixture.schoolB.id, 'b@example.com')
  for (const client of schoolB) {
    await client.inbox.waitFor((m) => m.type === 'metrics_update' && m.seq === b.seq, `${client.kind}: school B's event`)
    t.same(
      client.inbox.broadcasts().map(({ type, seq }) => ({ type, seq })),
      ['invitation_status_update', 'activity_new', 'metrics_update'].map((type) => ({ type, seq: b.seq })),
      `school B ${client.kind} client got only school B's messages`,
    )
  }
})

t.test("a school's connections are one member of its room, which leaves with the school's last connection", async (t) => {
  const adapter = two.realtime.io.of('/').adapter
  const schoolId = await schoolOfItsOwn('One member')
  const room = dashboardRoom(schoolId)
  const id = `school:${schoolId}`
  const first = await track(PlainClient.connect(two.url, schoolId, world.token(fixture.ownerB)))
  const second = await track(SocketIoClient.connect(two.url, schoolId, world.token(fixture.ownerB)))
  for (const client of [first, second]) await client.inbox.waitFor((m) => m.type === 'metrics_update', `${client.kind}: the snapshot`)
  t.same([...(adapter.rooms.get(room) ?? [])], [id], 'one pseudo id in the room for both connections, whatever their transport')
  t.same(two.realtime.bridge.memberIds(adapter).filter((member) => member === id), [id], 'one bridge member')
  await first.close()
  t.ok(adapter.rooms.get(room)?.has(id), 'still a member while a connection of the school is open')

  const left = new Promise<void>((resolve) =>
    adapter.on('leave-room', (leftRoom: string, leftId: string) => {
      if (leftRoom === room && leftId === id) resolve()
    }),
  )
  await second.close()
  await left
  t.notOk(adapter.rooms.get(room)?.has(id), 'no longer in the room')
  t.notOk(adapter.sids.has(id), 'no longer known to the adapter')
  t.notOk(two.realtime.bridge.memberIds(adapter).includes(id), 'no longer a bridge member')
})

/** A school with its own owner, so a test can watch a room no other test has touched. */
async function schoolOfItsOwn(name: string, id?: number) {
  const school = await world.prisma.school.create({ data: { name, ...(id !== undefined ? { id } : {}) } })
  await world.prisma.membership.create({ data: { userId: fixture.ownerB.id, schoolId: school.id, role: 'school_owner' } })
  return school.id
}

t.test('an instance subscribes to a room channel only while it has members there', async (t) => {
  const schoolId = await schoolOfItsOwn('School C')
  const redis = new Redis(TEST_REDIS_URL)
  world.defer(() => redis.quit())
  const channel = `${adapterChannelPrefix(world.prefix)}#/#${dashboardRoom(schoolId)}#`
  const subscribers = async () => ((await redis.call('PUBSUB', 'SHARDNUMSUB', channel)) as [string, number])[1]
  t.equal(await subscribers(), 0, 'nobody listens to a room without members')

  const client = await track(PlainClient.connect(two.url, schoolId, world.token(fixture.ownerB)))
  t.equal(await subscribers(), 1, 'subscribed by the time the snapshot is sent')
  const adapter = two.realtime.io.of('/').adapter
  const deleted = new Promise<void>((resolve) => adapter.on('delete-room', (room: string) => room === dashboardRoom(schoolId) && resolve()))
  await client.close()
  await deleted
  await two.redis.sub.ping()
  t.equal(await subscribers(), 0, 'unsubscribed after the last member left')
})

t.test('a room name of 20 characters, which the adapter takes for a socket id, still reaches both instances', async (t) => {
  // school_dashboard_{100..999} is 20 characters long: the sharded adapter then publishes on the
  // namespace channel instead of the room's own, which every instance receives. Still exactly once.
  const schoolId = await schoolOfItsOwn('School 555', 555)
  t.equal(dashboardRoom(schoolId).length, 20)
  const token = world.token(fixture.ownerB)
  const clients = [
    await track(PlainClient.connect(one.url, schoolId, token)),
    await track(PlainClient.connect(two.url, schoolId, token)),
    await track(SocketIoClient.connect(two.url, schoolId, token)),
  ]
  const { seq } = await world.inviteSomeone(schoolId, 'c@example.com')
  for (const client of clients) {
    await client.inbox.waitFor((m) => m.type === 'metrics_update' && m.seq === seq, `${client.kind}: the metrics_update`)
    t.same(client.inbox.broadcasts().map((m) => m.type), ['invitation_status_update', 'activity_new', 'metrics_update'], client.kind)
  }
})
