// The plain WebSocket endpoint `/ws/schools/{id}/dashboard/`: authenticates on the HTTP upgrade, refuses
// with a real HTTP response before upgrading, and hands accepted connections to the lifecycle both
// gateways share, whose stream receives the school's broadcasts as Socket.IO clients' do.
import { STATUS_CODES, type IncomingMessage, type Server as HttpServer } from 'node:http'
import type { Duplex } from 'node:stream'
import { WebSocketServer, WebSocket, type RawData } from 'ws'
import { CLIENT_MESSAGE_TYPES, DASHBOARD_WS_PATH, envelope, type AnyEnvelope, type ClientErrorCode, type ClientMessageType } from '@school/events'
import { DashboardConnection, type ConnectionServices } from './dashboard-connection.js'
import { createAcceptStep, holdLease, type AcceptServices } from './dashboard-accept.js'
import { bearerToken, type DashboardAccess } from './handshake.js'
import { TOKEN_EXPIRED } from '../guards/connection-guards.js'
import { ACCESS_REVOKED, type RevocationReason } from '../guards/access-recheck.js'
import { clientFrameOf, type ClientFrame } from './client-messages.js'
import type { ClientAddress } from '../guards/client-address.js'
import type { ConnectionLease } from '../guards/connection-limits.js'
import type { DropReason } from '../streams/dashboard-stream.js'
import type { PreparedMessage } from '../streams/prepared-message.js'
import { createTurnCorking, type TurnCorking } from '../streams/turn-corking.js'

export interface PlainWebSocketGatewayOptions extends ConnectionServices, AcceptServices {
  /** Upgrades under this path belong to Socket.IO's engine; this gateway leaves them alone. */
  socketIoPath: string
  maxPayloadBytes: number
  /** Where a request comes from, for the per-address limits. */
  clientAddress: ClientAddress
  /** Ping interval of the heartbeat; a peer that has not answered the previous ping is dropped. */
  heartbeatIntervalMs?: number
  /** How long close() waits for clients to answer the close frame before cutting them off. */
  closeTimeoutMs?: number
}

export interface PlainWebSocketGateway {
  readonly wss: WebSocketServer
  /** Open connections on this instance. */
  readonly size: number
  /** Refuses new upgrades, closes every client with 1012 (service restart) and waits for them. */
  close(): Promise<void>
}

export const DEFAULT_HEARTBEAT_INTERVAL_MS = 30_000
/** RFC 6455 close code telling clients the server is restarting and they should reconnect. */
export const SERVICE_RESTART = 1012
/** Close code for a client that stopped reading: its queue passed CLIENT_MAX_BUFFERED_BYTES. */
export const SLOW_CONSUMER = 4008
/** How long a dropped slow consumer gets to take its close frame before the socket is cut. */
const SLOW_CONSUMER_GRACE_MS = 1000

/** A plain WebSocket connection; the WebSocket's own listeners are shared functions (below) that find it here. */
class PlainConnection extends DashboardConnection {
  readonly transport = 'websocket'
  /** Cleared at each heartbeat ping, set again by the pong. */
  alive = true
  /** When the heartbeat last pinged it (when it opened, until then). */
  lastPingAt = Date.now()

  constructor(
    readonly ws: WebSocket,
    /** The upgraded TCP socket `ws` writes to. */
    private readonly socket: Duplex,
    private readonly corking: TurnCorking,
    id: string,
    access: DashboardAccess,
    services: ConnectionServices,
    protected readonly lease: ConnectionLease,
  ) {
    super(id, access, services)
  }

  send(message: AnyEnvelope, prepared?: PreparedMessage): void {
    if (this.ws.readyState !== WebSocket.OPEN) return
    // The messages sent to this connection in this turn (an event's) leave in one write.
    this.corking.hold(this.socket)
    // A shared broadcast goes out as the same bytes to every connection (a text frame either way).
    if (prepared) this.ws.send(prepared.text, { binary: false })
    else this.ws.send(JSON.stringify(message))
  }

  bufferedBytes(): number {
    return this.ws.bufferedAmount
  }

  drop(reason: DropReason): void {
    if (reason === 'sync_failed') return this.ws.close(1011, 'internal error')
    this.ws.close(SLOW_CONSUMER, 'slow consumer')
    setTimeout(terminate, SLOW_CONSUMER_GRACE_MS, this.ws).unref()
  }

  protected get isOpen(): boolean {
    return this.ws.readyState === WebSocket.OPEN
  }

