// The Socket.IO endpoint (default path /socket.io/, polling and websocket): the same access check as
// the plain WebSocket gateway in a handshake middleware, the school's room, and the same envelopes.
import type { Logger } from 'pino'
import { dashboardRoom, envelope, type AnyEnvelope } from '@school/events'
import type { DashboardServer, DashboardSocket } from '../socket-io-types.js'
import { bearerToken, HANDSHAKE_FAILED, type DashboardAccess, type Handshake, type HandshakeRefusal } from './handshake.js'
import type { Transport } from './welcome-messages.js'
import type { AdapterBridge } from './adapter-bridge.js'
import type { StreamRegistry } from '../streams/stream-registry.js'
import type { StreamSink } from '../streams/dashboard-stream.js'
import type { PreparedMessage } from '../streams/prepared-message.js'
import { messageBudget, onTokenExpiry, ORIGIN_REFUSAL, originAllowed } from '../guards/connection-guards.js'
import type { AccessRecheck } from '../guards/access-recheck.js'
import type { SchoolPresence } from '../presence/school-presence.js'

export interface SocketIoGatewayOptions {
  handshake: Handshake
  logger: Logger
  connectionEstablished(access: DashboardAccess, transport: Transport): AnyEnvelope
  streams: StreamRegistry
  bridge: AdapterBridge
  allowedOrigins: ReadonlySet<string>
  messagesPerSecond: number
  access: AccessRecheck
  presence: Pick<SchoolPresence, 'joined' | 'left'>
  /** Resolves once this instance is subscribed to the rooms joined so far. */
  roomsSubscribed(): Promise<void>
}

/** A handshake refusal as Socket.IO reports it: `connect_error` with message = code and `data`. */
export class ConnectionRefusedError extends Error {
  readonly data: HandshakeRefusal
  constructor(refusal: HandshakeRefusal) {
    super(refusal.code)
    this.name = 'ConnectionRefusedError'
    this.data = { status: refusal.status, code: refusal.code, message: refusal.message }
  }
}

function emitEnvelope(socket: DashboardSocket, message: AnyEnvelope): void {
  // The union of envelopes does not narrow against the typed event map; each type maps to its own envelope.
  const emit = socket.emit.bind(socket) as (type: string, message: AnyEnvelope) => boolean
  emit(message.type, message)
}

/** Bytes engine.io holds for the client: packets not yet flushed, plus what its WebSocket has queued. */
function queuedBytes(socket: DashboardSocket): number {
  const conn = socket.conn as unknown as { writeBuffer?: Array<{ data?: unknown }>; transport?: { socket?: { bufferedAmount?: number } } }
  let bytes = conn.transport?.socket?.bufferedAmount ?? 0
  for (const packet of conn.writeBuffer ?? []) bytes += typeof packet.data === 'string' ? packet.data.length : 0
  return bytes
}

/** Socket.IO's engine-side writer, which its own room broadcasts use to send a packet encoded once. */
interface EngineWriter {
  writeToEngine?(packet: string, options: { wsPreEncodedFrame?: Buffer[] }): void
}

/** Sends a shared broadcast as its pre-encoded packet (and frame, over WebSocket), else emits it. */
function sendPrepared(socket: DashboardSocket, prepared: PreparedMessage): void {
  const client = socket.client as unknown as EngineWriter
  if (typeof client.writeToEngine !== 'function') return emitEnvelope(socket, prepared.message)
  if (!socket.connected) return
  const overWebSocket = socket.conn.transport.name === 'websocket'
  client.writeToEngine(prepared.socketIoPacket, overWebSocket ? { wsPreEncodedFrame: prepared.socketIoFrame } : {})
}

function socketIoSink(socket: DashboardSocket): StreamSink {
  return {
    send: (message, prepared) => (prepared ? sendPrepared(socket, prepared) : emitEnvelope(socket, message)),
    bufferedBytes: () => queuedBytes(socket),
    drop(reason) {
      socket.data.dropReason = reason
      socket.disconnect(true)
    },
  }
}

