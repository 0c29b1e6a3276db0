// Proves that a SIGKILLed realtime service loses nothing: clients resume from their last seq on the new
// process with every event once and in order; redelivered and out-of-order jobs change nothing; and the
// live projection equals a rebuild of it from the log.
import t from 'tap'
import { foldLog, readSchoolMetrics, rebuildProjections } from '@school/dashboard'
import { PlainClient, SocketIoClient, startSystem } from '@school/test-support/system'
import {
  activitySeqs,
  appendInvitationEvents,
  createInvitations,
  emails,
  eventMessages,
  invitationEventStream,
  lastMetrics,
  openSchoolEventsQueue,
  pollUntil,
  range,
  renderedDashboard,
  type EventJob,
} from './fault-tolerance.js'

const system = await startSystem(t, 'e2e_realtime_crash')
const { fixture, prisma } = system
const schoolId = fixture.schoolA.id
const ownerA = await system.login(fixture.ownerA)
const adminA = await system.login(fixture.adminA)

type Client = PlainClient | SocketIoClient
interface Kind {
  name: string
  connect(since?: number): Promise<Client>
}
const kinds: Kind[] = [
  { name: 'websocket', connect: (since) => PlainClient.connect(system.origin, schoolId, ownerA, 'header', since === undefined ? {} : { since }) },
  {
    name: 'socket.io/websocket',
    connect: (since) => SocketIoClient.connect(system.origin, schoolId, adminA, 'websocket', since === undefined ? {} : { since }),
  },
  {
    name: 'socket.io/polling',
    connect: (since) => SocketIoClient.connect(system.origin, schoolId, ownerA, 'polling', since === undefined ? {} : { since }),
  },
]

/** Each kind's connections in order: the one the crash cut, then the resumed one. */
const sessions = new Map<string, Client[]>()
t.teardown(() => Promise.all([...sessions.values()].flat().map((client) => client.close())))

/** When the new realtime process was started: a job taken before then was the killed worker's. */
let restartedAt = 0

// The fixture's four memberships are the first events of school A's log.
const FIXTURE_EVENTS = 4

t.test('a SIGKILLed realtime service loses nothing: clients resume with since and miss no event', async (t) => {
  for (const kind of kinds) {
    const client = await kind.connect()
    sessions.set(kind.name, [client])
    const snapshot = await client.inbox.waitFor((m) => m.type === 'metrics_update', `snapshot on ${kind.name}`)
    t.equal(snapshot.seq, FIXTURE_EVENTS, `${kind.name}: the snapshot is at the fixture's last event`)
  }
  const first = () => kinds.map((kind) => sessions.get(kind.name)![0]!)

  // Kill the realtime service once every client has seen a few of the events, with more in flight.
  const KILL_AFTER_SEQ = FIXTURE_EVENTS + 4
  const seenEnough = Promise.all(
    first().map((client) => client.inbox.waitFor((m) => m.type === 'activity_new' && m.seq! >= KILL_AFTER_SEQ, `activity ${KILL_AFTER_SEQ}`)),
  )
  const INVITATIONS = 30
  const loop = createInvitations(system, ownerA, schoolId, emails('crash', INVITATIONS), { concurrency: 3, paceMs: 120 })
  loop.catch(() => {})

  await seenEnough
  const killed = system.realtime
  await killed.stop('SIGKILL')
  t.equal(killed.child.signalCode, 'SIGKILL', 'the realtime service died of SIGKILL')
  await Promise.all(first().map((client) => client.closed()))
  const lastSeen = new Map(kinds.map((kind) => [kind.name, activitySeqs(sessions.get(kind.name)![0]!.inbox).at(-1) ?? FIXTURE_EVENTS]))
  t.comment(`killed with clients at ${JSON.stringify(Object.fromEntries(lastSeen))}`)

  // A new process on the same database and Redis prefix; each client resumes after what it saw.
  restartedAt = Date.now()
  await system.restart('realtime')
  for (const kind of kinds) {
    const resumed = await kind.connect(lastSeen.get(kind.name))
    sessions.get(kind.name)!.push(resumed)
  }
  await loop
  const { lastEventSeq } = await renderedDashboard(system, ownerA, schoolId)
  t.equal(lastEventSeq, FIXTURE_EVENTS + INVITATIONS, 'every invitation is in the log')

  for (const kind of kinds) {
    const [cut, resumed] = sessions.get(kind.name)!
    await resumed!.inbox.waitFor((m) => m.type === 'metrics_update' && m.seq === lastEventSeq, `${kind.name}: metrics of seq ${lastEventSeq}`, 20_000)
    const since = lastSeen.get(kind.name)!

    t.equal(resumed!.inbox.messages[0]?.type, 'connection_established', `${kind.name}: the resumed connection starts with connection_established`)
    t.equal(resumed!.inbox.ofType('resume_unavailable').length, 0, `${kind.name}: the resume was honoured`)
    // All of the cut connection's events, then all of the resumed one's: every seq once, in order.
    t.same([...activitySeqs(cut!.inbox), ...activitySeqs(resumed!.inbox)], range(FIXTURE_EVENTS + 1, lastEventSeq), `${kind.name}: activity_new of every seq once, in order, across the crash`)
    // The crash may cut between an event's two messages; its status update is then sent again on resume.
    const cutStream = eventMessages(cut!.inbox)
    if (cutStream.at(-1)?.[0] === 'invitation_status_update') cutStream.pop()
    t.same(cutStream, invitationEventStream(range(FIXTURE_EVENTS + 1, since)), `${kind.name}: before the crash, each event's messages in order`)
    t.same(eventMessages(resumed!.inbox), invitationEventStream(range(since + 1, lastEventSeq)), `${kind.name}: after the resume, each event's messages in order`)
  }

  const rendered = await renderedDashboard(system, ownerA, schoolId)
  for (const kind of kinds) {
    const resumed = sessions.get(kind.name)![1]!
    const final = lastMetrics(resumed.inbox)
    t.equal(final?.seq, lastEventSeq, `${kind.name}: the last metrics_update is of the last event`)
    t.same(final?.data, rendered.metrics, `${kind.name}: the last metrics_update equals the counters of the tables`)
  }
  t.equal(rendered.metrics.pendingInvitations, INVITATIONS)
})

