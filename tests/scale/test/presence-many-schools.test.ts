// Presence in the product's real shape, with the default timings: 1,000 schools, each with one admin's
// dashboard on each of two realtime processes. After SIGKILL of one, every school's list on the survivor is
// right within the default bound (5 s), each corrected list is published once, and nothing of the dead
// instance is left in Redis.
import { isDeepStrictEqual } from 'node:util'
import t from 'tap'
import { Redis } from 'ioredis'
import type { PresenceWatcher } from '@school/events'
import { seedManySchools, TEST_REDIS_URL, type SeededAdmin } from '@school/test-support'
import { PlainClient } from '@school/test-support/system'
import { startScaledSystem } from './scaled-system.js'
import { signAccessToken } from './access-tokens.js'

const SCHOOLS = 1_000
/** The documented default bound for a killed instance's watchers (PRESENCE_TTL_MS + PRESENCE_HEARTBEAT_MS, 3 s + 1 s), with room to publish. */
const GHOST_BOUND_MS = 5_000
const OPENING_AT_ONCE = 50

const system = await startScaledSystem(t, {
  label: 'scale_presence_many',
  apis: 1,
  realtimes: 2,
  loadBalancer: false,
  // Every dashboard comes from 127.0.0.1: the per-address limits are not what this test is about.
  env: { MAX_CONNECTIONS_PER_IP: '100000', HANDSHAKES_PER_IP_PER_MINUTE: '1000000' },
})
const [survivor, dying] = system.realtimes as [(typeof system.realtimes)[0], (typeof system.realtimes)[0]]
const redis = new Redis(TEST_REDIS_URL)
t.teardown(() => redis.quit())

const watcher = (admin: SeededAdmin): PresenceWatcher => ({ id: admin.id, name: admin.name, role: admin.role, connections: 1 })
const sortedWatchers = (admins: SeededAdmin[]) => admins.map(watcher).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.id - b.id))

/** The instance id a realtime process logged when it started. */
function instanceIdOf(service: { logs: string[] }): string {
  for (const line of service.logs) {
    if (!line.includes('realtime listening')) continue
    const { instanceId } = JSON.parse(line) as { instanceId?: string }
    if (instanceId) return instanceId
  }
  throw new Error('no instance id in the realtime logs')
}

/** The value of a counter on a realtime process's /metrics, in the series whose labels include `label`. */
async function counter(url: string, name: string, label = ''): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text()
  const line = text.split('\n').find((entry) => (entry.startsWith(`${name}{`) || entry.startsWith(`${name} `)) && entry.includes(label))
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0
}

t.test('after SIGKILL of one of two instances, 1,000 schools have the right watchers within 5 s, each told once', async (t) => {
  const schools = await seedManySchools(system.prisma, { schools: SCHOOLS, adminsPerSchool: 2 })
  const pairs: Array<{ school: (typeof schools)[number]; client: PlainClient }> = []
  t.teardown(() => Promise.all(pairs.map(({ client }) => client.close())))
  const open = async (url: string, schoolId: number, admin: SeededAdmin) => {
    const client = await PlainClient.connect(url, schoolId, signAccessToken(admin.id))
    await client.inbox.waitFor((m) => m.type === 'metrics_update', `the snapshot of school ${schoolId}`)
    return client
  }
  const dyingClients: PlainClient[] = []
  t.teardown(() => Promise.all(dyingClients.map((client) => client.close())))
  for (let start = 0; start < schools.length; start += OPENING_AT_ONCE) {
    await Promise.all(
      schools.slice(start, start + OPENING_AT_ONCE).map(async (school) => {
        const [owner, admin] = school.admins as [SeededAdmin, SeededAdmin]
        pairs.push({ school, client: await open(survivor.url, school.id, owner) })
        dyingClients.push(await open(dying.url, school.id, admin))
      }),
    )
  }
  const listing = (client: PlainClient, admins: SeededAdmin[], from: number, description: string) =>
    client.inbox.waitFor(
      (m) => m.type === 'presence_update' && client.inbox.presence.indexOf(m) >= from && isDeepStrictEqual(m.data.watchers, sortedWatchers(admins)),
      description,
    )
  await Promise.all(pairs.map(({ school, client }) => listing(client, school.admins, 0, `both watchers of school ${school.id}`)))
  t.pass(`${SCHOOLS} schools each show their two watchers, one on each instance`)

  const deadId = instanceIdOf(dying)
  const seenBefore = pairs.map(({ client }) => client.inbox.presence.length)
  const publishedBefore = await counter(survivor.url, 'dashboard_broadcasts_total', 'type="presence_update"')
  const killedAt = Date.now()
  await dying.stop('SIGKILL')
  let last = 0
  await Promise.all(
    pairs.map(async ({ school, client }, index) => {
      await listing(client, school.admins.slice(0, 1), seenBefore[index]!, `school ${school.id} without the dead instance's watcher`)
      last = Math.max(last, Date.now() - killedAt)
    }),
  )
  t.comment(`the last of ${SCHOOLS} schools lost the dead instance's watcher ${last} ms after the kill`)
  t.ok(last < GHOST_BOUND_MS, `every school within ${GHOST_BOUND_MS} ms (${last} ms)`)

  // The claim removed the dead instance's lease, index and entries in one step before the lists went out.
  t.equal(await redis.zscore(`${system.redisPrefix}:instances:leases`, deadId), null, 'its lease is gone')
  t.equal(await redis.exists(`${system.redisPrefix}:presence:instance:${deadId}:schools`), 0, 'its index is gone')
  let left = 0
  for (let start = 0; start < schools.length; start += 200) {
    const batch = redis.pipeline()
    for (const school of schools.slice(start, start + 200)) batch.hkeys(`${system.redisPrefix}:presence:school:${school.id}`)
    for (const [, fields] of (await batch.exec()) ?? []) left += (fields as string[]).filter((field) => field.startsWith(`${deadId}|`)).length
  }
  t.equal(left, 0, "no dead instance's watcher is left in any school's presence")

  t.equal(await counter(survivor.url, 'presence_instances_claimed_total'), 1, 'the survivor claimed the dead instance once')
  t.equal(
    (await counter(survivor.url, 'dashboard_broadcasts_total', 'type="presence_update"')) - publishedBefore,
    SCHOOLS,
    'one corrected list published per school',
  )
  const received = pairs.map(({ client }, index) => client.inbox.presence.length - seenBefore[index]!)
  t.same(new Set(received), new Set([1]), 'and each school’s dashboard received exactly one')
})
