// Dashboard presence across two instances: every client gets its school's watchers on connect and on each
// change, never another school's; a graceful stop withdraws an instance's watchers, a dead one's expire.
import { isDeepStrictEqual } from 'node:util'
import t from 'tap'
import { Redis } from 'ioredis'
import type { PresenceWatcher } from '@school/events'
import { TEST_REDIS_URL } from '@school/test-support'
import { presenceInstanceKey, presenceSchoolKey } from '../../src/presence/presence-store.js'
import { PlainClient, SocketIoClient, type DashboardClient } from '../clients.js'
import { createWorld } from '../helper.js'

const TTL_MS = 600
const SWEEP_MS = 200
const world = await createWorld(t, 'rt_presence', {
  PRESENCE_TTL_MS: String(TTL_MS),
  PRESENCE_HEARTBEAT_MS: '150',
  PRESENCE_SWEEP_MS: String(SWEEP_MS),
})
const { fixture } = world
const schoolA = fixture.schoolA.id
const schoolB = fixture.schoolB.id
const redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 2 })
world.defer(() => redis.quit())

const olivia = (connections: number): PresenceWatcher => ({ id: fixture.ownerA.id, name: 'Olivia Owner', role: 'school_owner', connections })
const adam = (connections: number): PresenceWatcher => ({ id: fixture.adminA.id, name: 'Adam Admin', role: 'school_admin', connections })
const ownerB = (connections: number): PresenceWatcher => ({ id: fixture.ownerB.id, name: fixture.ownerB.name, role: 'school_owner', connections })

async function open<C extends DashboardClient>(connecting: Promise<C>): Promise<C> {
  const client = await connecting
  world.defer(() => client.close())
  await client.inbox.waitFor((m) => m.type === 'metrics_update', 'the snapshot')
  return client
}

/** Resolves with the index of the first presence_update at or after `from` listing exactly `watchers`. */
async function presence(client: DashboardClient, schoolId: number, watchers: PresenceWatcher[], from = 0): Promise<number> {
  const { presence: received } = client.inbox
  const match = await client.inbox.waitFor(
    (m) => m.type === 'presence_update' && received.indexOf(m) >= from && isDeepStrictEqual(m.data, { schoolId, watchers }),
    `${client.kind}: presence ${JSON.stringify(watchers.map((w) => [w.name, w.connections]))}`,
  )
  return received.indexOf(match as (typeof received)[number])
}

t.test('each client gets the watchers of its school on connect and on each change, across instances', async (t) => {
  const one = await world.startInstance({ worker: false })
  const two = await world.startInstance({ worker: false })

  const a1 = await open(PlainClient.connect(one.url, schoolA, world.token(fixture.ownerA)))
  t.equal(await presence(a1, schoolA, [olivia(1)]), 0, 'the first client sees itself at once')

  const b1 = await open(SocketIoClient.connect(two.url, schoolB, world.token(fixture.ownerB)))
  await presence(b1, schoolB, [ownerB(1)])

  const a2 = await open(SocketIoClient.connect(two.url, schoolA, world.token(fixture.adminA)))
  const both = [adam(1), olivia(1)]
  t.equal(await presence(a2, schoolA, both), 0, 'a client on the other instance: its first presence lists both')
  let seen1 = await presence(a1, schoolA, both)

  const a3 = await open(PlainClient.connect(two.url, schoolA, world.token(fixture.ownerA)))
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
  }
  t.same(b1.inbox.presence.map((m) => m.data), [{ schoolId: schoolB, watchers: [ownerB(1)] }], 'school B saw only its own watcher, once')
  await a1.close()
  await b1.close()
})

t.test('a stopped instance withdraws its watchers at once', async (t) => {
  const survivor = await world.startInstance({ worker: false })
  const leaving = await world.startInstance({ worker: false })
  const watcher = await open(PlainClient.connect(survivor.url, schoolA, world.token(fixture.ownerA)))
  await open(SocketIoClient.connect(leaving.url, schoolA, world.token(fixture.adminA)))
  const seen = await presence(watcher, schoolA, [adam(1), olivia(1)])

  const started = Date.now()
  await leaving.stop()
  await presence(watcher, schoolA, [olivia(1)], seen + 1)
  t.ok(Date.now() - started < TTL_MS, `withdrawn in ${Date.now() - started} ms, before its entries could expire`)
  const fields = await redis.hkeys(presenceSchoolKey(world.prefix, schoolA))
  t.same(fields.filter((field) => field.startsWith(`${leaving.realtime.presence.instanceId}|`)), [], 'none of its entries is left')
  t.equal(await redis.exists(presenceInstanceKey(world.prefix, leaving.realtime.presence.instanceId)), 0, 'nor its liveness key')
  await watcher.close()
})

t.test('the watchers of an instance that died disappear within PRESENCE_TTL_MS + PRESENCE_SWEEP_MS', async (t) => {
  const survivor = await world.startInstance({ worker: false })
  const dying = await world.startInstance({ worker: false })
  const watcher = await open(SocketIoClient.connect(survivor.url, schoolA, world.token(fixture.ownerA)))
  await open(PlainClient.connect(dying.url, schoolA, world.token(fixture.adminA)))
  await open(PlainClient.connect(dying.url, schoolB, world.token(fixture.ownerB)))
  const seen = await presence(watcher, schoolA, [adam(1), olivia(1)])

  // No more heartbeats, no cleanup: as far as Redis can tell, the process is gone (its clients even stay open).
  const died = Date.now()
  dying.realtime.presence.halt()
  await presence(watcher, schoolA, [olivia(1)], seen + 1)
  const elapsed = Date.now() - died
  t.comment(`the dead instance's watcher disappeared after ${elapsed} ms`)
  t.ok(elapsed < TTL_MS + SWEEP_MS + 1000, `within the bound (${elapsed} ms)`)

  // School B had watchers only on the dead instance: the next reader of it drops them too.
  const late = await open(PlainClient.connect(survivor.url, schoolB, world.token(fixture.ownerB)))
  t.equal(await presence(late, schoolB, [ownerB(1)]), 0, 'a new watcher of school B does not see the ghost')
  await watcher.close()
  await late.close()
})
