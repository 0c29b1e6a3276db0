// Per-connection delivery on a real instance: resume after `since`, duplicates dropped, gaps filled from
// the log, lost broadcasts caught up by reconciliation, and stalled clients dropped with close 4008.
import t from 'tap'
import { advanceProjections, eventMessages, toDomainEvent } from '@school/dashboard'
import { envelope, type AnyEnvelope } from '@school/events'
import { PlainClient, SocketIoClient, type DashboardClient } from '@school/test-support/clients'
import { createWorld } from '../helper.js'

const world = await createWorld(t, 'rt_stream', { RECONCILE_INTERVAL_MS: '100', CLIENT_MAX_BUFFERED_BYTES: String(1024 * 1024), RESUME_MAX_EVENTS: '10' })
const { fixture } = world
// The worker is left out: the tests decide what gets broadcast, and when.
const instance = await world.startInstance({ worker: false })
const schoolA = fixture.schoolA.id
const ownerA = world.token(fixture.ownerA)

const track = async <C extends DashboardClient>(opening: Promise<C>): Promise<C> => {
  const client = await opening
  world.defer(() => client.close())
  return client
}
const plain = (since?: number) =>
  track(PlainClient.open(`${PlainClient.url(instance.url, schoolA, ownerA)}${since === undefined ? '' : `&since=${since}`}`))
const socketIo = (since?: number) =>
  track(SocketIoClient.open(SocketIoClient.socket(instance.url, { auth: { token: ownerA, schoolId: schoolA, ...(since === undefined ? {} : { since }) } })))

/** Appends an invitation to the log and applies it to the projection, without broadcasting anything. */
async function silentEvent(email: string) {
  const produced = await world.inviteSomeone(schoolA, email)
  await advanceProjections(world.prisma, [schoolA])
  const event = await world.prisma.domainEvent.findUniqueOrThrow({ where: { id: produced.eventId }, include: { actor: { select: { id: true, name: true } } } })
  return { ...produced, event }
}

/** What a client received after its welcome: [type, seq] pairs. */
const received = (client: DashboardClient) => client.inbox.messages.slice(1).map((m) => [m.type, m.seq ?? null])
const eventSeqs = (client: DashboardClient) => client.inbox.messages.filter((m) => m.type === 'activity_new').map((m) => m.seq)

t.test('resuming after `since` replays every missed event in order, then the counters, on both transports', async (t) => {
  const start = (await world.prisma.school.findUniqueOrThrow({ where: { id: schoolA } })).lastEventSeq
  const missed = [await silentEvent('r1@example.com'), await silentEvent('r2@example.com'), await silentEvent('r3@example.com')]
  for (const client of [await plain(start), await socketIo(start)]) {
    await client.inbox.waitFor((m) => m.type === 'metrics_update', `${client.kind}: the snapshot after the replay`)
    t.same(
      received(client),
      [...missed.flatMap(({ seq }) => [['invitation_status_update', seq], ['activity_new', seq]]), ['metrics_update', start + 3]],
      `${client.kind}: the three missed events, then metrics at their seq`,
    )
    t.match(client.inbox.messages.find((m) => m.type === 'activity_new'), { eventId: missed[0]!.eventId, data: { summary: 'Olivia Owner invited r1@example.com as teacher' } })
  }
})

t.test('since too far behind or ahead of the log: resume_unavailable, then a fresh snapshot', async (t) => {
  // RESUME_MAX_EVENTS is 10 here: make the log longer than that.
  while ((await world.prisma.school.findUniqueOrThrow({ where: { id: schoolA } })).lastEventSeq <= 10) await silentEvent(`filler-${Date.now()}@example.com`)
  const { lastEventSeq } = await world.prisma.school.findUniqueOrThrow({ where: { id: schoolA } })
  for (const [since, reason] of [[0, 'too_old'], [lastEventSeq + 5, 'ahead_of_log']] as const) {
    const client = await plain(since)
    const snapshot = await client.inbox.waitFor((m) => m.type === 'metrics_update', 'the snapshot')
    t.same(received(client), [['resume_unavailable', null], ['metrics_update', lastEventSeq]], `since ${since}: ${reason}`)
    t.same(client.inbox.messages[1]!.data, { since, lastEventSeq, reason })
    t.equal(snapshot.seq, lastEventSeq)
  }
})

t.test('a malformed since is refused at the handshake', async (t) => {
  const refusal = await PlainClient.open(`${PlainClient.url(instance.url, schoolA, ownerA)}&since=-1`).catch((error: { refusal: unknown }) => error.refusal)
  t.match(refusal, { status: 400, body: { code: 'invalid_since' } })
  const error = await SocketIoClient.open(SocketIoClient.socket(instance.url, { auth: { token: ownerA, schoolId: schoolA, since: 'abc' } })).catch((e: Error & { data?: unknown }) => e)
  t.match(error, { message: 'invalid_since', data: { status: 400, code: 'invalid_since' } })
})

