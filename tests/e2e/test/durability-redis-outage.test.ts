// Proves that a Redis outage (stopped for 3 s, restarted empty) loses no event and duplicates none for any
// client, and that both services recover on their own: the relay, reconciliation and fresh jobs take over.
import t from 'tap'
import { Redis } from 'ioredis'
import { foldLog, readSchoolMetrics } from '@school/dashboard'
import { adapterChannelPrefix, dashboardRoom } from '@school/events'
import { PlainClient, SocketIoClient, startSystem } from '@school/test-support/system'
import {
  activitySeqs,
  createInvitations,
  emails,
  eventMessages,
  invitationEventStream,
  lastMetrics,
  logSeqs,
  openSchoolEventsQueue,
  pollUntil,
  range,
  renderedDashboard,
  startPrivateRedis,
  waitForLog,
} from './fault-tolerance.js'

// Registered before the system, so torn down after it: the services never see it vanish at the end.
const redis = await startPrivateRedis(t)
const system = await startSystem(t, 'e2e_redis_outage', {
  redisUrl: redis.url,
  // Hundreds of invitations in one school within the hour: above the default quota.
  apiEnv: { OUTBOX_RELAY_GRACE_MS: '300', OUTBOX_RELAY_INTERVAL_MS: '200', INVITATIONS_PER_SCHOOL_PER_HOUR: '100000' },
  realtimeEnv: { RECONCILE_INTERVAL_MS: '300', CATCH_UP_INTERVAL_MS: '500' },
})
const { fixture, prisma } = system
const schoolId = fixture.schoolA.id
const ownerA = await system.login(fixture.ownerA)
const adminA = await system.login(fixture.adminA)
const FIXTURE_EVENTS = 4
const OUTAGE_MS = 3000

t.test('a Redis outage loses no event and duplicates none; both services recover without a restart', async (t) => {
  const clients = [
    await PlainClient.connect(system.origin, schoolId, ownerA),
    await SocketIoClient.connect(system.origin, schoolId, adminA, 'websocket'),
    await SocketIoClient.connect(system.origin, schoolId, ownerA, 'polling'),
  ]
  t.teardown(() => Promise.all(clients.map((client) => client.close())))
  for (const client of clients) {
    const snapshot = await client.inbox.waitFor((m) => m.type === 'metrics_update', `snapshot on ${client.kind}`)
    t.equal(snapshot.seq, FIXTURE_EVENTS)
  }

  // Invitations keep coming before, during and after the outage.
  let created = 0
  let createdAtStop = 0
  let createdAtRestart = 0
  const AFTER_RECOVERY = 8
  let markRecovered = () => {}
  const recovered = new Promise<void>((resolve) => (markRecovered = resolve))
  const before = createInvitations(system, ownerA, schoolId, emails('before', 6), { concurrency: 2, paceMs: 50, onCreated: () => created++ })
  await before
  for (const client of clients) await client.inbox.waitFor((m) => m.type === 'activity_new' && m.seq === FIXTURE_EVENTS + 6, `${client.kind}: events before the outage`)

  let outageOver = false
  const during = (async () => {
    let round = 0
    while (!outageOver) {
      await createInvitations(system, ownerA, schoolId, emails(`during-${++round}`, 2), { concurrency: 2, onCreated: () => created++ })
    }
    await recovered
    await createInvitations(system, ownerA, schoolId, emails('after', AFTER_RECOVERY), { concurrency: 2, paceMs: 50, onCreated: () => created++ })
  })()
  during.catch(() => {})

  await redis.stop()
  createdAtStop = created
  await new Promise((resolve) => setTimeout(resolve, OUTAGE_MS))
  createdAtRestart = created
  await redis.start()
  outageOver = true
  t.comment(`invitations: ${createdAtStop} when Redis stopped, ${createdAtRestart - createdAtStop} during the ${OUTAGE_MS} ms outage`)
  t.ok(createdAtRestart - createdAtStop >= 2, 'the API kept committing changes while Redis was down')
  markRecovered()
  await during

  const log = await logSeqs(prisma, schoolId)
  const last = log.at(-1)!
  t.same(log, range(1, FIXTURE_EVENTS + created), `the log holds every one of the ${created} invitations, without a gap`)
  for (const client of clients) {
    await client.inbox.waitFor((m) => m.type === 'metrics_update' && m.seq === last, `${client.kind}: metrics of seq ${last}`, 20_000)
  }
  const rendered = await renderedDashboard(system, ownerA, schoolId)
  for (const client of clients) {
    t.same(activitySeqs(client.inbox), range(FIXTURE_EVENTS + 1, last), `${client.kind}: activity_new of every event of the log, once, in order`)
    t.same(eventMessages(client.inbox), invitationEventStream(range(FIXTURE_EVENTS + 1, last)), `${client.kind}: each event's messages in order`)
    t.same(lastMetrics(client.inbox)?.data, rendered.metrics, `${client.kind}: last metrics_update equals the counters of the tables`)
    const metricsSeqs = client.inbox.ofType('metrics_update').map((m) => m.seq!)
    t.ok(metricsSeqs.every((seq, i) => i === 0 || seq > metricsSeqs[i - 1]!), `${client.kind}: metrics_update seqs only grow`)
  }
  await pollUntil(() => prisma.domainEvent.count({ where: { enqueuedAt: null } }), (pending) => pending === 0, 'the outbox drained')
  t.ok(await waitForLog(system.api, ['outbox relay enqueued committed events']), 'the outbox relay re-enqueued the events committed during the outage')
  const folded = await foldLog(prisma, schoolId)
  t.same({ metrics: folded.metrics, lastSeq: folded.lastSeq }, { metrics: await readSchoolMetrics(prisma, schoolId), lastSeq: last }, 'the projection rebuilt from the log agrees')

  // Both services are the processes that lived through the outage, and the normal path works again:
  // the request enqueues its own event, the worker takes the job, the adapter is subscribed again.
  t.equal(system.api.child.exitCode, null, 'the API process is still the same, running')
  t.equal(system.realtime.child.exitCode, null, 'the realtime process is still the same, running')
  // Jobs still queued (the relay's) would apply the next event before its own job: wait for an idle queue.
  const { queue, events } = await openSchoolEventsQueue(t, system)
  await pollUntil(
    () => queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized'),
    (counts) => Object.values(counts).every((count) => count === 0),
    'the queue is idle',
  )
  const { status } = await system.request('POST', `/api/accounts/schools/${schoolId}/invitations/`, {
    token: ownerA,
    body: { email: 'after-recovery@example.com', role: 'teacher' },
  })
  t.equal(status, 201)
  const next = await prisma.domainEvent.findFirstOrThrow({ where: { schoolId }, orderBy: { seq: 'desc' } })
  t.equal(next.seq, last + 1)
  // The request answers once its job is queued (its enqueued_at mark follows the answer): the job is there now.
  const job = await queue.getJob(next.id)
  t.ok(job, 'the request itself enqueued its event: its job is in the queue under the event id')
  t.same(await job?.waitUntilFinished(events, 10_000), { schoolId, seq: next.seq, applied: 1 }, 'the worker took the job and applied the event')
  for (const client of clients) {
    await client.inbox.waitFor((m) => m.type === 'metrics_update' && m.seq === next.seq, `${client.kind}: the event after recovery`)
    t.same(activitySeqs(client.inbox).slice(-2), [last, next.seq], `${client.kind}: the event after recovery, once`)
  }
  const probe = new Redis(redis.url, { maxRetriesPerRequest: 1 })
  t.teardown(() => probe.disconnect())
  const channel = `${adapterChannelPrefix(system.redisPrefix)}#/#${dashboardRoom(schoolId)}#`
  const subscribers = (await probe.call('PUBSUB', 'SHARDNUMSUB', channel)) as [string, number]
  t.equal(subscribers[1], 1, "the realtime service subscribed to the school's channel again after the restart of Redis")
})

