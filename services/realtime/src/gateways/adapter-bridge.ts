// Lets plain WebSocket connections ride the Socket.IO adapter, so one `io.to(room).emit()` reaches
// both transports on every instance, with no second publish path to keep in step.
//
// Why this shape:
// - The sharded Redis adapter in "dynamic" mode subscribes an instance to a room's channel only while
//   the room exists in its local `adapter.rooms`. A plain WebSocket is not a Socket.IO socket, so we
//   register it in the room under a pseudo id (`ws:<n>`) with `adapter.addAll`; the adapter then
//   subscribes (and unsubscribes after the last `delAll`) exactly as it does for Socket.IO sockets.
//   Pseudo ids are never in `nsp.sockets`, so Socket.IO's own delivery skips them.
// - Delivery to those members is hooked at the two places a broadcast lands on an instance, mirroring
//   socket.io-adapter's ClusterAdapter (2.5):
//   1. `adapter.broadcast(packet, opts)`: a broadcast that starts here. ClusterAdapter publishes it
//      (unless `flags.local`) and then delivers locally; in both cases the local members get it, so the
//      hook delivers whatever the flags say.
//   2. `adapter.onMessage(message)`: a broadcast from another instance. ClusterAdapter ignores its own
//      messages (same `uid`) and other namespaces, and hands a BROADCAST without `requestId` to the
//      in-memory `super.broadcast` (the prototype method, so hook 1 is not re-entered). Broadcasts with
//      acknowledgements (`requestId`) have no meaning for a plain WebSocket and are not bridged.
//   Both honour `opts.rooms` and `opts.except` the way the in-memory adapter's `apply()` does.
// - `createAdapter` factories are called with `new` by Socket.IO (`new (server.adapter())(nsp)`), so the
//   wrapper is a `function` returning the instance, never an arrow function.
import type { Namespace, ServerOptions } from 'socket.io'
import type { AnyEnvelope } from '@school/events'
import { PreparedMessage } from '../streams/prepared-message.js'

/** `MessageType.BROADCAST` of socket.io-adapter (a transitive dependency we do not import directly). */
const BROADCAST_MESSAGE = 3
/** socket.io-parser's `PacketType.EVENT`; `BINARY_EVENT` (5) is not something a dashboard receives. */
const EVENT_PACKET = 2

type Room = string
type SocketIoAdapter = Namespace['adapter']
type AdapterFactory = Extract<ServerOptions['adapter'], (...args: never[]) => unknown>

interface BroadcastOptionsLike {
  rooms: Set<Room>
  except?: Set<Room>
  flags?: { local?: boolean }
}

/** The parts of a ClusterAdapter message the bridge reads. */
interface ClusterMessageLike {
  uid?: string
  nsp?: string
  type?: number
  data?: { packet?: unknown; requestId?: unknown; opts?: { rooms?: Room[]; except?: Room[]; flags?: unknown } }
}

/** ClusterAdapter members that are `protected` in its typings but are the documented extension points. */
interface ClusterAdapterInternals {
  uid?: string
  onMessage?: (message: ClusterMessageLike, offset?: string) => void
}

export interface PlainMember {
  /** Receives the broadcast, serialized at most once per instance for all its members. */
  deliver(prepared: PreparedMessage): void
}

export interface PlainMembership {
  readonly id: string
  readonly room: Room
  /** Removes the pseudo id from every room; the adapter unsubscribes when a room empties. */
  leave(): void
}

interface BridgedEvent {
  event: string
  payload: object
}

/** Reads `[eventName, envelope]` out of a Socket.IO EVENT packet; null for anything else. */
function envelopeOf(packet: unknown): BridgedEvent | null {
  if (typeof packet !== 'object' || packet === null) return null
  const { type, data } = packet as { type?: unknown; data?: unknown }
  if (type !== EVENT_PACKET || !Array.isArray(data)) return null
  const [event, payload] = data as unknown[]
  if (typeof event !== 'string' || typeof payload !== 'object' || payload === null) return null
  return { event, payload }
}

export class AdapterBridge {
  readonly #members = new WeakMap<SocketIoAdapter, Map<string, PlainMember>>()

