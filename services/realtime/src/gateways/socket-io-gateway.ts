// The Socket.IO endpoint (default path /socket.io/, polling and websocket): the same access check as
// the plain WebSocket gateway in a handshake middleware, the school's room, and the same envelopes.
import { envelope, type AnyEnvelope } from '@school/events'
import type { DashboardServer, DashboardSocket } from '../socket-io-types.js'
import { DashboardConnection, type ConnectionServices } from './dashboard-connection.js'
import { createAcceptStep, holdLease, type AcceptServices } from './dashboard-accept.js'
import { bearerToken, type DashboardAccess, type HandshakeRefusal } from './handshake.js'
import type { DropReason } from '../streams/dashboard-stream.js'
import type { PreparedMessage } from '../streams/prepared-message.js'
import type { RevocationReason } from '../guards/access-recheck.js'
import type { ConnectionLease } from '../guards/connection-limits.js'
import { clientFrameOf } from './client-messages.js'
import type { ClientAddress } from '../guards/client-address.js'
import type { SocketIoDelivery } from '../library-internals.js'

export interface SocketIoGatewayOptions extends ConnectionServices, AcceptServices {
  /** Where a handshake comes from, for the per-address limits. */
  clientAddress: ClientAddress
  /** How shared broadcasts are written to sockets (pre-encoded, or through socket.emit). */
  delivery: SocketIoDelivery
}

/** A handshake refusal as Socket.IO reports it: `connect_error` with message = code and `data`. */
export class ConnectionRefusedError extends Error {
  readonly data: HandshakeRefusal
  constructor(refusal: HandshakeRefusal) {
    super(refusal.code)
    this.name = 'ConnectionRefusedError'
    this.data = {
      status: refusal.status,
      code: refusal.code,
      message: refusal.message,
      ...(refusal.retryAfterSeconds === undefined ? {} : { retryAfterSeconds: refusal.retryAfterSeconds }),
    }
  }
}

function emitEnvelope(socket: DashboardSocket, message: AnyEnvelope): void {
  // The union of envelopes does not narrow against the typed event map; each type maps to its own envelope.
  const emit = socket.emit.bind(socket) as (type: string, message: AnyEnvelope) => boolean
  emit(message.type, message)
}

/**
 * A Socket.IO connection. The socket joins no room: like a plain WebSocket, it receives its school's
 * broadcasts through its stream (dedupe, gap filling; streams/stream-registry.ts), not Socket.IO's direct
 * delivery.
 */
class SocketIoConnection extends DashboardConnection {
  readonly transport = 'socket.io'
  // The gateway's options, shared by its connections: no field per connection for the delivery.
  declare protected readonly services: SocketIoGatewayOptions

  constructor(
    readonly socket: DashboardSocket,
    access: DashboardAccess,
    services: SocketIoGatewayOptions,
  ) {
    super(`sio:${socket.id}`, access, services)
  }

  send(message: AnyEnvelope, prepared?: PreparedMessage): void {
    // A shared broadcast goes out as the packet (and frame) encoded once for every socket, unless the
    // library internals that allow it are missing: then it is emitted like any other message.
    if (prepared && this.services.delivery.writePrepared(this.socket, prepared)) return
    emitEnvelope(this.socket, message)
  }

  bufferedBytes(): number {
    return this.services.delivery.queuedBytes(this.socket)
  }

  drop(reason: DropReason): void {
    this.socket.data.dropReason = reason
    this.socket.disconnect(true)
  }

  override logFields(): Record<string, unknown> {
    return { ...super.logFields(), connectionId: this.socket.id }
  }

  protected get isOpen(): boolean {
    return this.socket.connected
  }

  protected get lease(): ConnectionLease | undefined {
    return this.socket.data.slot
  }

  protected closeExpired(): void {
    emitEnvelope(this.socket, envelope('error', { code: 'token_expired', message: 'The access token expired; sign in again and reconnect with since' }))
    this.socket.disconnect(true)
  }

  protected closeRevoked(reason: RevocationReason): void {
    const error =
      reason === 'session'
        ? envelope('error', { code: 'session_revoked', message: 'Your session has ended (signed out, or the password was changed); sign in again' })
        : envelope('error', { code: 'access_revoked', message: 'You are no longer an owner or admin of this school' })
    emitEnvelope(this.socket, error)
    this.socket.disconnect(true)
  }

  protected closeFailed(): void {
    this.socket.disconnect(true)
  }
}

/** A shared 'disconnect' listener (`this` is the socket): gives the connection-limit slot back. */
function releaseSlot(this: DashboardSocket): void {
  this.data.slot?.release()
}

export function attachSocketIoGateway(io: DashboardServer, options: SocketIoGatewayOptions): void {
  const accept = createAcceptStep('socket.io', options)

  io.use(async (socket, next) => {
    const { auth, headers, query } = socket.handshake
    const result = await accept({
      origin: headers.origin,
      token: (typeof auth.token === 'string' && auth.token !== '' ? auth.token : undefined) ?? bearerToken(headers.authorization),
      schoolId: auth.schoolId ?? query.schoolId,
      since: auth.since ?? query.since,
      clientAddress: () => options.clientAddress(socket.request),
    })
    if (!result.accepted) return next(new ConnectionRefusedError(result.refusal))
    socket.data.slot = result.lease
    socket.data.access = result.access
    // The slot is given back when the socket disconnects. A client that left during the handshake is
    // never connected (Socket.IO checks, on the next tick, the same state read here) and never disconnects.
    holdLease(socket, 'disconnect', releaseSlot, socket.conn.readyState !== 'open')
    next()
  })

  io.on('connection', (socket) => {
    // The handshake (headers, origin, token) has been read and checked; the first HTTP request of the
    // session would otherwise stay in memory as long as the connection (Socket.IO's memory guidance).
    ;(socket.conn as unknown as { request: unknown }).request = null
    const connection = new SocketIoConnection(socket, socket.data.access, options)
    socket.on('ping', (data) => connection.clientMessage(() => clientFrameOf('ping', data)))
    // In-band renewal: `refresh` with {token}; answered token_refreshed or error, like the plain WebSocket's.
    socket.on('refresh', (data) => connection.clientMessage(() => clientFrameOf('refresh', data)))
    socket.on('disconnect', (reason) => connection.closed({ reason, dropReason: socket.data.dropReason }))
    connection.open({ engine: socket.conn.transport.name })
  })
}
