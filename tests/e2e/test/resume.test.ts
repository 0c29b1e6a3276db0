// Proves resume at its edges on both transports: a `since` within RESUME_MAX_EVENTS is replayed then live,
// one too old or ahead of the log gets resume_unavailable and a snapshot, a malformed one is refused.
import t, { type Test } from 'tap'
import type { AnyEnvelope } from '@school/events'
import { PlainClient, SocketIoClient, startSystem, type DashboardClient, type HandshakeRefusal } from '@school/test-support/system'
import { createInvitations, emails, invitationEventStream, eventMessages, range, renderedDashboard } from './fault-tolerance.js'

const MAX_REPLAY = 5
const system = await startSystem(t, 'e2e_resume', { realtimeEnv: { RESUME_MAX_EVENTS: String(MAX_REPLAY) } })
const { fixture } = system
const schoolId = fixture.schoolA.id
const ownerA = await system.login(fixture.ownerA)
// The fixture's 4 events and 8 invitations: the log ends at 12.
await createInvitations(system, ownerA, schoolId, emails('resume', 8), { concurrency: 1 })
const LAST = 12

const transports: Array<[string, (since: number | string) => Promise<DashboardClient>]> = [
  ['websocket', (since) => PlainClient.connect(system.origin, schoolId, ownerA, 'header', { since })],
  ['socket.io', (since) => SocketIoClient.connect(system.origin, schoolId, ownerA, 'websocket', { since })],
]

async function connect(t: Test, open: (since: number | string) => Promise<DashboardClient>, since: number | string): Promise<DashboardClient> {
  const client = await open(since)
  t.teardown(() => client.close())
  return client
}

const shape = (messages: AnyEnvelope[]) => messages.map((m) => [m.type, m.seq ?? null])

t.test('setup: the log ends where the tests expect', async (t) => {
  const { lastEventSeq, metrics } = await renderedDashboard(system, ownerA, schoolId)
  t.equal(lastEventSeq, LAST)
  t.equal(metrics.pendingInvitations, 8)
})

for (const [name, open] of transports) {
  t.test(`${name}: since within RESUME_MAX_EVENTS replays the missed events, then a snapshot`, async (t) => {
    const since = LAST - MAX_REPLAY
    const client = await connect(t, open, since)
    await client.inbox.waitFor((m) => m.type === 'metrics_update', 'the snapshot after the replay')
    t.same(shape(client.inbox.messages), [
      ['connection_established', null],
      ...invitationEventStream(range(since + 1, LAST)),
      ['metrics_update', LAST],
    ], `the ${MAX_REPLAY} events after ${since}, then metrics at ${LAST}`)
  })

  t.test(`${name}: since at the end of the log replays nothing`, async (t) => {
    const client = await connect(t, open, LAST)
    await client.inbox.waitFor((m) => m.type === 'metrics_update', 'the snapshot')
    t.same(shape(client.inbox.messages), [
      ['connection_established', null],
      ['metrics_update', LAST],
    ])
  })

  t.test(`${name}: since more than RESUME_MAX_EVENTS behind gets resume_unavailable too_old, then a snapshot`, async (t) => {
    for (const since of [LAST - MAX_REPLAY - 1, 0]) {
      const client = await connect(t, open, since)
      await client.inbox.waitFor((m) => m.type === 'metrics_update', 'the snapshot')
      t.same(shape(client.inbox.messages), [
        ['connection_established', null],
        ['resume_unavailable', null],
        ['metrics_update', LAST],
      ], `since=${since}: no replay`)
      t.same(client.inbox.ofType('resume_unavailable')[0]?.data, { since, lastEventSeq: LAST, reason: 'too_old' })
    }
  })

  t.test(`${name}: since ahead of the log gets resume_unavailable ahead_of_log, then a snapshot`, async (t) => {
    const client = await connect(t, open, LAST + 1)
    await client.inbox.waitFor((m) => m.type === 'metrics_update', 'the snapshot')
    t.same(shape(client.inbox.messages), [
      ['connection_established', null],
      ['resume_unavailable', null],
      ['metrics_update', LAST],
    ])
    t.same(client.inbox.ofType('resume_unavailable')[0]?.data, { since: LAST + 1, lastEventSeq: LAST, reason: 'ahead_of_log' })
  })
}

t.test('a malformed since is refused at the handshake: 400 invalid_since, or connect_error on Socket.IO', async (t) => {
  for (const since of ['abc', '-1', '1.5', '01', '99999999999']) {
    const plain = await PlainClient.connect(system.origin, schoolId, ownerA, 'header', { since }).then(
      (client) => {
        void client.close()
        return null
      },
      (error: { refusal?: HandshakeRefusal }) => error.refusal,
    )
    t.same({ status: plain?.status, code: plain?.body.code }, { status: 400, code: 'invalid_since' }, `plain WebSocket, since=${since}`)
    const sio = await SocketIoClient.connect(system.origin, schoolId, ownerA, 'websocket', { since }).then(
      (client) => {
        void client.close()
        return null
      },
      (error: Error & { data?: { status?: number; code?: string } }) => error,
    )
    t.same({ message: sio?.message, status: sio?.data?.status, code: sio?.data?.code }, { message: 'invalid_since', status: 400, code: 'invalid_since' }, `Socket.IO, since=${since}`)
  }
  for (const since of [-1, 1.5]) {
    const sio = await SocketIoClient.connect(system.origin, schoolId, ownerA, 'websocket', { since }).then(
      (client) => {
        void client.close()
        return null
      },
      (error: Error & { data?: { code?: string } }) => error,
    )
    t.equal(sio?.data?.code, 'invalid_since', `Socket.IO, since=${since} as a number`)
  }
})

t.test('a resumed connection goes on live: the next event arrives once, after the replay', async (t) => {
  const clients = await Promise.all(transports.map(([, open]) => connect(t, open, LAST - 2)))
  for (const client of clients) await client.inbox.waitFor((m) => m.type === 'metrics_update', 'the snapshot')
  await createInvitations(system, ownerA, schoolId, ['resume-live@example.com'], { concurrency: 1 })
  for (const client of clients) {
    await client.inbox.waitFor((m) => m.type === 'metrics_update' && m.seq === LAST + 1, `${client.kind}: the live event`)
    t.same(eventMessages(client.inbox), invitationEventStream(range(LAST - 1, LAST + 1)), `${client.kind}: replayed then live, each once`)
  }
})
