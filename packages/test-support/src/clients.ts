// Real dashboard clients: a plain WebSocket (ws) and a Socket.IO client, both feeding an Inbox.
import type { IncomingMessage } from 'node:http'
import WebSocket from 'ws'
import { io, type Socket } from 'socket.io-client'
import type { AnyEnvelope } from '@school/events'
import { Inbox } from './inbox.js'

export interface DashboardClient {
  readonly kind: string
  readonly inbox: Inbox
  ping(data: unknown): void
  refresh(token: string): void
  close(): Promise<void>
}

/** An HTTP answer to the WebSocket upgrade instead of the switch: the handshake was refused. */
export interface HandshakeRefusal {
  status: number
  body: { code: string; message: string }
}

/** What PlainClient.open rejects with when the handshake is refused: the refusal, and the answer's headers. */
export type RefusedHandshake = Error & { refusal: HandshakeRefusal; headers: IncomingMessage['headers'] }

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
  /** Frames that were not JSON text (none are expected). */
  readonly strayFrames: unknown[] = []
  #closed: { code: number; reason: string } | undefined

  private constructor(readonly socket: WebSocket) {
    socket.on('message', (data, isBinary) => {
      if (isBinary) return void this.strayFrames.push(data)
      try {
        this.inbox.push(JSON.parse(data.toString()) as AnyEnvelope)
      } catch {
        this.strayFrames.push(data.toString())
      }
    })
    socket.once('close', (code, reason) => (this.#closed = { code, reason: reason.toString() }))
  }

  /** `ws://.../ws/schools/{id}/dashboard/`, with `?token=` and `?since=` when given. */
  static url(origin: string, schoolId: number | string, token?: string, since?: number | string): string {
    const base = `${origin.replace(/^http/, 'ws')}/ws/schools/${schoolId}/dashboard/`
    const query = new URLSearchParams()
    if (token !== undefined) query.set('token', token)
    if (since !== undefined) query.set('since', String(since))
    return query.size === 0 ? base : `${base}?${query.toString()}`
  }

  /** Opens the socket; rejects with a RefusedHandshake if the server answers the upgrade with an HTTP error. */
  static open(url: string, headers: Record<string, string> = {}, options: { localAddress?: string } = {}): Promise<PlainClient> {
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
          const error: RefusedHandshake = Object.assign(new Error(`refused with ${response.statusCode}`), { refusal, headers: response.headers })
          reject(error)
        })
      })
      socket.once('error', reject)
    })
  }

  /** Connects to the school's dashboard with `Authorization: Bearer` (or `?token=`); rejects with the refusal if refused. */
  static connect(
    origin: string,
    schoolId: number | string,
    token?: string,
    via: 'header' | 'query' = 'header',
    options: ResumeOptions = {},
  ): Promise<PlainClient> {
    const url = PlainClient.url(origin, schoolId, token && via === 'query' ? token : undefined, options.since)
    const headers: Record<string, string> = token && via === 'header' ? { Authorization: `Bearer ${token}` } : {}
    return PlainClient.open(url, headers, options)
  }

  ping(data: unknown): void {
    this.socket.send(JSON.stringify({ type: 'ping', data }))
  }

  /** In-band renewal: `{"type":"refresh","data":{"token":...}}`. */
  refresh(token: string): void {
    this.socket.send(JSON.stringify({ type: 'refresh', data: { token } }))
  }

  /** Sends a frame as is (malformed ones included). */
  send(data: string | Buffer): void {
    this.socket.send(data)
  }

  /** Resolves with the close code and reason once the connection is closed, by either side (at once if it is already). */
  closed(): Promise<{ code: number; reason: string }> {
    if (this.#closed) return Promise.resolve(this.#closed)
    return new Promise((resolve) => this.socket.once('close', (code, reason) => resolve({ code, reason: reason.toString() })))
  }

  async close(): Promise<void> {
    const closed = this.closed()
    if (this.socket.readyState !== WebSocket.CLOSED) this.socket.close()
    await closed
  }
}

export type SocketIoTransport = 'websocket' | 'polling'

