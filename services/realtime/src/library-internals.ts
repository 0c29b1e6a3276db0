// The one place this service reaches past the public API of Socket.IO, its adapter, engine.io and ws. It
// is worth it for fanout: a school's broadcast is encoded once per instance and the same string and bytes
// are written to every connection (as socket.io-adapter's own room broadcasts do), instead of once per
// socket; and plain WebSocket connections ride the Socket.IO adapter. Nothing else in src/ touches these
// members; test/library-internals.test.ts names each one and fails, naming the member and the installed
// version, when an upgrade changes it.
//
// Relied on, by package (each pinned to an exact version in services/realtime/package.json, and ws in every
// workspace that declares it, so that an upgrade is a decision taken with the contract test, never a
// side effect of `npm install`; package.json cannot say so itself):
//
// - socket.io 4.8.4
//   `socket.client.writeToEngine(packet, options)` (undeclared in the docs; socket.io-adapter's broadcast
//   uses it): writes a packet already encoded. Without it: `socket.emit`, one encode per socket.
// - engine.io 6.6.12 (socket.io's transport; declared only to pin it)
//   `conn.write(packet, { wsPreEncodedFrame })` option: the whole WebSocket frame is built once and sent as
//   is. Without it engine.io frames each packet itself (correct, slower).
//   `conn.writeBuffer` (private) and `conn.transport.socket` (private; the ws WebSocket, for its public
//   `bufferedAmount`): what a client has not taken yet, for the slow-consumer drop.
// - ws 8.23.0
//   `Sender.frame(data, options)` (exported at run time, undeclared by @types/ws): builds that frame. It is
//   our ws (the plain gateway's), not the copy engine.io and socket.io-adapter bring (~8.21): a frame is
//   RFC 6455 bytes whichever copy builds it, and the contract test checks that engine.io sends it as is.
// - socket.io-adapter 2.5.8, through @socket.io/redis-adapter 8.3.0 (whose ShardedRedisAdapter, a
//   ClusterAdapter, is not exported: it cannot be subclassed, so its instance is hooked)
//   `adapter.broadcast(packet, opts)` (public; replaced on the instance): broadcasts that start here.
//   `onMessage(message, offset)` and `uid` (protected: the members ClusterAdapter's subclasses override and
//   read): broadcasts from other instances. `MessageType.BROADCAST` (exported) and the ClusterMessage layout
//   (exported type). And a behaviour: ClusterAdapter hands a remote broadcast to local sockets through the
//   prototype's `broadcast` (`super.broadcast`), so the instance's replacement is not entered twice.
// - socket.io-parser 4.2.7
//   `PacketType.EVENT` (exported) and the EVENT packet text of the main namespace, `2["<event>",<data>]`
//   (Socket.IO protocol 5), which prepared messages write without the encoder.
//
// When a member the fast path needs is missing (checked at startup, and on the first Socket.IO connection
// for the members only an instance has), delivery falls back to `socket.emit` and says so once in the log.
// The adapter hooks have no public alternative: without them plain WebSocket and Socket.IO dashboards would
// miss broadcasts, so the service refuses to start, naming the member.
import { createRequire } from 'node:module'
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import type { Logger } from 'pino'
import type { Namespace, Socket } from 'socket.io'
import { ClusterAdapter, MessageType, type BroadcastOptions, type ClusterMessage } from 'socket.io-adapter'
import { PacketType } from 'socket.io-parser'
import * as ws from 'ws'

/** The packages whose internals are relied on, with the exact versions the seam was checked against. */
export const PINNED_VERSIONS = {
  'socket.io': '4.8.4',
  'engine.io': '6.6.12',
  ws: '8.23.0',
  'socket.io-adapter': '2.5.8',
  '@socket.io/redis-adapter': '8.3.0',
  'socket.io-parser': '4.2.7',
} as const
export type InternalsPackage = keyof typeof PINNED_VERSIONS

/** A member the seam relies on that the installed package does not provide as expected. */
export interface InternalsBreak {
  package: InternalsPackage
  /** The installed version (see installedVersions). */
  version: string
  member: string
  problem: string
}

