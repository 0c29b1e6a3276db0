// The contract of src/library-internals.ts with the libraries it reaches into: every member it relies on,
// checked on the installed versions and on live objects (a Socket.IO server and client, a sharded Redis
// adapter). A failure names the member, the package and its version: see "Upgrading Socket.IO and ws" in
// docs/ARCHITECTURE.md.
import t from 'tap'
import type { Test } from 'tap'
import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Writable } from 'node:stream'
import { pino } from 'pino'
import { Redis } from 'ioredis'
import { Server, type Namespace, type Socket as ServerSocket } from 'socket.io'
import { ClusterAdapter, MessageType, type ClusterMessage } from 'socket.io-adapter'
import { createShardedAdapter } from '@socket.io/redis-adapter'
import { io as connectClient, type Socket as ClientSocket } from 'socket.io-client'
import { envelope } from '@school/events'
import { TEST_REDIS_URL, uniqueRedisPrefix } from '@school/test-support'
import {
  adapterBreaks,
  connectionBreaks,
  createSocketIoDelivery,
  describeBreak,
  ENGINE_IO_MESSAGE,
  hookAdapterBroadcasts,
  installedVersions,
  PINNED_VERSIONS,
  socketIoEventPacket,
  startupBreaks,
  textFrame,
  type AdapterBroadcast,
  type InternalsBreak,
} from '../src/library-internals.js'
import { PreparedMessage } from '../src/streams/prepared-message.js'

/** The next `event` the client receives, as its arguments. */
const nextEvent = (client: ClientSocket, event: string) => new Promise<unknown[]>((resolve) => client.once(event, (...args: unknown[]) => resolve(args)))

const listed = (breaks: InternalsBreak[]) => breaks.map(describeBreak).join('\n') || 'none'

t.test('each package the seam relies on is declared at the exact version it was checked against, and installed at it', async (t) => {
  const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { dependencies: Record<string, string> }
  const installed = installedVersions()
  for (const [name, pinned] of Object.entries(PINNED_VERSIONS)) {
    t.equal(manifest.dependencies[name], pinned, `${name}: services/realtime/package.json must pin ${pinned} exactly (no range): the seam relies on its internals`)
    t.equal(installed[name as keyof typeof PINNED_VERSIONS], pinned, `${name}: ${installed[name as keyof typeof PINNED_VERSIONS]} is installed where the seam was checked against ${pinned}`)
  }
})

t.test('ws: Sender.frame builds the one final unmasked text frame engine.io sends as is', async (t) => {
  t.same(startupBreaks(), [], `startup check (ws Sender.frame, socket.io-parser PacketType.EVENT): ${listed(startupBreaks())}`)
  const frame = Buffer.concat(textFrame(Buffer.from('4hello')))
  t.same([...frame.subarray(0, 2)], [0x81, 6], `ws ${installedVersions().ws} Sender.frame: FIN + text opcode, unmasked, length 6`)
  t.equal(frame.subarray(2).toString(), '4hello')
})

t.test('socket.io-adapter: MessageType.BROADCAST, ClusterAdapter#onMessage and #broadcast are there', async (t) => {
  t.same(adapterBreaks(), [], listed(adapterBreaks()))
})

t.test('socket.io-adapter via @socket.io/redis-adapter: the sharded adapter is a ClusterAdapter, and a remote broadcast reaches the hook once', async (t) => {
  const pub = new Redis(TEST_REDIS_URL)
  const sub = new Redis(TEST_REDIS_URL)
  const io = new Server({ adapter: createShardedAdapter(pub, sub, { channelPrefix: uniqueRedisPrefix('internals'), subscriptionMode: 'dynamic' }) })
  // Not attached to an HTTP server: nothing to close but the adapter's subscriptions and the connections.
  t.teardown(async () => {
    await io.of('/').adapter.close()
    // QUIT is answered after the adapter's SUNSUBSCRIBE: nothing is cut off in flight.
    await Promise.all([pub.quit(), sub.quit()])
  })
  const versions = `@socket.io/redis-adapter ${installedVersions()['@socket.io/redis-adapter']}, socket.io-adapter ${installedVersions()['socket.io-adapter']}`
  const adapter = io.of('/').adapter
  t.ok(adapter instanceof ClusterAdapter, `${versions}: the sharded adapter must extend the ClusterAdapter this module imports (one copy of socket.io-adapter)`)
  t.type((adapter as unknown as { uid?: unknown }).uid, 'string', `${versions}: ClusterAdapter#uid must be a string`)

  const seen: AdapterBroadcast[] = []
  hookAdapterBroadcasts(adapter, (broadcast) => seen.push(broadcast))
  const packet = { type: 2, nsp: '/', data: ['presence_update', { type: 'presence_update' }] }
  const message = { uid: 'another-instance', nsp: '/', type: MessageType.BROADCAST, data: { packet, opts: { rooms: ['school:1'], except: [] } } }
  ;(adapter as unknown as { onMessage(message: ClusterMessage): void }).onMessage(message as unknown as ClusterMessage)
  t.same(
    seen.map(({ event, rooms }) => ({ event, rooms: [...rooms] })),
    [{ event: 'presence_update', rooms: ['school:1'] }],
    `${versions}: ClusterAdapter#onMessage must hand a remote BROADCAST to local sockets through the prototype's broadcast (super.broadcast), so the hook sees it once`,
  )
  seen.length = 0
  ;(adapter as unknown as { onMessage(message: ClusterMessage): void }).onMessage({ ...message, uid: (adapter as unknown as { uid: string }).uid } as unknown as ClusterMessage)
  t.same(seen, [], `${versions}: ClusterAdapter#onMessage ignores the instance's own messages (uid)`)
})

