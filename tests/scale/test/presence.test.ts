// Presence behind haproxy with three realtime processes: admins of one school on different instances see
// each other, and after SIGKILL of one instance its watchers vanish within PRESENCE_TTL_MS + PRESENCE_HEARTBEAT_MS.
import { isDeepStrictEqual } from 'node:util'
import t from 'tap'
import type { PresenceWatcher } from '@school/events'
import { SocketIoClient } from '@school/test-support/system'
import { openedConnections, startScaledSystem, waitUntil } from './scaled-system.js'

const TTL_MS = 1000
const HEARTBEAT_MS = 300
const system = await startScaledSystem(t, {
  label: 'scale_presence',
  apis: 1,
  realtimes: 3,
  loadBalancer: true,
  env: { PRESENCE_TTL_MS: String(TTL_MS), PRESENCE_HEARTBEAT_MS: String(HEARTBEAT_MS) },
})
const { fixture } = system
const schoolId = fixture.schoolA.id
const ownerToken = await system.login(fixture.ownerA)
const adminToken = await system.login(fixture.adminA)

const olivia = (connections: number): PresenceWatcher => ({ id: fixture.ownerA.id, name: fixture.ownerA.name, role: 'school_owner', connections })
const adam = (connections: number): PresenceWatcher => ({ id: fixture.adminA.id, name: fixture.adminA.name, role: 'school_admin', connections })

const clients: SocketIoClient[] = []
t.teardown(() => Promise.all(clients.map((client) => client.close())))

/** Connects through the balancer (one at a time, so round robin decides) and returns the instance it landed on. */
async function connect(token: string): Promise<{ client: SocketIoClient; instance: number }> {
  const client = await SocketIoClient.connect(system.origin, schoolId, token, 'websocket')
  clients.push(client)
  await client.inbox.waitFor((m) => m.type === 'metrics_update', 'the snapshot')
  const id = client.socket.id
  let instance = -1
  await waitUntil(() => {
    instance = system.realtimes.findIndex((service) => openedConnections(service).some((c) => c.connectionId === id))
    return instance !== -1
  }, `the instance of ${id}`)
  return { client, instance }
}

function presence(client: SocketIoClient, watchers: PresenceWatcher[], ms?: number) {
  return client.inbox.waitFor(
    (m) => m.type === 'presence_update' && m.data.schoolId === schoolId && isDeepStrictEqual(m.data.watchers, watchers),
    `presence ${JSON.stringify(watchers.map((w) => [w.name, w.connections]))}`,
    ms,
  )
}

t.test('admins on different instances see each other; a killed instance loses its watchers in time', async (t) => {
  const owner1 = await connect(ownerToken)
  const admin = await connect(adminToken)
  const owner2 = await connect(ownerToken)
  t.same(new Set([owner1.instance, admin.instance, owner2.instance]).size, 3, 'one client on each realtime instance')

  const everyone = [adam(1), olivia(2)]
  for (const { client } of [owner1, admin, owner2]) await presence(client, everyone)
  t.pass('each of the three clients sees all three connections')

  const killedAt = Date.now()
  await system.realtimes[admin.instance]!.stop('SIGKILL')
  const survivors = [owner1, owner2]
  await Promise.all(survivors.map(({ client }) => presence(client, [olivia(2)], TTL_MS + HEARTBEAT_MS + 5000)))
  const elapsed = Date.now() - killedAt
  t.comment(`the killed instance's watcher disappeared from the survivors' dashboards after ${elapsed} ms`)
  t.ok(elapsed < TTL_MS + HEARTBEAT_MS + 1000, `within PRESENCE_TTL_MS + PRESENCE_HEARTBEAT_MS + 1 s (${elapsed} ms)`)
})