  protected closeExpired(): void {
    this.ws.close(TOKEN_EXPIRED, 'token expired')
  }

  protected closeRevoked(reason: RevocationReason): void {
    if (reason === 'session') this.ws.close(TOKEN_EXPIRED, 'session_revoked')
    else this.ws.close(ACCESS_REVOKED, 'access revoked')
  }

  protected closeFailed(): void {
    this.ws.close(1011, 'internal error')
  }
}

function terminate(ws: WebSocket): void {
  ws.terminate()
}

/** Slices per heartbeat interval: each tick pings about 1/HEARTBEAT_SLICES of the connections. */
const HEARTBEAT_SLICES = 30

/**
 * Pings every connection once per `intervalMs`, spread over the interval: every tick takes a slice from
 * the front of `connections`, which it keeps in the order of their last ping (a pinged connection moves to
 * the back), so the front is always the one waiting longest; none is pinged again before an interval has
 * passed. One that has not answered its previous ping is cut off. (An iterator kept from tick to tick
 * would have kept closed connections' entries alive.)
 */
function createHeartbeat(connections: Map<WebSocket, PlainConnection>, intervalMs: number): { stop(): void } {
  const timer = setInterval(() => {
    const now = Date.now()
    const due: Array<[WebSocket, PlainConnection]> = []
    const slice = Math.ceil(connections.size / HEARTBEAT_SLICES)
    for (const entry of connections) {
      if (due.length === slice || now - entry[1].lastPingAt < intervalMs) break
      due.push(entry)
    }
    for (const [ws, connection] of due) {
      // To the back; a terminated one leaves the map in its close handler, as every connection does.
      connections.delete(ws)
      connections.set(ws, connection)
      connection.lastPingAt = now
      if (!connection.alive) {
        ws.terminate()
        continue
      }
      connection.alive = false
      ws.ping()
    }
  }, intervalMs / HEARTBEAT_SLICES)
  timer.unref()
  return { stop: () => clearInterval(timer) }
}

