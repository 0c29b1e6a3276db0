// The Socket.IO endpoint (default path /socket.io/, polling and websocket): the same access check as
// the plain WebSocket gateway in a handshake middleware, the school's room, and the same envelopes.
import type { Logger } from 'pino'
import { dashboardRoom, envelope, type AnyEnvelope } from '@school/events'
import type { DashboardServer, DashboardSocket } from '../socket-io-types.js'
import { bearerToken, HANDSHAKE_FAILED, type DashboardAccess, type Handshake, type HandshakeRefusal } from './handshake.js'
import type { Transport } from './welcome-messages.js'

export interface SocketIoGatewayOptions {
  handshake: Handshake
  logger: Logger
  connectionEstablished(access: DashboardAccess, transport: Transport): AnyEnvelope
  metricsSnapshot(schoolId: number): Promise<AnyEnvelope>
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

export function attachSocketIoGateway(io: DashboardServer, options: SocketIoGatewayOptions): void {
  const { handshake, logger } = options

  io.use(async (socket, next) => {
    const { auth, headers, query } = socket.handshake
    const token = (typeof auth.token === 'string' && auth.token !== '' ? auth.token : undefined) ?? bearerToken(headers.authorization)
    const schoolId = auth.schoolId ?? query.schoolId
    try {
      const result = await handshake({ token, schoolId })
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
    socket.on('disconnect', (reason) => log.info({ reason }, 'dashboard connection closed'))
    socket.on('ping', (data) => emitEnvelope(socket, envelope('pong', data ?? null)))

    void socket.join(dashboardRoom(access.schoolId))
    emitEnvelope(socket, options.connectionEstablished(access, 'socket.io'))
    // Only once this instance is subscribed to the room is the snapshot sent: anything committed after
    // it is then certain to arrive as a broadcast.
    options
      .roomsSubscribed()
      .then(() => options.metricsSnapshot(access.schoolId))
      .then((snapshot) => {
        if (socket.connected) emitEnvelope(socket, snapshot)
      })
      .catch((error: unknown) => {
        log.error({ err: error }, 'could not send the metrics snapshot')
        socket.disconnect(true)
      })
  })
}