t.test('a job delivered twice, or for an older seq after a newer one, changes nothing and reaches no client twice', async (t) => {
  const clients = kinds.map((kind) => sessions.get(kind.name)![1]!)
  const { queue, events, enqueue } = await openSchoolEventsQueue(t, system)
  const finished = async (jobId: string) => {
    const job = await queue.getJob(jobId)
    if (!job) throw new Error(`job ${jobId} is not in the queue`)
    return job.waitUntilFinished(events, 10_000)
  }
  // Any job still queued would advance the projection over the events appended below (a job means
  // "the school has news"), so start from an idle queue. The killed worker's job stays active (stalled).
  await pollUntil(
    async () => {
      const counts = await queue.getJobCounts('waiting', 'delayed', 'prioritized')
      const live = (await queue.getActive()).filter((job) => (job.processedOn ?? 0) >= restartedAt)
      return { ...counts, active: live.length }
    },
    (counts) => Object.values(counts).every((count) => count === 0),
    'the queue is idle',
  )
  const before = await prisma.schoolDashboardProjection.findUniqueOrThrow({ where: { schoolId } })
  const seen = clients.map((client) => client.inbox.messages.length)

  // Two new events committed together; the job of the newer one arrives first.
  const [older, newer] = (await appendInvitationEvents(prisma, schoolId, fixture.ownerA.id, 2)) as [EventJob, EventJob]
  t.same([older.seq, newer.seq], [before.lastSeq + 1, before.lastSeq + 2])
  await enqueue([newer])
  t.same(await finished(newer.eventId), { schoolId, seq: newer.seq, applied: 2 }, 'the newer job applies both events, in log order')
  const advanced = await prisma.schoolDashboardProjection.findUniqueOrThrow({ where: { schoolId } })
  t.equal(advanced.lastSeq, newer.seq)

  // Then the older one, and the newer one again under another job id: neither has anything left to do.
  await enqueue([older])
  t.same(await finished(older.eventId), { schoolId, seq: older.seq, applied: 0 }, 'the older job, after the newer, applies nothing')
  const redelivery = `redelivered-${newer.eventId}`
  await enqueue([newer], () => redelivery)
  t.same(await finished(redelivery), { schoolId, seq: newer.seq, applied: 0 }, 'the same event under a new job id applies nothing')
  t.same(await prisma.schoolDashboardProjection.findUniqueOrThrow({ where: { schoolId } }), advanced, 'the projection row is untouched by them')

  // One more event through the API: each client then has exactly the three events, once each.
  const { status } = await system.request('POST', `/api/accounts/schools/${schoolId}/invitations/`, {
    token: ownerA,
    body: { email: 'after-redelivery@example.com', role: 'teacher' },
  })
  t.equal(status, 201)
  const last = newer.seq + 1
  for (const [index, client] of clients.entries()) {
    await client.inbox.waitFor((m) => m.type === 'metrics_update' && m.seq === last, `${kinds[index]!.name}: metrics of seq ${last}`)
    const since = client.inbox.messages.slice(seen[index])
    t.same(
      since.filter((m) => m.type !== 'metrics_update').map((m) => [m.type, m.seq]),
      invitationEventStream([older.seq, newer.seq, last]),
      `${kinds[index]!.name}: each event once, in order, despite the redelivered and out-of-order jobs`,
    )
    const metricsSeqs = since.filter((m) => m.type === 'metrics_update').map((m) => m.seq!)
    t.ok(metricsSeqs.every((seq, i) => i === 0 || seq > metricsSeqs[i - 1]!), `${kinds[index]!.name}: metrics_update seqs only grow (${metricsSeqs.join(', ')})`)
    t.equal(metricsSeqs.at(-1), last)
  }
  t.same(lastMetrics(clients[0]!.inbox)?.data, await readSchoolMetrics(prisma, schoolId))
})

t.test('the live projection equals the projection rebuilt from the log, and the counters of the tables', async (t) => {
  const live = await prisma.schoolDashboardProjection.findUniqueOrThrow({ where: { schoolId } })
  const { lastEventSeq } = await renderedDashboard(system, ownerA, schoolId)
  t.equal(live.lastSeq, lastEventSeq, 'the live projection is at the end of the log')
  const folded = await foldLog(prisma, schoolId)
  const tables = await readSchoolMetrics(prisma, schoolId)
  const { schoolId: _id, lastSeq, updatedAt: _at, version: _version, ...liveCounters } = live
  t.same({ metrics: folded.metrics, lastSeq: folded.lastSeq, deadLettered: folded.deadLettered }, { metrics: liveCounters, lastSeq, deadLettered: [] }, 'folding the log gives the live projection')
  t.same(folded.metrics, tables, 'and the counters computed from the tables')
  const rebuilt = await rebuildProjections(prisma, [schoolId, fixture.schoolB.id])
  t.same(
    rebuilt.map((r) => ({ schoolId: r.schoolId, changed: r.changed })),
    [
      { schoolId, changed: false },
      { schoolId: fixture.schoolB.id, changed: false },
    ],
    'a rebuild from the log changes neither school',
  )
  t.same(rebuilt[0]?.metrics, tables)
})