export function describeBreak(broken: InternalsBreak): string {
  return (
    `${broken.package} ${broken.version} (checked against ${PINNED_VERSIONS[broken.package]}): ${broken.member} ${broken.problem}; ` +
    'see library-internals.ts and "Upgrading Socket.IO and ws" in docs/ARCHITECTURE.md'
  )
}

const require = createRequire(import.meta.url)

/** The version of `name` as `from` resolves it (read by walking up from its entry point: not every package exports its package.json). */
function versionOf(name: string, from: string): string {
  let dir = dirname(createRequire(from).resolve(name))
  for (;;) {
    const file = join(dir, 'package.json')
    if (existsSync(file)) {
      const json = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string }
      if (json.name === name) return json.version ?? 'unknown'
    }
    const parent = dirname(dir)
    if (parent === dir) return 'unknown'
    dir = parent
  }
}

/**
 * Installed versions of the copies the service runs: engine.io and socket.io-parser as socket.io resolves
 * them, socket.io-adapter as the Redis adapter does (its ClusterAdapter is the one hooked).
 */
export function installedVersions(): Record<InternalsPackage, string> {
  const socketIo = require.resolve('socket.io')
  const redisAdapter = require.resolve('@socket.io/redis-adapter')
  return {
    'socket.io': versionOf('socket.io', import.meta.url),
    'engine.io': versionOf('engine.io', socketIo),
    ws: versionOf('ws', import.meta.url),
    'socket.io-adapter': versionOf('socket.io-adapter', redisAdapter),
    '@socket.io/redis-adapter': versionOf('@socket.io/redis-adapter', import.meta.url),
    'socket.io-parser': versionOf('socket.io-parser', socketIo),
  }
}

function breakOf(pkg: InternalsPackage, member: string, problem: string): InternalsBreak {
  return { package: pkg, version: installedVersions()[pkg], member, problem }
}

// --- ws: the WebSocket frame ----------------------------------------------------------------------------

type FrameBuilder = (data: Buffer, options: { readOnly: boolean; mask: boolean; rsv1: boolean; opcode: number; fin: boolean }) => Buffer[]
const wsSender = (ws as unknown as { Sender?: { frame?: unknown } }).Sender
const frameBuilder = typeof wsSender?.frame === 'function' ? (wsSender.frame as FrameBuilder) : undefined
/** WebSocket text frame (RFC 6455). */
const TEXT_OPCODE = 1

/** One final, unmasked text frame carrying `data`, as a server sends it; built by ws, sent as is by engine.io. */
export function textFrame(data: Buffer): Buffer[] {
  if (!frameBuilder) throw new Error(describeBreak(breakOf('ws', 'Sender.frame', 'is not a function')))
  return frameBuilder(data, { readOnly: false, mask: false, rsv1: false, opcode: TEXT_OPCODE, fin: true })
}

// --- socket.io-parser and engine.io: the packet text -----------------------------------------------------

/** Engine.IO's `message` packet type, which prefixes every Socket.IO packet on the wire (Engine.IO protocol 4). */
export const ENGINE_IO_MESSAGE = '4'

/** Socket.IO's EVENT packet for the main namespace, no ack id: exactly what socket.io-parser encodes. */
export function socketIoEventPacket(event: string, json: string): string {
  return `${PacketType.EVENT}[${JSON.stringify(event)},${json}]`
}

// --- socket.io-adapter: broadcasts reaching this instance -----------------------------------------------

type Room = string
type SocketIoAdapter = Namespace['adapter']

/** A broadcast of `[event, payload]` that reached this instance, and which rooms it is for. */
export interface AdapterBroadcast {
  event: string
  payload: object
  rooms: ReadonlySet<Room>
  except: ReadonlySet<Room> | undefined
}

/** ClusterAdapter's protected members, read and replaced on the instance. */
interface ClusterAdapterInternals {
  uid?: string
  onMessage?: (message: ClusterMessage, offset?: string) => void
}

/** Reads `[event, payload]` out of a Socket.IO EVENT packet; null for anything else (binary events among them). */
function eventOf(packet: unknown): { event: string; payload: object } | null {
  if (typeof packet !== 'object' || packet === null) return null
  const { type, data } = packet as { type?: unknown; data?: unknown }
  if (type !== PacketType.EVENT || !Array.isArray(data)) return null
  const [event, payload] = data as unknown[]
  if (typeof event !== 'string' || typeof payload !== 'object' || payload === null) return null
  return { event, payload }
}

