// Two api and three realtime processes behind haproxy: clients of two schools spread over every instance
// get each of their school's events exactly once and in order, and survive the loss of an instance.
import t from 'tap'
import { PlainClient, SocketIoClient, type DashboardClient } from '@school/test-support/system'
import { openedConnections, startScaledSystem, waitUntil } from './scaled-system.js'
import { awaitActivities, eventIdsOf, eventLog, performMany, seqsOf } from './school-actions.js'

const system = await startScaledSystem(t, { label: 'scale_delivery', apis: 2, realtimes: 3, loadBalancer: true })
const { fixture } = system
const schoolA = fixture.schoolA.id
const schoolB = fixture.schoolB.id
const tokens = {
  [schoolA]: await system.login(fixture.ownerA),
  [schoolB]: await system.login(fixture.ownerB),
}

type Kind = 'websocket' | 'socket.io/websocket' | 'socket.io/polling' | 'socket.io/default'
const KINDS: Kind[] = ['websocket', 'socket.io/websocket', 'socket.io/polling', 'socket.io/default']

interface Connected {
  client: DashboardClient
  schoolId: number
  kind: Kind
  /** Resolves when the server side goes away. */
  lost: Promise<void>
  /** The Socket.IO session id (the server logs it as connectionId); the client forgets it on disconnect. */
  socketIoId?: string
}

const everyone: Connected[] = []
t.teardown(() => Promise.all(everyone.map(({ client }) => client.close())))

/** Connects through the balancer and waits for the snapshot, so the connection is complete. */
async function connect(schoolId: number, kind: Kind): Promise<Connected> {
  const token = tokens[schoolId]!
  let client: DashboardClient
  let lost: Promise<void>
  if (kind === 'websocket') {
    const plain = await PlainClient.connect(system.origin, schoolId, token)
    lost = new Promise((resolve) => plain.socket.once('close', () => resolve()))
    client = plain
  } else {
    const transport = kind === 'socket.io/websocket' ? 'websocket' : kind === 'socket.io/polling' ? 'polling' : 'default'
    // Cookies kept, as a browser keeps them: the balancer's sticky cookie pins long-polling to one instance.
    const sio = await SocketIoClient.connect(system.origin, schoolId, token, transport, { withCredentials: true })
    lost = new Promise((resolve) => sio.socket.once('disconnect', () => resolve()))
    client = sio
  }
  await client.inbox.waitFor((m) => m.type === 'metrics_update', `snapshot on ${kind}`)
  const socketIoId = kind === 'websocket' ? undefined : (client as SocketIoClient).socket.id
  const connected: Connected = { client, schoolId, kind, lost, ...(socketIoId ? { socketIoId } : {}) }
  everyone.push(connected)
  return connected
}

/** Which realtime instance (index) logged the opening of a Socket.IO client's connection. */
function instanceOfSocketIo(id: string | undefined): number {
  return system.realtimes.findIndex((service) => openedConnections(service).some((c) => c.connectionId === id))
}

const opened = () => system.realtimes.map((service) => openedConnections(service).length)
const sum = (values: number[]) => values.reduce((a, b) => a + b, 0)

let clients: Connected[] = []

t.test('clients of two schools, on every transport, are spread over all realtime instances', async (t) => {
  // One at a time, so that the balancer's round robin decides, not the timing.
  for (let i = 0; i < 12; i++) clients.push(await connect(i % 2 === 0 ? schoolA : schoolB, KINDS[Math.floor(i / 2) % KINDS.length]!))
  await waitUntil(() => sum(opened()) === 12, 'all 12 connections logged by the instances')
  const perInstance = opened()
  t.comment(`connections per realtime instance: ${perInstance.join(', ')}`)
  t.same(perInstance, [4, 4, 4], 'round robin gave each of the 3 instances 4 of the 12 clients')
  for (const schoolId of [schoolA, schoolB]) {
    const instances = system.realtimes.filter((service) => openedConnections(service).some((c) => c.schoolId === schoolId))
    t.ok(instances.length >= 2, `school ${schoolId} has clients on ${instances.length} instances`)
  }
  for (const { kind, socketIoId } of clients.filter((c) => c.kind !== 'websocket')) {
    t.not(instanceOfSocketIo(socketIoId), -1, `${kind} client ${socketIoId} found on an instance`)
  }
  // The default transport starts with long-polling and upgrades; the upgrade must reach the same instance.
  for (const { client } of clients.filter((c) => c.kind === 'socket.io/default')) {
    const engine = (client as SocketIoClient).socket.io.engine
    if (engine.transport.name !== 'websocket') await new Promise((resolve) => engine.once('upgrade', resolve))
    t.equal(engine.transport.name, 'websocket', 'the default transport upgraded to WebSocket through the balancer')
  }
})