t.test(
  'an event whose job Redis lost (queued, not yet taken, then Redis restarted empty) still reaches the clients',
  async (t) => {
    const client = await PlainClient.connect(system.origin, schoolId, ownerA)
    t.teardown(() => client.close())
    const { lastEventSeq } = await renderedDashboard(system, ownerA, schoolId)
    await client.inbox.waitFor((m) => m.type === 'metrics_update' && m.seq === lastEventSeq, 'the snapshot')

    // The worker is behind (here: the queue paused), so the job of the next event waits in Redis...
    const { queue } = await openSchoolEventsQueue(t, system)
    await queue.pause()
    const { status } = await system.request('POST', `/api/accounts/schools/${schoolId}/invitations/`, {
      token: ownerA,
      body: { email: 'job-lost@example.com', role: 'teacher' },
    })
    t.equal(status, 201)
    const event = await prisma.domainEvent.findFirstOrThrow({ where: { schoolId }, orderBy: { seq: 'desc' } })
    t.equal(await queue.getJobState(event.id), 'waiting', 'the request enqueued its event: its job waits in Redis')
    // Its enqueued_at mark is written just after the answer; the relay would enqueue it again otherwise.
    await pollUntil(() => prisma.domainEvent.findUniqueOrThrow({ where: { id: event.id } }), (row) => row.enqueuedAt !== null, 'the enqueue mark')

    // ...when Redis restarts without it. Several relay and reconciliation periods pass.
    await redis.stop()
    await redis.start()
    await client.inbox
      .waitFor((m) => m.type === 'activity_new' && m.seq === event.seq, `activity_new of seq ${event.seq}`, 4_000)
      .then(
        () => t.pass('the client received the event'),
        (error: Error) => t.fail(error.message),
      )
    const projection = await prisma.schoolDashboardProjection.findUniqueOrThrow({ where: { schoolId } })
    t.equal(projection.lastSeq, event.seq, 'the projection caught up with the log')
  },
)
