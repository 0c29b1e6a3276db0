// One accepted dashboard connection, whatever its transport, and the lifecycle both gateways share: its
// stream, its membership of the school's room, the guards that may end it (token expiry, lost access,
// message budget), presence, and the logs. A transport supplies how to send, how full its buffer is and
// how to close; everything else is here, once.
//
// An instance is an object with its methods on the prototype, because an instance exists for every open
// connection: no closures or child loggers are kept per connection (see docs/BENCHMARKS.md, memory).
import type { Logger } from 'pino'
import { dashboardRoom, type AnyEnvelope } from '@school/events'
import type { Namespace } from 'socket.io'
import type { AdapterBridge, PlainMember, PlainMembership } from './adapter-bridge.js'
import type { DashboardAccess } from './handshake.js'
import type { Transport } from './welcome-messages.js'
import type { AccessRecheck, Revocable } from '../guards/access-recheck.js'
import type { ExpiringConnection, TokenExpiry } from '../guards/token-expiry.js'
import type { SchoolPresence } from '../presence/school-presence.js'
import type { DashboardStream, StreamSink } from '../streams/dashboard-stream.js'
import type { PreparedMessage } from '../streams/prepared-message.js'
import type { StreamRegistry } from '../streams/stream-registry.js'

/** What the lifecycle needs from the realtime service, the same for both gateways. */
export interface ConnectionServices {
  logger: Logger
  bridge: AdapterBridge
  /** The namespace whose adapter carries dashboard broadcasts (Socket.IO's main namespace). */
  namespace: Namespace
  streams: StreamRegistry
  access: AccessRecheck
  expiry: Pick<TokenExpiry, 'arm' | 'disarm'>
  presence: Pick<SchoolPresence, 'joined' | 'left'>
  /** Client messages allowed per second on one connection. */
  messagesPerSecond: number
  connectionEstablished(access: DashboardAccess, transport: Transport): AnyEnvelope
  /** Resolves once this instance is subscribed to the rooms joined so far. */
  roomsSubscribed(): Promise<void>
}

export type DropReason = 'slow_consumer' | 'sync_failed'

export abstract class DashboardConnection implements StreamSink, PlainMember, Revocable, ExpiringConnection {
  abstract readonly transport: Transport
  /** Set by open(); a connection is only ever used after it. */
  stream!: DashboardStream
  membership!: PlainMembership
  #windowStart = 0
  #used = 0
  #closed = false

  constructor(
    /** Unique on this instance; the pseudo id under which the connection is a member of its room. */
    readonly id: string,
    readonly access: DashboardAccess,
    protected readonly services: ConnectionServices,
  ) {}

  get tokenExpiresAt(): number | undefined {
    return this.access.tokenExpiresAt
  }

  abstract send(message: AnyEnvelope, prepared?: PreparedMessage): void
  abstract bufferedBytes(): number
  abstract drop(reason: DropReason): void
  /** The token's `exp` passed: tell the client where the transport can, and close. */
  protected abstract closeExpired(): void
  /** The user is no longer an owner or admin of the school: tell the client where the transport can, and close. */
  protected abstract closeRevoked(): void
  /** Whether the client is still there (it may leave while the stream starts). */
  protected abstract get isOpen(): boolean
  /** Closes after an unexpected failure. */
  protected abstract closeFailed(): void

  deliver(prepared: PreparedMessage): void {
    this.stream.receive(prepared.message, prepared)
  }

  expire(): void {
    this.services.logger.info(this.logFields(), 'access token expired; closing the dashboard connection')
    this.closeExpired()
  }

  revoke(): void {
    this.closeRevoked()
  }

  logFields(): Record<string, unknown> {
    return { transport: this.transport, connectionId: this.id, schoolId: this.access.schoolId, userId: this.access.user.id }
  }

  /** One fixed one-second window of client messages: does one more fit? */
  takeMessage(): boolean {
    const now = Date.now()
    if (now - this.#windowStart >= 1000) {
      this.#windowStart = now
      this.#used = 0
    }
    this.#used += 1
    return this.#used <= this.services.messagesPerSecond
  }

  /** Registers the connection everywhere, says who it is connected as, then starts its stream. */
  open(logFields: Record<string, unknown> = {}): void {
    const { services, access } = this
    this.stream = services.streams.open(access.schoolId, this, this.transport)
    this.membership = services.bridge.join(services.namespace.adapter, this.id, dashboardRoom(access.schoolId), this)
    services.expiry.arm(this)
    services.access.watch(access.schoolId, access.user.id, this)
    services.logger.info({ ...this.logFields(), ...logFields }, 'dashboard connection opened')
    this.send(services.connectionEstablished(access, this.transport))
    void this.#start()
  }

  async #start(): Promise<void> {
    const { services, access } = this
    try {
      // Only once this instance is subscribed to the room does the stream read the snapshot (or replay):
      // anything committed after that read is then certain to arrive as a broadcast.
      await services.roomsSubscribed()
      // Closed meanwhile: closed() has run, so it must not be counted as watching.
      if (this.#closed || !this.isOpen) return
      // The presence broadcast this triggers is held by the stream and follows the snapshot.
      services.presence.joined(access.schoolId, this.id, { userId: access.user.id, name: access.user.name, role: access.role })
      await this.stream.start(access.since)
    } catch (error) {
      services.logger.error({ ...this.logFields(), err: error }, 'could not start the dashboard stream')
      this.closeFailed()
    }
  }

  /** Undoes open(), once, whatever closed the connection. */
  closed(logFields: Record<string, unknown>): void {
    if (this.#closed) return
    this.#closed = true
    const { services, access } = this
    services.expiry.disarm(this)
    services.access.unwatch(access.schoolId, this)
    this.membership.leave()
    services.streams.remove(this.stream)
    services.presence.left(access.schoolId, this.id)
    services.logger.info({ ...this.logFields(), ...logFields }, 'dashboard connection closed')
  }
}