/** The static part of the adapter contract: what must hold before an adapter is hooked. */
export function adapterBreaks(): InternalsBreak[] {
  const breaks: InternalsBreak[] = []
  if (typeof MessageType?.BROADCAST !== 'number') breaks.push(breakOf('socket.io-adapter', 'MessageType.BROADCAST', 'is not a number'))
  if (typeof (ClusterAdapter?.prototype as unknown as ClusterAdapterInternals | undefined)?.onMessage !== 'function') {
    breaks.push(breakOf('socket.io-adapter', 'ClusterAdapter#onMessage', 'is not a method'))
  }
  if (typeof ClusterAdapter?.prototype?.broadcast !== 'function') breaks.push(breakOf('socket.io-adapter', 'ClusterAdapter#broadcast', 'is not a method'))
  if (typeof PacketType?.EVENT !== 'number') breaks.push(breakOf('socket.io-parser', 'PacketType.EVENT', 'is not a number'))
  return breaks
}

/**
 * Calls `onBroadcast` for every EVENT broadcast that reaches `adapter`'s local members, after the adapter has
 * handled it: those started here (`broadcast`, whatever its flags: published or not, local members get it) and
 * those from other instances (ClusterAdapter's `onMessage`: not its own, same namespace, BROADCAST without
 * `requestId`; broadcasts awaiting acknowledgements are not bridged). The in-memory adapter has no remote
 * broadcasts, so `broadcast` sees them all. Throws, naming the member, when the adapter contract is broken.
 */
export function hookAdapterBroadcasts(adapter: SocketIoAdapter, onBroadcast: (broadcast: AdapterBroadcast) => void): void {
  const breaks = adapterBreaks()
  const cluster = adapter as unknown as ClusterAdapterInternals
  if (adapter instanceof ClusterAdapter && typeof cluster.uid !== 'string') breaks.push(breakOf('socket.io-adapter', 'ClusterAdapter#uid', 'is not a string'))
  if (breaks.length > 0) throw new Error(`the adapter bridge cannot hook broadcasts: ${breaks.map(describeBreak).join('; ')}`)

  const broadcast = adapter.broadcast
  adapter.broadcast = function bridgedBroadcast(this: SocketIoAdapter, packet: unknown, opts: BroadcastOptions) {
    // Only data[0..1] are read; the original may append an offset (connection state recovery).
    const event = eventOf(packet)
    const result = broadcast.call(this, packet, opts)
    if (event) onBroadcast({ ...event, rooms: opts.rooms, except: opts.except })
    return result
  } as SocketIoAdapter['broadcast']

  // An adapter that is not a ClusterAdapter (the in-memory one) has no remote broadcasts.
  if (!(adapter instanceof ClusterAdapter)) return
  const onMessage = cluster.onMessage!
  const nsp = adapter.nsp as Namespace
  cluster.onMessage = function bridgedOnMessage(this: unknown, message: ClusterMessage, offset?: string) {
    const remote = message.uid !== cluster.uid && message.nsp === nsp.name && message.type === MessageType.BROADCAST
    const data = remote ? (message.data as { packet?: unknown; requestId?: unknown; opts?: { rooms?: Room[]; except?: Room[] } }) : undefined
    const event = data && data.requestId === undefined ? eventOf(data.packet) : null
    onMessage.call(this, message, offset)
    if (event) onBroadcast({ ...event, rooms: new Set(data?.opts?.rooms ?? []), except: new Set(data?.opts?.except ?? []) })
  }
}

// --- socket.io and engine.io: writing a pre-encoded packet, and what a client has not taken yet ----------

/** The pre-encoded forms of one broadcast (streams/prepared-message.ts), shared by every socket. */
export interface PreEncoded {
  /** The Socket.IO packet text. */
  readonly socketIoPacket: string
  /** The WebSocket frame carrying the Engine.IO message packet of that text. */
  readonly socketIoFrame: Buffer[]
}