t.test('every event reaches each client of its school exactly once, in seq order, and no other school', async (t) => {
  const counts = { [schoolA]: 9, [schoolB]: 7 }
  // What the log held before (the fixture may have written events of its own).
  const baseline = { [schoolA]: (await eventLog(system.prisma, schoolA)).lastSeq, [schoolB]: (await eventLog(system.prisma, schoolB)).lastSeq }
  // Both schools at once: their requests interleave over the two API instances and three workers.
  await Promise.all([schoolA, schoolB].map((id) => performMany(system, tokens[id]!, id, counts[id]!)))
  const logs = {
    [schoolA]: await eventLog(system.prisma, schoolA, baseline[schoolA]),
    [schoolB]: await eventLog(system.prisma, schoolB, baseline[schoolB]),
  }
  t.comment(`school A log: ${logs[schoolA]!.summary}; school B log: ${logs[schoolB]!.summary}`)
  for (const id of [schoolA, schoolB]) t.equal(logs[id]!.ids.length, counts[id], `school ${id}: one event per action`)

  await Promise.all(clients.map(({ client, schoolId }) => awaitActivities(client, baseline[schoolId]! + 1, logs[schoolId]!.lastSeq)))
  for (const { client, schoolId, kind } of clients) {
    const log = logs[schoolId]!
    const other = logs[schoolId === schoolA ? schoolB : schoolA]!
    const name = `${kind} client of school ${schoolId}`
    t.same(eventIdsOf(client, 'activity_new', baseline[schoolId]), log.ids, `${name}: each activity_new once, in log order`)
    t.same(
      eventIdsOf(client, 'invitation_status_update', baseline[schoolId]),
      log.invitationIds,
      `${name}: each invitation_status_update once, in order`,
    )
    const seqs = seqsOf(client)
    t.ok(seqs.every((seq, i) => i === 0 || seq >= seqs[i - 1]!), `${name}: seq never goes back (${seqs.join(',')})`)
    const foreign = client.inbox.messages.filter((m) => m.eventId !== undefined && other.ids.includes(m.eventId))
    t.equal(foreign.length, 0, `${name}: nothing of the other school`)
  }
})

t.test('when a realtime instance is killed, its clients reconnect through the balancer to live ones', async (t) => {
  const victim = system.realtimes[0]!
  const onVictim = openedConnections(victim).length
  const before = opened()
  t.ok(onVictim > 0, `the victim holds ${onVictim} clients`)
  const victimSocketIoIds = new Set(openedConnections(victim).map((c) => c.connectionId))

  await victim.stop('SIGKILL')
  // Exactly the victim's clients lose their connection (closed by the kernel, then by haproxy).
  // (That the others stay connected is shown below: they keep receiving events.)
  const lostClients: Connected[] = []
  for (const c of clients) void c.lost.then(() => lostClients.push(c))
  await waitUntil(() => lostClients.length >= onVictim, `${onVictim} clients disconnected`)
  t.equal(lostClients.length, onVictim, `the ${onVictim} clients of the killed instance were disconnected`)
  for (const { kind, socketIoId } of lostClients.filter((c) => c.kind !== 'websocket')) {
    t.ok(victimSocketIoIds.has(socketIoId!), `${kind} client ${socketIoId} was on the killed instance`)
  }

  await system.loadBalancer!.waitForStatus({ 'realtime/realtime-1': 'DOWN', 'realtime/realtime-2': 'UP', 'realtime/realtime-3': 'UP' })
  const survivors = clients.filter((c) => !lostClients.includes(c))
  const reconnected = []
  for (const { schoolId, kind } of lostClients) reconnected.push(await connect(schoolId, kind))
  // The instances log each opening in their next log batch: wait for the lines, not a fixed time.
  await waitUntil(() => sum(opened()) - sum(before) >= lostClients.length, `${lostClients.length} reconnections logged by the instances`)
  const after = opened()
  t.equal(after[0], before[0], 'nothing more reached the killed instance')
  t.equal(sum(after) - sum(before), lostClients.length, 'every reconnection was opened on a surviving instance')
  t.comment(`connections opened per instance after the kill: ${after.join(', ')}`)

  // Live events flow to the reconnected clients and to the ones that never left, once each.
  const baseline = { [schoolA]: (await eventLog(system.prisma, schoolA)).lastSeq, [schoolB]: (await eventLog(system.prisma, schoolB)).lastSeq }
  await Promise.all([schoolA, schoolB].map((id) => performMany(system, tokens[id]!, id, 2, 100)))
  const logs = {
    [schoolA]: await eventLog(system.prisma, schoolA, baseline[schoolA]),
    [schoolB]: await eventLog(system.prisma, schoolB, baseline[schoolB]),
  }
  const live = [...survivors, ...reconnected]
  await Promise.all(live.map(({ client, schoolId }) => awaitActivities(client, baseline[schoolId]! + 1, logs[schoolId]!.lastSeq)))
  for (const { client, schoolId, kind } of live) {
    t.same(
      eventIdsOf(client, 'activity_new', baseline[schoolId]),
      logs[schoolId]!.ids,
      `${kind} client of school ${schoolId}: both new events once, in order`,
    )
  }
})
