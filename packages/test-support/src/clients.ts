// Real dashboard clients: a plain WebSocket (ws) and a Socket.IO client, both feeding an Inbox.
import type { IncomingMessage } from 'node:http'
import WebSocket from 'ws'
import { io, type Socket } from 'socket.io-client'
import { SERVER_MESSAGE_TYPES, type AnyEnvelope } from '@school/events'
import { Inbox } from './inbox.js'

export interface DashboardClient {
  readonly kind: string
  readonly inbox: Inbox
  ping(data: unknown): void
  refresh(token: string): void
  close(): Promise<void>
}

export interface HandshakeRefusal {
  status: number
  body: { code: string; message: string }
}

/** What a client may ask of the server when it connects. */
export interface ResumeOptions {
  /** Resume after this sequence number (the last event seen); sent as is, so malformed values can be tried. */
  since?: number | string
  /** The local address to connect from (127.0.0.2, ...): another client address on one machine. */
  localAddress?: string
}

export class PlainClient implements DashboardClient {
  readonly kind = 'websocket'
  readonly inbox = new Inbox()
  private constructor(readonly socket: WebSocket) {
    socket.on('message', (data, isBinary) => {
      if (!isBinary) this.inbox.push(JSON.parse(data.toString()) as AnyEnvelope)
    })
  }

  /** Opens `ws://.../ws/schools/{id}/dashboard/`; rejects with the HTTP refusal if the handshake is refused. */
  static connect(
    origin: string,
    schoolId: number | string,
    token?: string,
    via: 'header' | 'query' = 'header',
    options: ResumeOptions = {},
  ): Promise<PlainClient> {
    const base = `${origin.replace(/^http/, 'ws')}/ws/schools/${schoolId}/dashboard/`
    const query = new URLSearchParams()
    if (token && via === 'query') query.set('token', token)
    if (options.since !== undefined) query.set('since', String(options.since))
    const url = query.toString() === '' ? base : `${base}?${query.toString()}`
    const headers = token && via === 'header' ? { Authorization: `Bearer ${token}` } : {}
    const socket = new WebSocket(url, { headers, ...(options.localAddress ? { localAddress: options.localAddress } : {}) })
    const client = new PlainClient(socket)
    return new Promise((resolve, reject) => {
      socket.once('open', () => resolve(client))
      socket.once('unexpected-response', (_request, response: IncomingMessage) => {
        let body = ''
        response.setEncoding('utf8')
        response.on('data', (chunk: string) => (body += chunk))
        response.on('end', () => {
          socket.terminate()
          const refusal: HandshakeRefusal = { status: response.statusCode ?? 0, body: JSON.parse(body || '{}') }
          reject(Object.assign(new Error(`refused with ${response.statusCode}`), { refusal }))
        })
      })
      socket.once('error', reject)
    })
  }

  ping(data: unknown): void {
    this.socket.send(JSON.stringify({ type: 'ping', data }))
  }

  /** In-band renewal: `{"type":"refresh","data":{"token":...}}`. */
  refresh(token: string): void {
    this.socket.send(JSON.stringify({ type: 'refresh', data: { token } }))
  }

  /** Resolves with the close code and reason once the connection is closed, by either side (at once, without them, if it is already). */
  closed(): Promise<{ code: number; reason: string } | undefined> {
    if (this.socket.readyState === WebSocket.CLOSED) return Promise.resolve(undefined)
    return new Promise((resolve) => this.socket.once('close', (code, reason) => resolve({ code, reason: reason.toString() })))
  }

  sendRaw(data: string | Buffer): void {
    this.socket.send(data)
  }

  close(): Promise<void> {
    if (this.socket.readyState === WebSocket.CLOSED) return Promise.resolve()
    return new Promise((resolve) => {
      this.socket.once('close', () => resolve())
      this.socket.close()
    })
  }
}

export class SocketIoClient implements DashboardClient {
  readonly inbox = new Inbox()
  readonly kind: string
  private constructor(
    readonly socket: Socket,
    transport: string,
  ) {
    this.kind = `socket.io/${transport}`
    for (const type of SERVER_MESSAGE_TYPES) socket.on(type, (message: AnyEnvelope) => this.inbox.push(message))
  }

  /**
   * Connects with `auth: { token, schoolId }`; rejects with the connect_error if refused. `default` is the
   * client's own choice (long-polling, then an upgrade to WebSocket). `withCredentials` keeps cookies
   * between requests as a browser does, which a load balancer's sticky-session cookie needs.
   */
  static connect(
    origin: string,
    schoolId: number | string,
    token: string | undefined,
    transport: 'websocket' | 'polling' | 'default' = 'websocket',
    options: { withCredentials?: boolean } & ResumeOptions = {},
  ): Promise<SocketIoClient> {
    const since = options.since === undefined ? {} : { since: options.since }
    const socket = io(origin, {
      transports: transport === 'default' ? ['polling', 'websocket'] : [transport],
      auth: token === undefined ? { schoolId, ...since } : { token, schoolId, ...since },
      reconnection: false,
      forceNew: true,
      ...(options.withCredentials ? { withCredentials: true } : {}),
      ...(options.localAddress ? { localAddress: options.localAddress } : {}),
    })
    const client = new SocketIoClient(socket, transport)
    return new Promise((resolve, reject) => {
      socket.once('connect', () => resolve(client))
      socket.once('connect_error', (error: Error & { data?: unknown }) => {
        socket.close()
        reject(error)
      })
    })
  }

  ping(data: unknown): void {
    this.socket.emit('ping', data)
  }

  /** In-band renewal: event `refresh` with `{token}`. */
  refresh(token: string): void {
    this.socket.emit('refresh', { token })
  }

  /** Resolves once the client is disconnected, by either side (at once if it is already). */
  closed(): Promise<void> {
    if (this.socket.disconnected) return Promise.resolve()
    return new Promise((resolve) => this.socket.once('disconnect', () => resolve()))
  }

  /** Resolves with the reason of the next disconnect ('io server disconnect' when the server ended it). */
  disconnected(): Promise<string> {
    return new Promise((resolve) => this.socket.once('disconnect', (reason) => resolve(reason)))
  }

  close(): Promise<void> {
    this.socket.close()
    return Promise.resolve()
  }
}