/** socket.io's Client writer and engine.io's Socket members, as read on a connection. */
interface EngineInternals {
  client: { writeToEngine?: (packet: string, options: { wsPreEncodedFrame?: Buffer[] }) => void }
  conn: { writeBuffer?: Array<{ data?: unknown }>; transport?: { name?: string; socket?: { bufferedAmount?: number } } }
}

function engineOf(socket: Socket): EngineInternals {
  return socket as unknown as EngineInternals
}

/** The members only a live connection has; checked once, on the first connection. */
export function connectionBreaks(socket: Socket): InternalsBreak[] {
  const { client, conn } = engineOf(socket)
  const breaks: InternalsBreak[] = []
  if (typeof client.writeToEngine !== 'function') breaks.push(breakOf('socket.io', 'Client#writeToEngine', 'is not a method'))
  if (!Array.isArray(conn.writeBuffer)) breaks.push(breakOf('engine.io', 'Socket#writeBuffer', 'is not an array'))
  if (typeof conn.transport?.name !== 'string') breaks.push(breakOf('engine.io', 'Socket#transport.name', 'is not a string'))
  else if (conn.transport.name === 'websocket' && typeof conn.transport.socket?.bufferedAmount !== 'number') {
    breaks.push(breakOf('engine.io', 'WebSocket transport#socket.bufferedAmount', 'is not a number'))
  }
  return breaks
}

/** What the fast path needs before any connection exists. */
export function startupBreaks(): InternalsBreak[] {
  const breaks: InternalsBreak[] = []
  if (!frameBuilder) breaks.push(breakOf('ws', 'Sender.frame', 'is not a function'))
  if (typeof PacketType?.EVENT !== 'number') breaks.push(breakOf('socket.io-parser', 'PacketType.EVENT', 'is not a number'))
  return breaks
}

/** How broadcasts are written to Socket.IO clients, and how much each has not taken yet. */
export interface SocketIoDelivery {
  /** True while broadcasts go out pre-encoded; false once a missing member sent them to `socket.emit`. */
  readonly fast: boolean
  /**
   * Writes the pre-encoded broadcast: the packet (and, over WebSocket, the frame) shared by every socket.
   * Returns false when the fast path is off: the caller emits it through the public API.
   */
  writePrepared(socket: Socket, prepared: PreEncoded): boolean
  /** Bytes engine.io holds for the client: packets not yet flushed, plus what its WebSocket has queued. */
  queuedBytes(socket: Socket): number
  /** The switch: from now on broadcasts go out through `socket.emit`; the first call logs `breaks` (once). */
  fallBack(breaks: InternalsBreak[]): void
}

/**
 * The delivery of this instance: the fast path unless `breaks` (by default the startup check) says a member
 * is missing; the first connection's check may still turn it off. Either is logged once, at warn.
 */
export function createSocketIoDelivery(logger: Logger, breaks: InternalsBreak[] = startupBreaks()): SocketIoDelivery {
  let fast = true
  let checkedConnection = false
  const fallBack = (found: InternalsBreak[]) => {
    if (!fast) return
    fast = false
    logger.warn(
      { internals: found.map(describeBreak) },
      'Socket.IO internals changed: broadcasts go out through socket.emit (encoded once per socket) until the seam is updated',
    )
  }
  if (breaks.length > 0) fallBack(breaks)
  return {
    get fast() {
      return fast
    },
    writePrepared(socket, prepared) {
      if (!checkedConnection && fast) {
        checkedConnection = true
        const found = connectionBreaks(socket)
        if (found.length > 0) fallBack(found)
      }
      if (!fast) return false
      if (!socket.connected) return true
      const { client, conn } = engineOf(socket)
      const overWebSocket = conn.transport?.name === 'websocket'
      client.writeToEngine!(prepared.socketIoPacket, overWebSocket ? { wsPreEncodedFrame: prepared.socketIoFrame } : {})
      return true
    },
    queuedBytes(socket) {
      const { conn } = engineOf(socket)
      let bytes = conn.transport?.socket?.bufferedAmount ?? 0
      for (const packet of conn.writeBuffer ?? []) bytes += typeof packet.data === 'string' ? packet.data.length : 0
      return bytes
    },
    fallBack,
  }
}
