// Dashboard presence across two instances: every client gets its school's watchers on connect and on each
// change, never another school's; a graceful stop withdraws an instance's watchers, a dead one's are removed
// once its lease lapses (by one survivor, each corrected list published once), and an instance that stalled
// past its lease writes its watchers back when it wakes.
import { isDeepStrictEqual } from 'node:util'
import t from 'tap'
import { Redis } from 'ioredis'
import type { PresenceWatcher } from '@school/events'
import { TEST_REDIS_URL } from '@school/test-support'
import { presenceKeys } from '../../src/presence/presence-store.js'
import { PlainClient, SocketIoClient, type DashboardClient } from '@school/test-support/clients'
import { createWorld, type World } from '../helper.js'

const TTL_MS = 600
const HEARTBEAT_MS = 150
const world = await createWorld(t, 'rt_presence', { PRESENCE_TTL_MS: String(TTL_MS), PRESENCE_HEARTBEAT_MS: String(HEARTBEAT_MS) })
const { fixture } = world
const schoolA = fixture.schoolA.id
const schoolB = fixture.schoolB.id
const redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 2 })
world.defer(() => redis.quit())

const olivia = (connections: number): PresenceWatcher => ({ id: fixture.ownerA.id, name: 'Olivia Owner', role: 'school_owner', connections })
const adam = (connections: number): PresenceWatcher => ({ id: fixture.adminA.id, name: 'Adam Admin', role: 'school_admin', connections })
const ownerB = (connections: number): PresenceWatcher => ({ id: fixture.ownerB.id, name: fixture.ownerB.name, role: 'school_owner', connections })

async function open<C extends DashboardClient>(w: World, connecting: Promise<C>): Promise<C> {
  const client = await connecting
  w.defer(() => client.close())
  await client.inbox.waitFor((m) => m.type === 'metrics_update', 'the snapshot')
  return client
}

/** Resolves with the index of the first presence_update at or after `from` listing exactly `watchers`. */
async function presence(client: DashboardClient, schoolId: number, watchers: PresenceWatcher[], from = 0): Promise<number> {
  const { presence: received } = client.inbox
  const match = await client.inbox.waitFor(
    (m) => m.type === 'presence_update' && received.indexOf(m) >= from && m.data.schoolId === schoolId && isDeepStrictEqual(m.data.watchers, watchers),
    `${client.kind}: presence ${JSON.stringify(watchers.map((w) => [w.name, w.connections]))}`,
  )
  return received.indexOf(match as (typeof received)[number])
}

/** Fields of a school's presence hash that belong to an instance. */
async function entriesOf(schoolId: number, instanceId: string, prefix = world.prefix): Promise<string[]> {
  return (await redis.hkeys(presenceKeys(prefix).school(schoolId))).filter((field) => field.startsWith(`${instanceId}|`))
}

t.test('each client gets the watchers of its school on connect and on each change, across instances', async (t) => {
  const one = await world.startInstance({ worker: false })
  const two = await world.startInstance({ worker: false })

  const a1 = await open(world, PlainClient.connect(one.url, schoolA, world.token(fixture.ownerA)))
  t.equal(await presence(a1, schoolA, [olivia(1)]), 0, 'the first client sees itself at once')

  const b1 = await open(world, SocketIoClient.connect(two.url, schoolB, world.token(fixture.ownerB)))
  await presence(b1, schoolB, [ownerB(1)])

  const a2 = await open(world, SocketIoClient.connect(two.url, schoolA, world.token(fixture.adminA)))
  const both = [adam(1), olivia(1)]
  t.equal(await presence(a2, schoolA, both), 0, 'a client on the other instance: its first presence lists both')
  let seen1 = await presence(a1, schoolA, both)

  const a3 = await open(world, PlainClient.connect(two.url, schoolA, world.token(fixture.ownerA)))
  const twice = [adam(1), olivia(2)]
  t.equal(await presence(a3, schoolA, twice), 0, 'a second connection of a user counts as one more connection')
  seen1 = await presence(a1, schoolA, twice, seen1 + 1)
  let seen2 = await presence(a2, schoolA, twice)

  await a3.close()
  seen1 = await presence(a1, schoolA, both, seen1 + 1)
  seen2 = await presence(a2, schoolA, both, seen2 + 1)

  await a2.close()
  await presence(a1, schoolA, [olivia(1)], seen1 + 1)

  for (const client of [a1, a2, a3]) {
    t.same(client.inbox.presence.filter((m) => m.data.schoolId !== schoolA), [], `${client.kind}: nothing of school B`)
    const versions = client.inbox.presence.map((m) => m.data.version)
    t.ok(
      versions.every((version, index) => index === 0 || version > versions[index - 1]!),
      `${client.kind}: versions only go up, each list sent once (${versions.join(', ')})`,
    )
  }
  t.same(
    b1.inbox.presence.map((m) => ({ schoolId: m.data.schoolId, watchers: m.data.watchers })),
    [{ schoolId: schoolB, watchers: [ownerB(1)] }],
    'school B saw only its own watcher, once',
  )
  await a1.close()
  await b1.close()
  // Instances left running would take part in the next tests' claims.
  await Promise.all([one.stop(), two.stop()])
})

