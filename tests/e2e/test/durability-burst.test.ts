// Proves that a burst of 1,000 events in one school reaches every connected client complete, in order and
// exactly once, with metrics_update coalesced to a small fraction of the events and correct at the end.
import t from 'tap'
import { foldLog, readSchoolMetrics } from '@school/dashboard'
import { PlainClient, SocketIoClient, startSystem } from '@school/test-support/system'
import {
  activitySeqs,
  appendInvitationEvents,
  eventMessages,
  invitationEventStream,
  lastMetrics,
  openSchoolEventsQueue,
  range,
  renderedDashboard,
} from './fault-tolerance.js'

const system = await startSystem(t, 'e2e_burst')
const { fixture, prisma } = system
const schoolId = fixture.schoolA.id
const ownerA = await system.login(fixture.ownerA)
const FIXTURE_EVENTS = 4
const BURST = 1000
const WRITERS = 2
const BATCH = 10

t.test(`a burst of ${BURST} events: every client gets each once, in order, with coalesced metrics`, async (t) => {
  const clients = [
    await PlainClient.connect(system.origin, schoolId, ownerA),
    await SocketIoClient.connect(system.origin, schoolId, ownerA, 'websocket'),
    await SocketIoClient.connect(system.origin, schoolId, ownerA, 'default'),
  ]
  t.teardown(() => Promise.all(clients.map((client) => client.close())))
  for (const client of clients) await client.inbox.waitFor((m) => m.type === 'metrics_update' && m.seq === FIXTURE_EVENTS, `snapshot on ${client.kind}`)
  const { enqueue } = await openSchoolEventsQueue(t, system)

  // The API's write path without HTTP, in batches, from two writers at once: each transaction appends
  // BATCH events (each the school's next seq under its row lock, with its invitation), then one job per
  // event is enqueued (job id = event id) and the events are marked enqueued.
  const started = Date.now()
  let batches = BURST / BATCH
  const writer = async (): Promise<void> => {
    while (batches-- > 0) {
      const jobs = await appendInvitationEvents(prisma, schoolId, fixture.ownerA.id, BATCH)
      await enqueue(jobs)
      await prisma.domainEvent.updateMany({ where: { id: { in: jobs.map((job) => job.eventId) } }, data: { enqueuedAt: new Date() } })
    }
  }
  await Promise.all(Array.from({ length: WRITERS }, writer))
  const committedMs = Date.now() - started
  const last = FIXTURE_EVENTS + BURST
  for (const client of clients) {
    await client.inbox.waitFor((m) => m.type === 'metrics_update' && m.seq === last, `${client.kind}: metrics of seq ${last}`, 40_000)
  }
  const deliveredMs = Date.now() - started
  t.comment(`${BURST} events committed and enqueued in ${committedMs} ms; all clients had the last metrics after ${deliveredMs} ms`)

  const rendered = await renderedDashboard(system, ownerA, schoolId)
  t.equal(rendered.lastEventSeq, last)
  for (const client of clients) {
    t.same(activitySeqs(client.inbox), range(FIXTURE_EVENTS + 1, last), `${client.kind}: all ${BURST} activity_new, once each, in order`)
    t.same(eventMessages(client.inbox), invitationEventStream(range(FIXTURE_EVENTS + 1, last)), `${client.kind}: each invitation_status_update before its activity_new`)
    const metrics = client.inbox.ofType('metrics_update')
    const live = metrics.slice(1)
    t.comment(`${client.kind}: ${live.length} metrics_update for ${BURST} events, at seqs ${live.map((m) => m.seq).join(' ')}`)
    t.ok(live.length < 200, `${client.kind}: far fewer metrics_update than events (${live.length})`)
    // At most one per METRICS_COALESCE_MS (100 ms) window, however long the burst took on this machine.
    t.ok(live.length <= Math.ceil(deliveredMs / 100) + 1, `${client.kind}: at most one metrics_update per 100 ms window`)
    t.ok(live.every((m, i) => m.seq! > (i === 0 ? FIXTURE_EVENTS : live[i - 1]!.seq!)), `${client.kind}: metrics_update seqs only grow`)
    // A metrics_update never runs ahead of the events the client has been sent.
    const position = new Map(client.inbox.messages.map((m, i) => [m, i]))
    const activityAt = new Map(client.inbox.ofType('activity_new').map((m) => [m.seq!, position.get(m)!]))
    t.ok(live.every((m) => activityAt.get(m.seq!)! < position.get(m)!), `${client.kind}: each metrics_update follows the activity_new of its seq`)
    t.equal(lastMetrics(client.inbox)?.seq, last)
    t.same(lastMetrics(client.inbox)?.data, rendered.metrics, `${client.kind}: the last metrics_update equals the counters of the tables`)
  }
  t.equal(rendered.metrics.pendingInvitations, BURST)
  const folded = await foldLog(prisma, schoolId)
  t.same({ metrics: folded.metrics, lastSeq: folded.lastSeq }, { metrics: await readSchoolMetrics(prisma, schoolId), lastSeq: last }, 'the log folds to the same counters')
})