/** A Socket.IO server on port 0 with one connected client over `transport`. */
async function connected(t: Test, transport: 'websocket' | 'polling'): Promise<{ server: ServerSocket; client: ClientSocket; nsp: Namespace }> {
  const httpServer = createServer()
  const io = new Server(httpServer, { transports: ['polling', 'websocket'] })
  httpServer.listen(0, '127.0.0.1')
  await once(httpServer, 'listening')
  const { port } = httpServer.address() as AddressInfo
  const accepted = once(io, 'connection') as Promise<[ServerSocket]>
  const client = connectClient(`http://127.0.0.1:${port}`, { transports: [transport], reconnection: false, forceNew: true })
  t.teardown(async () => {
    client.close()
    await io.close()
  })
  const [server] = await accepted
  if (!client.connected) await new Promise((resolve) => client.once('connect', () => resolve(undefined)))
  return { server, client, nsp: io.of('/') }
}

for (const transport of ['websocket', 'polling'] as const) {
  t.test(`socket.io and engine.io over ${transport}: the members a connection must have, and a pre-encoded broadcast arrives as emitted`, async (t) => {
    const { server, client } = await connected(t, transport)
    const versions = `socket.io ${installedVersions()['socket.io']}, engine.io ${installedVersions()['engine.io']}`
    t.same(connectionBreaks(server), [], `${versions}: ${listed(connectionBreaks(server))}`)
    const delivery = createSocketIoDelivery(pino({ level: 'silent' }), [])
    const message = envelope('presence_update', { schoolId: 1, version: 3, watchers: [] })
    const received = nextEvent(client, 'presence_update')
    t.equal(delivery.writePrepared(server, new PreparedMessage(message)), true, 'written through Client#writeToEngine')
    t.same(await received, [message], `${versions}: the client decodes the pre-encoded packet as the emitted event`)
    t.equal(delivery.fast, true)
    t.type(delivery.queuedBytes(server), 'number')
  })
}

t.test('engine.io: the wsPreEncodedFrame write option is what goes on the wire over WebSocket', async (t) => {
  const { server, client } = await connected(t, 'websocket')
  const sent = envelope('presence_update', { schoolId: 1, version: 1, watchers: [] })
  const framed = envelope('presence_update', { schoolId: 1, version: 2, watchers: [] })
  const received = nextEvent(client, 'presence_update')
  // The packet says version 1, the frame version 2: the client must see the frame's.
  const writer = (server as unknown as { client: { writeToEngine(packet: string, options: object): void } }).client
  writer.writeToEngine(socketIoEventPacket('presence_update', JSON.stringify(sent)), {
    wsPreEncodedFrame: textFrame(Buffer.from(ENGINE_IO_MESSAGE + socketIoEventPacket('presence_update', JSON.stringify(framed)))),
  })
  t.same(await received, [framed], `engine.io ${installedVersions()['engine.io']}: conn.write(packet, { wsPreEncodedFrame }) must send the frame as is`)
})

t.test('falls back to socket.emit when the contract is broken at startup, and says so once', async (t) => {
  const lines: Array<{ level: number; msg: string; internals?: string[] }> = []
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()) as (typeof lines)[number])
      done()
    },
  })
  const broken: InternalsBreak = { package: 'socket.io', version: '4.9.0', member: 'Client#writeToEngine', problem: 'is not a method' }
  const delivery = createSocketIoDelivery(pino({ level: 'info' }, sink), [broken])
  t.equal(delivery.fast, false)
  const { server, client } = await connected(t, 'websocket')
  t.equal(delivery.writePrepared(server, new PreparedMessage(envelope('presence_update', { schoolId: 1, version: 1, watchers: [] }))), false, 'the caller is told to emit')
  delivery.writePrepared(server, new PreparedMessage(envelope('presence_update', { schoolId: 1, version: 2, watchers: [] })))
  t.same(
    lines.map(({ level, msg, internals }) => ({ level, msg, internals })),
    [
      {
        level: 40,
        msg: 'Socket.IO internals changed: broadcasts go out through socket.emit (encoded once per socket) until the seam is updated',
        internals: [describeBreak(broken)],
      },
    ],
    'one warning, naming the member and the version',
  )
  t.match(describeBreak(broken), /^socket\.io 4\.9\.0 \(checked against 4\.8\.4\): Client#writeToEngine is not a method/)
  void client
})

t.test('a connection without the members turns the fast path off once, and the adapter hook refuses a broken adapter', async (t) => {
  const lines: Array<{ msg: string; internals?: string[] }> = []
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()) as (typeof lines)[number])
      done()
    },
  })
  const delivery = createSocketIoDelivery(pino({ level: 'info' }, sink), [])
  const { server } = await connected(t, 'websocket')
  // As if an upgrade had renamed the writer.
  Object.defineProperty((server as unknown as { client: object }).client, 'writeToEngine', { value: undefined })
  t.equal(delivery.writePrepared(server, new PreparedMessage(envelope('presence_update', { schoolId: 1, version: 1, watchers: [] }))), false)
  t.equal(delivery.fast, false)
  t.equal(lines.length, 1)
  t.match(lines[0]?.internals?.[0], /^socket\.io \S+ \(checked against 4\.8\.4\): Client#writeToEngine is not a method/)

  // The in-memory adapter of a Server not attached to anything (nothing to close).
  const adapter = new Server().of('/').adapter
  const original = MessageType.BROADCAST
  ;(MessageType as unknown as Record<string, unknown>).BROADCAST = undefined
  try {
    t.throws(() => hookAdapterBroadcasts(adapter, () => {}), /socket\.io-adapter \S+ \(checked against 2\.5\.8\): MessageType\.BROADCAST is not a number/)
  } finally {
    ;(MessageType as unknown as Record<string, unknown>).BROADCAST = original
  }
})