t.test('a stopped instance withdraws its watchers at once, with its lease and index', async (t) => {
  const survivor = await world.startInstance({ worker: false })
  const leaving = await world.startInstance({ worker: false })
  const watcher = await open(world, PlainClient.connect(survivor.url, schoolA, world.token(fixture.ownerA)))
  await open(world, SocketIoClient.connect(leaving.url, schoolA, world.token(fixture.adminA)))
  const seen = await presence(watcher, schoolA, [adam(1), olivia(1)])
  const leavingId = leaving.realtime.presence.instanceId
  t.same(await redis.smembers(presenceKeys(world.prefix).index(leavingId)), [String(schoolA)], 'its index names the school it has watchers in')

  const started = Date.now()
  await leaving.stop()
  await presence(watcher, schoolA, [olivia(1)], seen + 1)
  t.ok(Date.now() - started < TTL_MS, `withdrawn in ${Date.now() - started} ms, before its lease could lapse`)
  t.same(await entriesOf(schoolA, leavingId), [], 'none of its entries is left')
  t.equal(await redis.zscore(presenceKeys(world.prefix).leases, leavingId), null, 'nor its lease')
  t.equal(await redis.exists(presenceKeys(world.prefix).index(leavingId)), 0, 'nor its index')
  await watcher.close()
  await survivor.stop()
})

t.test("a dead instance's watchers are removed by one survivor once its lease lapses, each school told once", async (t) => {
  const survivor = await world.startInstance({ worker: false })
  const other = await world.startInstance({ worker: false })
  const dying = await world.startInstance({ worker: false })
  const watcher = await open(world, SocketIoClient.connect(survivor.url, schoolA, world.token(fixture.ownerA)))
  await open(world, PlainClient.connect(dying.url, schoolA, world.token(fixture.adminA)))
  await open(world, PlainClient.connect(dying.url, schoolB, world.token(fixture.ownerB)))
  const seen = await presence(watcher, schoolA, [adam(1), olivia(1)])
  const claimsBefore = (await claims(survivor)) + (await claims(other))

  // No more renewals, no cleanup: as far as Redis can tell, the process is gone (its clients even stay open).
  const died = Date.now()
  const deadId = dying.realtime.presence.instanceId
  dying.realtime.halt()
  await presence(watcher, schoolA, [olivia(1)], seen + 1)
  const elapsed = Date.now() - died
  t.comment(`the dead instance's watcher disappeared after ${elapsed} ms`)
  t.ok(elapsed < TTL_MS + HEARTBEAT_MS + 500, `within PRESENCE_TTL_MS + PRESENCE_HEARTBEAT_MS (${elapsed} ms)`)

  // The claim removed everything of the dead instance in one step, before the list was published.
  t.same(await entriesOf(schoolA, deadId), [], 'no entry of it is left in school A')
  t.same(await entriesOf(schoolB, deadId), [], 'nor in school B, which only it had watchers of')
  t.equal(await redis.exists(presenceKeys(world.prefix).index(deadId)), 0, 'its index is gone')
  t.equal(await redis.zscore(presenceKeys(world.prefix).leases, deadId), null, 'its lease is gone')
  t.equal((await claims(survivor)) + (await claims(other)) - claimsBefore, 1, 'claimed by exactly one of the two survivors')
  t.equal(watcher.inbox.presence.length - (seen + 1), 1, 'the corrected list was published once')

  // School B had watchers only on the dead instance: a new watcher of it does not see the ghost.
  const late = await open(world, PlainClient.connect(survivor.url, schoolB, world.token(fixture.ownerB)))
  t.equal(await presence(late, schoolB, [ownerB(1)]), 0, 'a new watcher of school B does not see the ghost')
  await watcher.close()
  await late.close()
})

t.test('an instance whose lease lapsed while it stalled writes its watchers back when it renews', async (t) => {
  // Renewals far apart, so that the test decides when each instance renews.
  const slow = await createWorld(t, 'rt_presence_stall', { PRESENCE_TTL_MS: '60000', PRESENCE_HEARTBEAT_MS: '60000' })
  const { schoolA, ownerA, adminA } = slow.fixture
  const olivia = { id: ownerA.id, name: 'Olivia Owner', role: 'school_owner' as const, connections: 1 }
  const adam = { id: adminA.id, name: 'Adam Admin', role: 'school_admin' as const, connections: 1 }
  const survivor = await slow.startInstance({ worker: false })
  const stalled = await slow.startInstance({ worker: false })
  await Promise.all([survivor.realtime.lease.renewNow(), stalled.realtime.lease.renewNow()])
  const watcher = await open(slow, PlainClient.connect(survivor.url, schoolA.id, slow.token(ownerA)))
  await open(slow, PlainClient.connect(stalled.url, schoolA.id, slow.token(adminA)))
  let seen = await presence(watcher, schoolA.id, [adam, olivia])

  // The stalled instance's lease lapses (as if its renewals had stopped for a minute); the survivor claims it.
  const stalledId = stalled.realtime.presence.instanceId
  await redis.zadd(presenceKeys(slow.prefix).leases, Date.now() - 1000, stalledId)
  await survivor.realtime.lease.renewNow()
  seen = await presence(watcher, schoolA.id, [olivia], seen + 1)
  t.same(await entriesOf(schoolA.id, stalledId, slow.prefix), [], 'the survivor removed its entries')

  // It wakes: its renewal finds its lease gone, so it writes its entries again and republishes.
  await stalled.realtime.lease.renewNow()
  await presence(watcher, schoolA.id, [adam, olivia], seen + 1)
  t.equal((await entriesOf(schoolA.id, stalledId, slow.prefix)).length, 1, 'its entry is back')
  t.same(await redis.smembers(presenceKeys(slow.prefix).index(stalledId)), [String(schoolA.id)], 'and its index')
  t.ok(Number(await redis.zscore(presenceKeys(slow.prefix).leases, stalledId)) > Date.now(), 'and its lease')
})

async function claims(instance: { realtime: { metrics: { presenceClaims: { get(): Promise<{ values: Array<{ value: number }> }> } } } }): Promise<number> {
  return (await instance.realtime.metrics.presenceClaims.get()).values[0]?.value ?? 0
}
