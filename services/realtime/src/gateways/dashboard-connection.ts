// One accepted dashboard connection, whatever its transport, and the lifecycle both gateways share: its
// stream (through which it receives the school's broadcasts), the guards that may end it (token expiry, lost access, an
// ended session, message budget), in-band renewal of its token, presence, and the logs. A transport
// supplies how to send, how full its buffer is and how to close; everything else is here, once.
//
// An instance is an object with its methods on the prototype, because an instance exists for every open
// connection: no closures or child loggers are kept per connection (see docs/BENCHMARKS.md, memory).
import type { Logger } from 'pino'
import { envelope, type AnyEnvelope, type DashboardTransport } from '@school/events'
import type { DashboardAccess } from './handshake.js'
import type { ClientFrame } from './client-messages.js'
import type { AccessRecheck, Revocable, RevocationReason } from '../guards/access-recheck.js'
import type { ConnectionLease } from '../guards/connection-limits.js'
import type { ExpiringConnection, TokenExpiry } from '../guards/token-expiry.js'
import type { RenewalCheck } from '../guards/token-renewal.js'
import type { SchoolPresence } from '../presence/school-presence.js'
import type { DashboardStream, DropReason, StreamSink } from '../streams/dashboard-stream.js'
import type { PreparedMessage } from '../streams/prepared-message.js'
import type { StreamRegistry } from '../streams/stream-registry.js'

/** What the lifecycle needs from the realtime service, the same for both gateways. */
export interface ConnectionServices {
  logger: Logger
  streams: StreamRegistry
  access: Pick<AccessRecheck, 'watch' | 'unwatch'>
  expiry: Pick<TokenExpiry, 'arm' | 'disarm'>
  /** Decides an in-band renewal (a `refresh` message). */
  renewal: RenewalCheck
  presence: Pick<SchoolPresence, 'joined' | 'left'>
  /** Client messages allowed per second on one connection. */
  messagesPerSecond: number
  connectionEstablished(access: DashboardAccess, transport: DashboardTransport): AnyEnvelope
  /** Resolves once this instance is subscribed to the rooms joined so far. */
  roomsSubscribed(): Promise<void>
}

export abstract class DashboardConnection implements StreamSink, Revocable, ExpiringConnection {
  abstract readonly transport: DashboardTransport
  /** Set by open(); a connection is only ever used after it. */
  stream!: DashboardStream
  #windowStart = 0
  #used = 0
  #closed = false
  /** A `refresh` is being checked: one at a time, so that two cannot arm the connection out of order. */
  #renewing = false

  constructor(
    /** Unique on this instance (presence prefixes it with the instance id). */
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
  /** The connection's slot under the connection limits, whose count must live as long as the token. */
  protected abstract get lease(): ConnectionLease | undefined
  /** The token's `exp` passed: tell the client where the transport can, and close. */
  protected abstract closeExpired(): void
  /**
   * The user is no longer an owner or admin of the school (`access`), or the token's session ended
   * (`session`): tell the client where the transport can, and close.
   */
  protected abstract closeRevoked(reason: RevocationReason): void
  /** Whether the client is still there (it may leave while the stream starts). */
  protected abstract get isOpen(): boolean
  /** Closes after an unexpected failure. */
  protected abstract closeFailed(): void

  expire(): void {
    this.services.logger.info(this.logFields(), 'access token expired; closing the dashboard connection')
    this.closeExpired()
  }

  tokenExpiring(): void {
    const exp = this.access.tokenExpiresAt
    if (exp !== undefined) this.send(envelope('token_expiring', { expiresAt: new Date(exp * 1000).toISOString() }))
  }

  revoke(reason: RevocationReason): void {
    this.closeRevoked(reason)
  }

  /**
   * A `refresh` message: a fresh token of the same user and session keeps the connection open until its
   * `exp` (the expiry buckets and the connection-limit counts move with it); anything else is answered
   * with an error and changes nothing, unless the database says the connection must end.
   */
  async renew(token: string): Promise<void> {
    if (this.#renewing) {
      return this.send(envelope('error', { code: 'refresh_in_progress', message: 'The previous refresh is still being checked' }))
    }
    this.#renewing = true
    try {
      const verdict = await this.services.renewal(token, this.access)
      if (this.#closed) return
      if (verdict.kind === 'refused') return this.send(envelope('error', { code: verdict.code, message: verdict.message }))
      if (verdict.kind === 'revoked') {
        this.services.logger.info({ ...this.logFields(), reason: verdict.reason }, 'renewal found the connection revoked; closing it')
        return this.revoke(verdict.reason)
      }
      const { services } = this
      services.expiry.disarm(this)
      this.access.tokenExpiresAt = verdict.tokenExpiresAt
      services.expiry.arm(this)
      this.lease?.extend(verdict.tokenExpiresAt)
      this.send(envelope('token_refreshed', { expiresAt: new Date(verdict.tokenExpiresAt * 1000).toISOString() }))
    } catch (error) {
      this.services.logger.warn({ ...this.logFields(), err: error }, 'token renewal could not be checked')
      if (!this.#closed) this.send(envelope('error', { code: 'internal_error', message: 'The token could not be checked; try again' }))
    } finally {
      this.#renewing = false
    }
  }

  logFields(): Record<string, unknown> {
    return { transport: this.transport, connectionId: this.id, schoolId: this.access.schoolId, userId: this.access.user.id, sessionId: this.access.sessionId }
  }

  /**
   * A message from the client, read by `read` (only when it fits the budget: a flood costs no parsing). Past
   * the budget it is answered rate_limited; a refresh renews the token; anything else gets its answer.
   */
  clientMessage(read: () => ClientFrame): void {
    if (!this.takeMessage()) {
      return this.send(envelope('error', { code: 'rate_limited', message: `At most ${this.services.messagesPerSecond} messages per second` }))
    }
    const frame = read()
    if (frame.kind === 'refresh') void this.renew(frame.token)
    else this.send(frame.message)
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
    // Also makes this instance a member of the school's room, if it was not yet.
    this.stream = services.streams.open(access.schoolId, this, this.transport)
    services.expiry.arm(this)
    services.access.watch(this)
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
      services.presence.joined(access.schoolId, this.id, access)
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
    services.access.unwatch(this)
    services.streams.remove(this.stream)
    services.presence.left(access.schoolId, this.id)
    services.logger.info({ ...this.logFields(), ...logFields }, 'dashboard connection closed')
  }
}
