import t from 'tap'
import { SocketIoClient } from '@school/test-support/clients'
import { createWorld } from '../helper.js'

// The public path of Socket.IO delivery: what every broadcast takes when library-internals.ts finds a member
// of the fast path missing (here switched on by hand, as the startup or first-connection check would).
const world = await createWorld(t, 'rt_sio_fallback')
const { fixture } = world
const instance = await world.startInstance({ worker: true })

t.test('with the fast path off, Socket.IO dashboards receive every broadcast through socket.emit, once and in order', async (t) => {
  const delivery = instance.realtime.socketIoDelivery
  t.equal(delivery.fast, true, 'the installed libraries pass the startup check')
  delivery.fallBack([{ package: 'socket.io', version: 'test', member: 'Client#writeToEngine', problem: 'is not a method (simulated)' }])
  t.equal(delivery.fast, false)

  // socket.emit notifies the outgoing listeners; a pre-encoded write does not.
  const emitted: string[] = []
  instance.realtime.io.on('connection', (socket) => socket.onAnyOutgoing((event: string) => emitted.push(event)))

  const token = world.token(fixture.ownerA)
  const clients: SocketIoClient[] = []
  for (const transport of ['websocket', 'polling'] as const) {
    const client = await SocketIoClient.connect(instance.url, fixture.schoolA.id, token, transport)
    world.defer(() => client.close())
    await client.inbox.next('connection_established')
    await client.inbox.next('the metrics snapshot')
    clients.push(client)
  }

  const produced = []
  for (let i = 1; i <= 3; i++) produced.push(await world.inviteSomeone(fixture.schoolA.id, `fallback${i}@example.com`))
  const last = produced.at(-1)!
  const expected = produced.flatMap(({ eventId, seq }) => ['invitation_status_update', 'activity_new'].map((type) => ({ type, eventId, seq })))
  for (const client of clients) {
    await client.inbox.waitFor((m) => m.type === 'metrics_update' && m.seq === last.seq, `${client.kind}: the last metrics_update`)
    const events = client.inbox
      .broadcasts()
      .filter((m) => m.type === 'invitation_status_update' || m.type === 'activity_new')
      .map(({ type, eventId, seq }) => ({ type, eventId, seq }))
    t.same(events, expected, `${client.kind}: every event message, in order, once`)
    t.same(client.mismatched, [], `${client.kind}: each event named after its envelope's type`)
  }
  t.equal(emitted.filter((event) => event === 'activity_new').length, 3 * clients.length, 'each activity_new went out through socket.emit')
})