export class SocketIoClient implements DashboardClient {
  readonly inbox = new Inbox()
  readonly kind: string
  /** Events whose name differs from the envelope's type (none are expected). */
  readonly mismatched: Array<{ event: string; message: unknown }> = []
  /** Why it disconnected, once it has (it never reconnects by itself). */
  #disconnectReason: string | undefined

  private constructor(
    readonly socket: Socket,
    transport: string,
  ) {
    this.kind = `socket.io/${transport}`
    socket.on('disconnect', (reason) => (this.#disconnectReason = reason))
    socket.onAny((event: string, message: AnyEnvelope) => {
      if (message?.type !== event) this.mismatched.push({ event, message })
      this.inbox.push(message)
    })
  }

  /**
   * A Socket.IO client socket that does not reconnect by itself. `default` is the client's own choice of
   * transports (long-polling, then an upgrade to WebSocket). `withCredentials` keeps cookies between
   * requests as a browser does, which a load balancer's sticky-session cookie needs.
   */
  static socket(
    origin: string,
    options: {
      auth?: Record<string, unknown>
      query?: Record<string, string>
      headers?: Record<string, string>
      transport?: SocketIoTransport | 'default'
      withCredentials?: boolean
      localAddress?: string
    },
  ): Socket {
    const transport = options.transport ?? 'websocket'
    return io(origin, {
      transports: transport === 'default' ? ['polling', 'websocket'] : [transport],
      auth: options.auth ?? {},
      reconnection: false,
      forceNew: true,
      ...(options.query ? { query: options.query } : {}),
      ...(options.headers ? { extraHeaders: options.headers } : {}),
      ...(options.withCredentials ? { withCredentials: true } : {}),
      ...(options.localAddress ? { localAddress: options.localAddress } : {}),
    })
  }

  /** Connects the socket; rejects with the `connect_error` (message and data) if the handshake is refused. */
  static open(socket: Socket, transport: SocketIoTransport | 'default' = 'websocket'): Promise<SocketIoClient> {
    const client = new SocketIoClient(socket, transport)
    return new Promise((resolve, reject) => {
      socket.once('connect', () => resolve(client))
      socket.once('connect_error', (error: Error & { data?: unknown }) => {
        socket.close()
        reject(error)
      })
    })
  }

  /** Connects with `auth: { token, schoolId, since }`; rejects with the connect_error if refused. */
  static connect(
    origin: string,
    schoolId: number | string,
    token: string | undefined,
    transport: SocketIoTransport | 'default' = 'websocket',
    options: { withCredentials?: boolean } & ResumeOptions = {},
  ): Promise<SocketIoClient> {
    const since = options.since === undefined ? {} : { since: options.since }
    const auth = token === undefined ? { schoolId, ...since } : { token, schoolId, ...since }
    return SocketIoClient.open(SocketIoClient.socket(origin, { ...options, auth, transport }), transport)
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

  /**
   * Resolves with the reason it disconnected ('io server disconnect' when the server ended it): at once if it
   * already has, so that a disconnect that beat the caller (an answer and a close racing) is not missed.
   */
  disconnected(): Promise<string> {
    if (this.socket.disconnected && this.#disconnectReason !== undefined) return Promise.resolve(this.#disconnectReason)
    return new Promise((resolve) => this.socket.once('disconnect', (reason) => resolve(reason)))
  }

  close(): Promise<void> {
    this.socket.close()
    return Promise.resolve()
  }
}

/** A client that has its school's snapshot: awaits the connection and its first `metrics_update`; closed at the test's teardown. */
export async function watching<C extends DashboardClient>(t: { teardown(fn: () => unknown): void }, connecting: Promise<C>): Promise<C> {
  const client = await connecting
  t.teardown(() => client.close())
  await client.inbox.waitFor((m) => m.type === 'metrics_update', 'the snapshot')
  return client
}

/** Each client answers a ping carrying `label`: it is still open. */
export async function stillOpen(clients: DashboardClient | DashboardClient[], label: string): Promise<void> {
  await Promise.all(
    [clients].flat().map(async (client) => {
      client.ping(label)
      await client.inbox.waitFor((m) => m.type === 'pong' && m.data === label, `${client.kind}: still open (${label})`)
    }),
  )
}