export function attachSocketIoGateway(io: DashboardServer, options: SocketIoGatewayOptions): void {
  const { handshake, logger } = options

  io.use(async (socket, next) => {
    const { auth, headers, query } = socket.handshake
    const token = (typeof auth.token === 'string' && auth.token !== '' ? auth.token : undefined) ?? bearerToken(headers.authorization)
    const schoolId = auth.schoolId ?? query.schoolId
    if (!originAllowed(headers.origin, options.allowedOrigins)) {
      logger.info({ transport: 'socket.io', status: ORIGIN_REFUSAL.status, code: ORIGIN_REFUSAL.code, origin: headers.origin }, 'dashboard connection refused')
      return next(new ConnectionRefusedError({ ...ORIGIN_REFUSAL }))
    }
    try {
      const result = await handshake({ token, schoolId, since: auth.since ?? query.since })
      if (!result.accepted) {
        logger.info({ transport: 'socket.io', status: result.refusal.status, code: result.refusal.code }, 'dashboard connection refused')
        return next(new ConnectionRefusedError(result.refusal))
      }
      socket.data.access = result.access
      next()
    } catch (error) {
      logger.error({ err: error }, 'socket.io handshake failed')
      next(new ConnectionRefusedError(HANDSHAKE_FAILED))
    }
  })

  io.on('connection', (socket) => {
    const { access } = socket.data
    const log = logger.child({ transport: 'socket.io', connectionId: socket.id, schoolId: access.schoolId, userId: access.user.id })
    log.info({ engine: socket.conn.transport.name }, 'dashboard connection opened')
    const budget = messageBudget(options.messagesPerSecond)
    socket.on('ping', (data) => {
      if (!budget.take()) {
        return emitEnvelope(socket, envelope('error', { code: 'rate_limited', message: `At most ${options.messagesPerSecond} messages per second` }))
      }
      emitEnvelope(socket, envelope('pong', data ?? null))
    })
    const cancelExpiry = onTokenExpiry(access.tokenExpiresAt, () => {
      log.info('access token expired; closing the dashboard connection')
      emitEnvelope(socket, envelope('error', { code: 'token_expired', message: 'The access token expired; sign in again and reconnect with since' }))
      socket.disconnect(true)
    })
    const unwatch = options.access.watch(access.schoolId, access.user.id, () => {
      emitEnvelope(socket, envelope('error', { code: 'access_revoked', message: "You are no longer an owner or admin of this school" }))
      socket.disconnect(true)
    })
    socket.on('disconnect', () => {
      cancelExpiry()
      unwatch()
    })

    // The socket joins the room under a pseudo id, like a plain WebSocket, so that every broadcast
    // passes through its stream (dedupe, gap filling) instead of Socket.IO's direct delivery.
    const stream = options.streams.open(access.schoolId, socketIoSink(socket), log, 'socket.io')
    const membership = options.bridge.join(socket.nsp.adapter, `sio:${socket.id}`, dashboardRoom(access.schoolId), {
      deliver: (prepared) => stream.receive(prepared.message, prepared),
    })
    socket.on('disconnect', (reason) => {
      membership.leave()
      options.streams.remove(stream)
      options.presence.left(access.schoolId, membership.id)
      log.info({ reason, dropReason: socket.data.dropReason }, 'dashboard connection closed')
    })
    emitEnvelope(socket, options.connectionEstablished(access, 'socket.io'))
    // Only once this instance is subscribed to the room does the stream read the snapshot (or replay):
    // anything committed after that read is then certain to arrive as a broadcast.
    options
      .roomsSubscribed()
      .then(() => {
        // Disconnected meanwhile: its disconnect handler has run, so it must not be counted as watching.
        if (!socket.connected) return
        // The presence broadcast this triggers is held by the stream and follows the snapshot.
        options.presence.joined(access.schoolId, membership.id, { userId: access.user.id, name: access.user.name, role: access.role })
        return stream.start(access.since)
      })
      .catch((error: unknown) => {
        log.error({ err: error }, 'could not start the dashboard stream')
        socket.disconnect(true)
      })
  })
}
