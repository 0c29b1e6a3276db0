// What scaling out costs in Redis: an instance subscribes only to the schools it has clients of, and the
// commands sent per event with one realtime instance against three (all of the school's clients on one).
import t from 'tap'
import { adapterChannelPrefix, dashboardRoom } from '@school/events'
import {
  monitorCommands,
  PlainClient,
  redisPortsOf,
  shardSubscribers,
  shardSubscriptionsOf,
  SocketIoClient,
  total,
  type DashboardClient,
  type ServiceProcess,
} from '@school/test-support/system'
import { startScaledSystem } from './scaled-system.js'
import { awaitActivities, eventLog, performMany } from './school-actions.js'

const EVENTS_PER_RUN = 12
/**
 * Messages per event: activity_new, invitation_status_update for the third that are invitations, and at
 * most one metrics_update (the worker may coalesce several into one). One SPUBLISH each.
 */
const MAX_PUBLISHES_PER_EVENT = 1 + 1 / 3 + 1

const system = await startScaledSystem(t, { label: 'scale_redis', apis: 1, realtimes: 1, loadBalancer: false })
const { fixture } = system
const schoolA = fixture.schoolA.id
const schoolB = fixture.schoolB.id
const ownerA = await system.login(fixture.ownerA)
const ownerB = await system.login(fixture.ownerB)
const channelOf = (schoolId: number) => `${adapterChannelPrefix(system.redisPrefix)}#/#${dashboardRoom(schoolId)}#`

const clients: DashboardClient[] = []
t.teardown(() => Promise.all(clients.map((client) => client.close())))

/** Connects straight to one instance (no balancer: the test decides where each client sits). */
async function connectTo(instance: ServiceProcess, schoolId: number, token: string, kind: 'websocket' | 'polling' | 'socket.io'): Promise<DashboardClient> {
  const client =
    kind === 'websocket'
      ? await PlainClient.connect(instance.url, schoolId, token)
      : await SocketIoClient.connect(instance.url, schoolId, token, kind === 'polling' ? 'polling' : 'websocket')
  clients.push(client)
  await client.inbox.waitFor((m) => m.type === 'metrics_update', 'snapshot')
  return client
}

/**
 * Performs EVENTS_PER_RUN actions in school A, waits until every one of its clients has them all, and
 * returns the commands our api and realtime processes sent meanwhile (MONITOR, attributed by port).
 */
async function measure(schoolAClients: DashboardClient[]) {
  const baseline = (await eventLog(system.prisma, schoolA)).lastSeq
  const log = await monitorCommands()
  await performMany(system, ownerA, schoolA, EVENTS_PER_RUN, baseline)
  await Promise.all(schoolAClients.map((client) => awaitActivities(client, baseline + 1, baseline + EVENTS_PER_RUN)))
  await log.stop()
  const portsOf = async (services: ServiceProcess[]) => {
    const ports = new Set<number>()
    for (const service of services) for (const port of await redisPortsOf(service.child.pid!)) ports.add(port)
    return ports
  }
  const api = log.countBy(await portsOf(system.apis))
  const realtime = log.countBy(await portsOf(system.realtimes))
  const perEvent = (n: number) => (n / EVENTS_PER_RUN).toFixed(1)
  const breakdown = (counts: Map<string, number>) =>
    [...counts.entries()]
      .sort((a, b) => b[1] - a[1])
      .map(([command, count]) => `${command} ${perEvent(count)}`)
      .join(', ')
  return {
    api: total(api) / EVENTS_PER_RUN,
    realtime: total(realtime) / EVENTS_PER_RUN,
    spublish: (realtime.get('SPUBLISH') ?? 0) / EVENTS_PER_RUN,
    describe: () =>
      `api ${perEvent(total(api))}/event (${breakdown(api)}); realtime ${perEvent(total(realtime))}/event (${breakdown(realtime)})`,
  }
}

const figures: Record<string, Awaited<ReturnType<typeof measure>>> = {}

t.test('one realtime instance: the commands an event costs', async (t) => {
  const instance = system.realtimes[0]!
  const schoolAClients = [
    await connectTo(instance, schoolA, ownerA, 'websocket'),
    await connectTo(instance, schoolA, ownerA, 'socket.io'),
    await connectTo(instance, schoolA, ownerA, 'polling'),
  ]
  figures.one = await measure(schoolAClients)
  t.comment(`1 realtime instance, ${EVENTS_PER_RUN} events of school A, 3 clients on it: ${figures.one.describe()}`)
  t.ok(figures.one.spublish >= 1, 'each event is published to the school channel')
  t.ok(figures.one.spublish <= MAX_PUBLISHES_PER_EVENT, `at most ${MAX_PUBLISHES_PER_EVENT} publishes per event`)
})

t.test('three instances: only the instance with clients of a school subscribes to its channel', async (t) => {
  const [first] = system.realtimes
  const second = await system.startRealtime()
  const third = await system.startRealtime()
  await connectTo(second, schoolB, ownerB, 'websocket')

  t.same(
    await shardSubscribers(channelOf(schoolA), channelOf(schoolB)),
    { [channelOf(schoolA)]: 1, [channelOf(schoolB)]: 1 },
    "each school's channel has exactly one subscriber in all of Redis",
  )
  // Every instance listens on the namespace's channel and its own response channel; a school's channel
  // is added only where that school has clients: first (school A), second (school B), third (none).
  const subscriptions = await Promise.all([first!, second, third].map((service) => shardSubscriptionsOf(service.child.pid!)))
  t.comment(`sharded subscriptions per instance (A-clients, B-client, none): ${subscriptions.join(', ')}`)
  t.same(subscriptions, [subscriptions[2]! + 1, subscriptions[2]! + 1, subscriptions[2]], 'one school channel each on the first two, none on the third')

  const schoolAClients = clients.slice(0, 3)
  figures.three = await measure(schoolAClients)
  t.comment(`3 realtime instances, ${EVENTS_PER_RUN} events of school A, its 3 clients all on one: ${figures.three.describe()}`)
  t.ok(
    figures.three.spublish >= 1 && figures.three.spublish <= MAX_PUBLISHES_PER_EVENT,
    `still one publish per message (${figures.three.spublish.toFixed(2)}/event): adding instances does not multiply broadcasts`,
  )
  t.same(
    await shardSubscribers(channelOf(schoolA)),
    { [channelOf(schoolA)]: 1 },
    "school A's channel still has one subscriber, so each publish reaches one instance",
  )
})
