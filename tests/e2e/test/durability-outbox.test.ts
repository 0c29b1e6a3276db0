// Proves the outbox: an event committed by an API that died before enqueueing it (its Redis unreachable,
// then SIGKILL) is enqueued by the next API's relay and reaches the connected clients, once.
import t from 'tap'
import { PlainClient, SocketIoClient, startSystem } from '@school/test-support/system'
import { freePort } from '@school/test-support'
import { eventMessages, invitationEventStream, lastMetrics, pollUntil, range, renderedDashboard, waitForLog } from './fault-tolerance.js'

// Short relay timings for every API process of this test (a stranded event waits grace + interval).
const RELAY = { OUTBOX_RELAY_GRACE_MS: '200', OUTBOX_RELAY_INTERVAL_MS: '200' }
// The realtime service's periodic catch-up would also deliver the stranded event straight from the log;
// it is pushed out of the way so that this test proves the relay's path.
const system = await startSystem(t, 'e2e_outbox', { apiEnv: RELAY, realtimeEnv: { CATCH_UP_INTERVAL_MS: '3600000' } })
const { fixture, prisma } = system
const schoolId = fixture.schoolA.id
const ownerA = await system.login(fixture.ownerA)
const FIXTURE_EVENTS = 4

t.test('an event committed by an API killed before enqueueing it is relayed by the next API', async (t) => {
  const clients = [
    await PlainClient.connect(system.origin, schoolId, ownerA),
    await SocketIoClient.connect(system.origin, schoolId, ownerA, 'websocket'),
  ]
  t.teardown(() => Promise.all(clients.map((client) => client.close())))
  for (const client of clients) await client.inbox.waitFor((m) => m.type === 'metrics_update', `snapshot on ${client.kind}`)
  // The fixture's own events reach the queue through this API's relay: start once nothing is pending.
  await pollUntil(() => prisma.domainEvent.count({ where: { enqueuedAt: null } }), (pending) => pending === 0, 'the fixture events are enqueued')

  // An API whose Redis is a closed port: the change commits, the enqueue fails, the request still succeeds.
  const closedPort = await freePort()
  const broken = await system.restart('api', { env: { REDIS_URL: `redis://127.0.0.1:${closedPort}` } })
  const { status, body } = await system.request('POST', `/api/accounts/schools/${schoolId}/invitations/`, {
    token: ownerA,
    body: { email: 'stranded@example.com', role: 'teacher' },
  })
  t.equal(status, 201, 'the request succeeds though Redis is unreachable')
  const stranded = await prisma.domainEvent.findFirstOrThrow({ where: { schoolId }, orderBy: { seq: 'desc' } })
  t.equal(stranded.seq, FIXTURE_EVENTS + 1)
  t.match(stranded.payload, { invitationId: body.id, status: 'pending' })
  t.equal(stranded.enqueuedAt, null, 'the committed event is not marked enqueued')
  t.ok(await waitForLog(broken, ['event committed but not enqueued', stranded.id]), 'the API logged that it could not enqueue the event')
  for (const client of clients) t.same(eventMessages(client.inbox), [], `${client.kind}: nothing delivered while the event is stranded`)

  // The process dies with the event still in the outbox.
  await system.restart('api', { signal: 'SIGKILL' })
  t.equal(broken.child.signalCode, 'SIGKILL')

  // The new API's relay enqueues it: every client receives it, once, with its counters.
  for (const client of clients) {
    await client.inbox.waitFor((m) => m.type === 'metrics_update' && m.seq === stranded.seq, `${client.kind}: metrics of the stranded event`)
  }
  // The relay marks the row in the transaction that took it, which commits after the job was added: the
  // worker may deliver the event before the mark is visible.
  const relayed = await pollUntil(
    () => prisma.domainEvent.findUniqueOrThrow({ where: { id: stranded.id } }),
    (event) => event.enqueuedAt !== null,
    'the relay marked the event enqueued',
  )
  t.ok(relayed.enqueuedAt, 'enqueued_at is set')
  t.match(
    await waitForLog(system.api, ['outbox relay enqueued committed events']),
    `"first":{"schoolId":${schoolId},"seq":${stranded.seq}}`,
    'it was the outbox relay of the new API that enqueued it',
  )
  const rendered = await renderedDashboard(system, ownerA, schoolId)
  for (const client of clients) {
    t.same(eventMessages(client.inbox), invitationEventStream(range(FIXTURE_EVENTS + 1, FIXTURE_EVENTS + 1)), `${client.kind}: the event, once`)
    t.equal(client.inbox.ofType('activity_new')[0]?.eventId, stranded.id)
    t.same(lastMetrics(client.inbox)?.data, rendered.metrics, `${client.kind}: counters equal to the tables`)
  }
  t.equal(rendered.metrics.pendingInvitations, 1)
  t.equal(await prisma.domainEvent.count({ where: { enqueuedAt: null } }), 0, 'the outbox is empty')
})
