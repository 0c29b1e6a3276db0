// Lets plain WebSocket connections ride the Socket.IO adapter, so one `io.to(room).emit()` reaches
// both transports on every instance, with no second publish path to keep in step.
//
// Why this shape:
// - The sharded Redis adapter in "dynamic" mode subscribes an instance to a room's channel only while
//   the room exists in its local `adapter.rooms`. A school's streams are not a Socket.IO socket, so they
//   are registered in the room under a pseudo id (`school:<id>`, streams/stream-registry.ts) with
//   `adapter.addAll`; the adapter then subscribes (and unsubscribes after the last `delAll`) exactly as it
//   does for Socket.IO sockets.
//   Pseudo ids are never in `nsp.sockets`, so Socket.IO's own delivery skips them.
// - Delivery to those members is hooked at the two places a broadcast lands on an instance: a broadcast
//   that starts here and one from another instance. Both hooks reach into socket.io-adapter's
//   ClusterAdapter, so they live with the other library internals in ../library-internals.ts, which
//   says what they rely on; here they only hand each broadcast to the members its rooms and exceptions
//   select, the way the in-memory adapter's `apply()` does.
// - `createAdapter` factories are called with `new` by Socket.IO (`new (server.adapter())(nsp)`), so the
//   wrapper is a `function` returning the instance, never an arrow function.
import type { Namespace, ServerOptions } from 'socket.io'
import type { AnyEnvelope } from '@school/events'
import { PreparedMessage } from '../streams/prepared-message.js'
import { hookAdapterBroadcasts, type AdapterBroadcast } from '../library-internals.js'

type Room = string
type SocketIoAdapter = Namespace['adapter']
type AdapterFactory = Extract<ServerOptions['adapter'], (...args: never[]) => unknown>

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
    hookAdapterBroadcasts(adapter, (broadcast) => deliverLocally(adapter, members, broadcast))
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

/** Delivers to the plain members matched by `opts`, with the in-memory adapter's `apply()` semantics. */
function deliverLocally(
  adapter: SocketIoAdapter,
  members: ReadonlyMap<string, PlainMember>,
  { event, payload, rooms, except }: AdapterBroadcast,
): void {
  if (members.size === 0) return
  const excluded = new Set<string>()
  for (const room of except ?? []) for (const id of adapter.rooms.get(room) ?? []) excluded.add(id)
  const targets = new Set<string>()
  if (rooms.size > 0) {
    for (const room of rooms) {
      for (const id of adapter.rooms.get(room) ?? []) if (members.has(id) && !excluded.has(id)) targets.add(id)
    }
  } else {
    for (const id of members.keys()) if (!excluded.has(id)) targets.add(id)
  }
  if (targets.size === 0) return
  const prepared = new PreparedMessage(payload as AnyEnvelope, event)
  for (const id of targets) members.get(id)?.deliver(prepared)
}