/** Writes an HTTP error response on a not-yet-upgraded socket, then closes it. */
function refuseUpgrade(socket: Duplex, status: number, body: { code: string; message: string }, retryAfterSeconds?: number): void {
  if (socket.destroyed) return
  const json = JSON.stringify(body)
  socket.once('finish', () => socket.destroy())
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\n` +
      'Content-Type: application/json\r\n' +
      `Content-Length: ${Buffer.byteLength(json)}\r\n` +
      (retryAfterSeconds === undefined ? '' : `Retry-After: ${retryAfterSeconds}\r\n`) +
      'Connection: close\r\n\r\n' +
      json,
  )
}

function clientError(code: ClientErrorCode, message: string): AnyEnvelope {
  return envelope('error', { code, message })
}

/** Reads one client frame: a ping gets a pong, a refresh renews the token, anything else an `error`; the connection stays open. */
export function readClientFrame(data: RawData, isBinary: boolean): ClientFrame {
  const answer = (message: AnyEnvelope): ClientFrame => ({ kind: 'answer', message })
  if (isBinary) return answer(clientError('unsupported_frame', 'Binary frames are not supported; send JSON text'))
  let parsed: unknown
  try {
    parsed = JSON.parse(data.toString())
  } catch {
    return answer(clientError('invalid_json', 'The message is not valid JSON'))
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed) || typeof (parsed as { type?: unknown }).type !== 'string') {
    return answer(clientError('invalid_message', 'A message must be a JSON object with a string "type"'))
  }
  const message = parsed as { type: string; data?: unknown }
  if (!(CLIENT_MESSAGE_TYPES as readonly string[]).includes(message.type)) {
    return answer(clientError('unknown_type', `Unknown message type "${message.type.slice(0, 64)}"; supported: ${CLIENT_MESSAGE_TYPES.join(', ')}`))
  }
  return clientFrameOf(message.type as ClientMessageType, message.data)
}

export function createPlainWebSocketGateway(httpServer: HttpServer, options: PlainWebSocketGatewayOptions): PlainWebSocketGateway {
  const { logger } = options
  const accept = createAcceptStep('websocket', options)
  const wss = new WebSocketServer({ noServer: true, maxPayload: options.maxPayloadBytes })
  const connections = new Map<WebSocket, PlainConnection>()
  let closing = false
  /** The connection-limit slot of each accepted upgrade, until its socket closes. */
  const slots = new Map<Duplex, ConnectionLease>()
  function releaseSlot(this: Duplex): void {
    const slot = slots.get(this)
    if (!slot) return
    slots.delete(this)
    slot.release()
  }
  // Pseudo ids need only be unique on this instance (presence prefixes them with the instance id).
  let nextId = 0

  // The WebSocket's listeners, shared by every connection: `this` is the WebSocket.
  function onPong(this: WebSocket): void {
    const connection = connections.get(this)
    if (connection) connection.alive = true
  }
  function onMessage(this: WebSocket, data: RawData, isBinary: boolean): void {
    connections.get(this)?.clientMessage(() => readClientFrame(data, isBinary))
  }
  function onError(this: WebSocket, error: Error): void {
    logger.debug({ ...connections.get(this)?.logFields(), err: error }, 'websocket error')
  }
  function onClose(this: WebSocket, code: number): void {
    const connection = connections.get(this)
    if (!connection) return
    connections.delete(this)
    connection.closed({ code })
  }

  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    // Socket.IO's engine has its own `upgrade` listener for its path; exactly one of us acts on a request.
    if ((req.url ?? '/').startsWith(options.socketIoPath)) return
    void handleUpgrade(req, socket, head)
  }
  httpServer.on('upgrade', onUpgrade)

  async function handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    // A peer that resets mid-handshake must not take the process down with an unhandled 'error'.
    const onSocketError = (error: Error) => logger.debug({ err: error }, 'upgrade socket error')
    socket.on('error', onSocketError)
    if (closing) return refuseUpgrade(socket, 503, { code: 'service_unavailable', message: 'The service is restarting; reconnect shortly' })
    const url = new URL(req.url ?? '/', 'http://localhost')
    const match = DASHBOARD_WS_PATH.exec(url.pathname)
    if (!match) return refuseUpgrade(socket, 404, { code: 'not_found', message: `No WebSocket endpoint at ${url.pathname}` })
    const result = await accept({
      origin: req.headers.origin,
      token: bearerToken(req.headers.authorization) ?? url.searchParams.get('token') ?? undefined,
      schoolId: match[1],
      since: url.searchParams.get('since') ?? undefined,
      clientAddress: () => options.clientAddress(req),
      logFields: { path: url.pathname },
    })
    if (!result.accepted) {
      const { status, code, message, retryAfterSeconds } = result.refusal
      return refuseUpgrade(socket, status, { code, message }, retryAfterSeconds)
    }
    // The slot is given back when the TCP connection ends, whichever way: refused below, an upgrade that
    // fails, a close by either side, a terminate.
    slots.set(socket, result.lease)
    holdLease(socket, 'close', releaseSlot, socket.destroyed)
    if (closing) return refuseUpgrade(socket, 503, { code: 'service_unavailable', message: 'The service is restarting; reconnect shortly' })
    const { access, lease } = result
    wss.handleUpgrade(req, socket, head, (ws) => {
      socket.off('error', onSocketError)
      onConnection(ws, socket, access, lease)
    })
  }

  const corking = createTurnCorking()
  function onConnection(ws: WebSocket, socket: Duplex, access: DashboardAccess, lease: ConnectionLease): void {
    const connection = new PlainConnection(ws, socket, corking, `ws:${nextId++}`, access, options, lease)
    connections.set(ws, connection)
    ws.on('pong', onPong)
    ws.on('message', onMessage)
    ws.on('error', onError)
    ws.on('close', onClose)
    connection.open()
  }

  // The heartbeat pings each connection once per interval, a slice of them every tick: pinging all of them
  // at once blocked the event loop for a moment that grew with the connections (10,000 pings, tens of
  // milliseconds, every 30 s), in the way of every event being delivered then.
  const heartbeatMs = options.heartbeatIntervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS
  const heartbeat = createHeartbeat(connections, heartbeatMs)

  return {
    wss,
    get size() {
      return connections.size
    },
    async close() {
      closing = true
      heartbeat.stop()
      // The upgrade listener stays: with `closing` set it answers 503 instead of leaving sockets hanging.
      const closed = [...connections.keys()].map(
        (ws) =>
          new Promise<void>((resolve) => {
            if (ws.readyState === WebSocket.CLOSED) return resolve()
            ws.once('close', () => resolve())
            const force = setTimeout(() => ws.terminate(), options.closeTimeoutMs ?? 5_000)
            force.unref()
            ws.once('close', () => clearTimeout(force))
            ws.close(SERVICE_RESTART, 'service restart')
          }),
      )
      await Promise.all(closed)
      await new Promise<void>((resolve) => wss.close(() => resolve()))
    },
  }
}