  /** Wraps an adapter factory (e.g. `createShardedAdapter(...)`) so its instances deliver to plain members too. */
  wrap(factory: AdapterFactory): AdapterFactory {
    const bridge = this
    // A `function`, not an arrow: Socket.IO calls the factory with `new`.
    return function bridgedAdapter(nsp: Namespace) {
      const adapter = (factory as (nsp: Namespace) => SocketIoAdapter)(nsp)
      bridge.#hook(adapter)
      return adapter
    } as unknown as AdapterFactory
  }

  /** Makes `id` a member of `room` in `adapter`, as a Socket.IO socket joining it would be. */
  join(adapter: SocketIoAdapter, id: string, room: Room, member: PlainMember): PlainMembership {
    const members = this.#members.get(adapter)
    if (!members) throw new Error('this adapter was not created through AdapterBridge.wrap()')
    members.set(id, member)
    void adapter.addAll(id, new Set([room]))
    return new Membership(adapter, members, id, room)
  }

  /** Pseudo ids currently registered on this adapter (for tests and diagnostics). */
  memberIds(adapter: SocketIoAdapter): string[] {
    return [...(this.#members.get(adapter)?.keys() ?? [])]
  }

  #hook(adapter: SocketIoAdapter): void {
    const members = new Map<string, PlainMember>()
    this.#members.set(adapter, members)

    const broadcast = adapter.broadcast
    adapter.broadcast = function bridgedBroadcast(this: SocketIoAdapter, packet: unknown, opts: BroadcastOptionsLike) {
      // Only data[0..1] are read; the original may append an offset (connection state recovery).
      const payload = envelopeOf(packet)
      const result = broadcast.call(this, packet, opts)
      if (payload) deliverLocally(adapter, members, payload, opts)
      return result
    } as SocketIoAdapter['broadcast']

    const cluster = adapter as unknown as ClusterAdapterInternals
    const onMessage = cluster.onMessage
    // The in-memory adapter has no remote broadcasts, so hook 1 sees them all. An adapter that is not a
    // ClusterAdapter (e.g. the classic, non-sharded Redis adapter with its own `onmessage`) would need its own hook.
    if (typeof onMessage !== 'function') return
    cluster.onMessage = function bridgedOnMessage(this: unknown, message: ClusterMessageLike, offset?: string) {
      const payload = isRemoteBroadcast(cluster, adapter, message) ? envelopeOf(message.data?.packet) : null
      onMessage.call(this, message, offset)
      if (payload) {
        const opts = message.data?.opts
        deliverLocally(adapter, members, payload, { rooms: new Set(opts?.rooms ?? []), except: new Set(opts?.except ?? []) })
      }
    }
  }
}

/** One per open connection: its methods live on the prototype. */
class Membership implements PlainMembership {
  constructor(
    private readonly adapter: SocketIoAdapter,
    private readonly members: Map<string, PlainMember>,
    readonly id: string,
    readonly room: Room,
  ) {}

  leave(): void {
    if (!this.members.delete(this.id)) return
    this.adapter.delAll(this.id)
  }
}

/** The same test ClusterAdapter.onMessage applies before a remote broadcast reaches local sockets. */
function isRemoteBroadcast(cluster: ClusterAdapterInternals, adapter: SocketIoAdapter, message: ClusterMessageLike): boolean {
  return (
    message.uid !== cluster.uid &&
    message.nsp === (adapter.nsp as Namespace).name &&
    message.type === BROADCAST_MESSAGE &&
    message.data?.requestId === undefined
  )
}

/** Delivers to the plain members matched by `opts`, with the in-memory adapter's `apply()` semantics. */
function deliverLocally(
  adapter: SocketIoAdapter,
  members: ReadonlyMap<string, PlainMember>,
  { event, payload }: BridgedEvent,
  opts: BroadcastOptionsLike,
): void {
  if (members.size === 0) return
  const excluded = new Set<string>()
  for (const room of opts.except ?? []) for (const id of adapter.rooms.get(room) ?? []) excluded.add(id)
  const targets = new Set<string>()
  if (opts.rooms.size > 0) {
    for (const room of opts.rooms) {
      for (const id of adapter.rooms.get(room) ?? []) if (members.has(id) && !excluded.has(id)) targets.add(id)
    }
  } else {
    for (const id of members.keys()) if (!excluded.has(id)) targets.add(id)
  }
  if (targets.size === 0) return
  const prepared = new PreparedMessage(payload as AnyEnvelope, event)
  for (const id of targets) members.get(id)?.deliver(prepared)
}
