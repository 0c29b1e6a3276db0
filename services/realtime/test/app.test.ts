import t from 'tap'
import { SERVICE_RESTART } from '../src/gateways/plain-websocket-gateway.js'
import { PlainClient, SocketIoClient } from '@school/test-support/clients'
import { createWorld } from './helper.js'

const world = await createWorld(t, 'rt_app')
const { fixture } = world

t.test('close() tells every client to reconnect and detaches from the room', async (t) => {
  const instance = await world.startInstance()
  const token = world.token(fixture.ownerA)
  const plain = await PlainClient.connect(instance.url, fixture.schoolA.id, token)
  const socketIo = await SocketIoClient.connect(instance.url, fixture.schoolA.id, token)
  world.defer(() => plain.close())
  world.defer(() => socketIo.close())
  await plain.inbox.next()
  await plain.inbox.next()
  await socketIo.inbox.next()
  await socketIo.inbox.next()

  const plainClosed = plain.closed()
  const socketIoGone = socketIo.disconnected()
  await instance.stop()
  t.same(await plainClosed, { code: SERVICE_RESTART, reason: 'service restart' }, 'plain WebSocket: 1012 service restart')
  // A transport close (not an "io server disconnect") is what makes Socket.IO clients reconnect by themselves.
  t.equal(await socketIoGone, 'transport close', 'Socket.IO: transport close')
  t.same(instance.realtime.bridge.memberIds(instance.realtime.io.of('/').adapter), [], 'no plain member left')
  t.notOk(instance.httpServer.listening, 'the http server is closed')
})

t.test('a closing instance refuses new plain WebSocket upgrades with 503', async (t) => {
  const instance = await world.startInstance({ worker: false })
  await instance.realtime.plain.close()
  const refused = await PlainClient.connect(instance.url, fixture.schoolA.id, world.token(fixture.ownerA)).then(
    () => null,
    (error: { refusal?: unknown }) => error.refusal,
  )
  t.match(refused, { status: 503, body: { code: 'service_unavailable', message: 'The service is restarting; reconnect shortly' } })
})