t.test('a broadcast seen twice is delivered once; one that skips ahead is preceded by what it skipped', async (t) => {
  const clients = [await plain(), await socketIo()]
  for (const client of clients) await client.inbox.waitFor((m) => m.type === 'metrics_update', 'the snapshot')
  const first = await silentEvent('d1@example.com')
  const second = await silentEvent('d2@example.com')
  const third = await silentEvent('d3@example.com')
  const publish = (messages: AnyEnvelope[]) => instance.realtime.broadcaster.publish(schoolA, messages)
  publish(eventMessages(toDomainEvent(first.event)))
  publish(eventMessages(toDomainEvent(first.event)))
  // The second event's broadcast is lost; the third's arrives.
  publish(eventMessages(toDomainEvent(third.event)))
  for (const client of clients) {
    await client.inbox.waitFor((m) => m.type === 'activity_new' && m.seq === third.seq, `${client.kind}: the third event`)
    t.same(eventSeqs(client), [first.seq, second.seq, third.seq], `${client.kind}: each once, in order, the lost one filled in from the log`)
    t.equal(client.inbox.messages.filter((m) => m.type === 'invitation_status_update').length, 3)
  }
})

t.test('a presence list no newer than one already sent is not sent (two instances may publish in either order, or both after one change)', async (t) => {
  const clients = [await plain(), await socketIo()]
  for (const client of clients) await client.inbox.waitFor((m) => m.type === 'presence_update', 'the first presence list')
  const watchers = [{ id: fixture.ownerA.id, name: 'Olivia Owner', role: 'school_owner' as const, connections: 2 }]
  const list = (version: number) => envelope('presence_update', { schoolId: schoolA, watchers, version })
  // Far above the versions this school's real changes have taken so far.
  for (const version of [1_000_010, 1_000_005, 1_000_010, 1_000_011]) instance.realtime.broadcaster.publish(schoolA, [list(version)])
  for (const client of clients) {
    await client.inbox.waitFor((m) => m.type === 'presence_update' && m.data.version === 1_000_011, `${client.kind}: the newest list`)
    t.same(
      client.inbox.presence.map((m) => m.data.version).filter((version) => version >= 1_000_000),
      [1_000_010, 1_000_011],
      `${client.kind}: the older list and the same version again were dropped`,
    )
  }
})

t.test('a connection whose broadcast never came is caught up by reconciliation', async (t) => {
  const client = await plain()
  await client.inbox.waitFor((m) => m.type === 'metrics_update', 'the snapshot')
  const lost = await silentEvent('lost@example.com')
  const caughtUp = await client.inbox.waitFor((m) => m.type === 'metrics_update' && m.seq === lost.seq, 'the counters after the lost event')
  t.same(received(client).slice(1), [['invitation_status_update', lost.seq], ['activity_new', lost.seq], ['metrics_update', lost.seq]])
  t.equal((caughtUp.data as { pendingInvitations: number }).pendingInvitations, await world.prisma.invitation.count({ where: { schoolId: schoolA, status: 'pending' } }))
})

t.test('a client that stops reading is dropped once its queue passes the limit; others are unaffected', async (t) => {
  const stalled = await plain()
  const healthy = await plain()
  for (const client of [stalled, healthy]) await client.inbox.waitFor((m) => m.type === 'metrics_update', 'the snapshot')
  const streams = instance.realtime.streams
  const before = streams.size
  const underlying = (stalled.socket as unknown as { _socket: { pause(): void; resume(): void } })._socket
  underlying.pause()
  const closed = stalled.closed()
  const filler = 'x'.repeat(16 * 1024)
  let sent = 0
  // Broadcast until the server gives up on the stalled client: the kernel's socket buffers fill first,
  // then the server's own queue passes CLIENT_MAX_BUFFERED_BYTES (1 MiB here). The pacing lets the
  // healthy client drain, so only a client that does not read at all can fall that far behind.
  while (streams.size === before && sent < 5_000) {
    instance.realtime.broadcaster.publish(schoolA, [envelope('pong', { filler, n: sent++ })])
    if (sent % 4 === 0) await new Promise((resolve) => setImmediate(resolve))
  }
  t.equal(streams.size, before - 1, `the stalled stream was dropped after ${sent} broadcasts of 16 KiB`)
  underlying.resume()
  // The 4008 close frame is queued behind everything the client did not read; the server cuts the
  // socket after a grace second, so the client sees 4008 or, if the frame never got through, 1006.
  const { code } = await closed
  t.ok(code === 4008 || code === 1006, `stalled client closed with ${code}`)
  healthy.ping('still here')
  await healthy.inbox.waitFor((m) => m.type === 'pong' && m.data === 'still here', 'the healthy client answering')
  t.equal(healthy.inbox.messages.filter((m) => m.type === 'pong').length, sent + 1, 'the healthy client got every broadcast')
})
