// Real dashboard clients for the tests: a plain WebSocket (ws) and a Socket.IO client, each recording
// every message it receives in an Inbox the test can await on.
import type { IncomingMessage } from 'node:http'
import WebSocket from 'ws'
import { io, type Socket } from 'socket.io-client'
import type { AnyEnvelope } from '@school/events'

/** How long an awaited message may take before the test fails with a description instead of hanging. */
const WAIT_LIMIT_MS = 15_000

interface Waiter {
  predicate: (message: AnyEnvelope) => boolean
  resolve: (message: AnyEnvelope) => void
}

type PresenceUpdate = Extract<AnyEnvelope, { type: 'presence_update' }>

export class Inbox {
  /** Every message but `presence_update`s, which come at times of their own (connections) and are kept apart. */
  readonly messages: AnyEnvelope[] = []
  /** The `presence_update`s received, in arrival order. */
  readonly presence: PresenceUpdate[] = []
  #cursor = 0
  #waiters: Waiter[] = []
  #nextWaiter: (() => void) | undefined

  push(message: AnyEnvelope): void {
    if (message.type === 'presence_update') this.presence.push(message)
    else this.messages.push(message)
    this.#waiters = this.#waiters.filter((waiter) => {
      if (!waiter.predicate(message)) return true
      waiter.resolve(message)
      return false
    })
    if (message.type !== 'presence_update') this.#nextWaiter?.()
  }

  /** The next message not yet read through next(), in arrival order. */
  async next(description = 'the next message'): Promise<AnyEnvelope> {
    while (this.#cursor >= this.messages.length) {
      await withLimit(new Promise<void>((resolve) => (this.#nextWaiter = resolve)), description)
      this.#nextWaiter = undefined
    }
    return this.messages[this.#cursor++]!
  }

  /** The first message, already received or still to come, that satisfies `predicate`. */
  waitFor(predicate: (message: AnyEnvelope) => boolean, description: string): Promise<AnyEnvelope> {
    const found = this.messages.find(predicate) ?? this.presence.find(predicate)
    if (found) return Promise.resolve(found)
    return withLimit(new Promise<AnyEnvelope>((resolve) => this.#waiters.push({ predicate, resolve })), description)
  }

  /** School broadcasts received so far: what follows the welcome snapshot, minus replies to the client. */
  broadcasts(): AnyEnvelope[] {
    const snapshot = this.messages.findIndex((m) => m.type === 'metrics_update')
    return this.messages.slice(snapshot + 1).filter((m) => m.type !== 'pong' && m.type !== 'error')
  }
}

function withLimit<T>(promise: Promise<T>, description: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${description}`)), WAIT_LIMIT_MS)
  })
  return Promise.race([promise, limit]).finally(() => clearTimeout(timer))
}

export interface HttpRefusal {
  status: number
  headers: IncomingMessage['headers']
  body: unknown
}

export interface DashboardClient {
  readonly kind: string
  readonly inbox: Inbox
  ping(data: unknown): void
  refresh(token: string): void
  close(): Promise<void>
}

export class PlainClient implements DashboardClient {
  readonly kind = 'websocket'
  readonly inbox = new Inbox()
  /** Frames that were not JSON text (none are expected). */
  readonly strayFrames: unknown[] = []

  private constructor(readonly socket: WebSocket) {
    socket.on('message', (data, isBinary) => {
      if (isBinary) return void this.strayFrames.push(data)
      try {
        this.inbox.push(JSON.parse(data.toString()) as AnyEnvelope)
      } catch {
        this.strayFrames.push(data.toString())
      }
    })
  }

  static url(origin: string, schoolId: number | string, token?: string): string {
    const base = `${origin.replace(/^http/, 'ws')}/ws/schools/${schoolId}/dashboard/`
    return token === undefined ? base : `${base}?token=${encodeURIComponent(token)}`
  }

  /** Opens the socket; rejects with `{ refusal }` if the server answers the upgrade with an HTTP error. */
  static open(url: string, headers: Record<string, string> = {}): Promise<PlainClient> {
    const socket = new WebSocket(url, { headers })
    const client = new PlainClient(socket)
    return new Promise((resolve, reject) => {
      socket.once('open', () => resolve(client))
      socket.once('unexpected-response', (_request, response: IncomingMessage) => {
        let body = ''
        response.setEncoding('utf8')
        response.on('data', (chunk: string) => (body += chunk))
        response.on('end', () => {
          socket.terminate()
          const refusal: HttpRefusal = { status: response.statusCode ?? 0, headers: response.headers, body: JSON.parse(body || 'null') }
          reject(Object.assign(new Error(`refused with ${response.statusCode}`), { refusal }))
        })
      })
      socket.once('error', reject)
    })
  }

  /** Connects with `Authorization: Bearer` (or `?token=`) to the school's dashboard. */
  static connect(origin: string, schoolId: number | string, token: string, via: 'header' | 'query' = 'header'): Promise<PlainClient> {
    return via === 'header'
      ? PlainClient.open(PlainClient.url(origin, schoolId), { Authorization: `Bearer ${token}` })
      : PlainClient.open(PlainClient.url(origin, schoolId, token))
  }

  ping(data: unknown): void {
    this.socket.send(JSON.stringify({ type: 'ping', data }))
  }

  /** In-band renewal: `{"type":"refresh","data":{"token":...}}`. */
  refresh(token: string): void {
    this.socket.send(JSON.stringify({ type: 'refresh', data: { token } }))
  }

  send(data: string | Buffer): void {
    this.socket.send(data)
  }

  /** Resolves with the close code and reason once the socket is closed. */
  closed(): Promise<{ code: number; reason: string }> {
    return new Promise((resolve) => this.socket.once('close', (code, reason) => resolve({ code, reason: reason.toString() })))
  }

  close(): Promise<void> {
    if (this.socket.readyState === WebSocket.CLOSED) return Promise.resolve()
    const closed = this.closed()
    this.socket.close()
    return closed.then(() => undefined)
  }
}

export type SocketIoTransport = 'websocket' | 'polling'

export class SocketIoClient implements DashboardClient {
  readonly inbox = new Inbox()
  readonly kind: string
  /** Events whose name differs from the envelope's type (none are expected). */
  readonly mismatched: Array<{ event: string; message: unknown }> = []

  private constructor(
    readonly socket: Socket,
    transport: SocketIoTransport,
  ) {
    this.kind = `socket.io/${transport}`
    socket.onAny((event: string, message: AnyEnvelope) => {
      if (message?.type !== event) this.mismatched.push({ event, message })
      this.inbox.push(message)
    })
  }

  static socket(
    origin: string,
    options: { auth?: Record<string, unknown>; query?: Record<string, string>; headers?: Record<string, string>; transport?: SocketIoTransport },
  ): Socket {
    return io(origin, {
      transports: [options.transport ?? 'websocket'],
      auth: options.auth ?? {},
      ...(options.query ? { query: options.query } : {}),
      ...(options.headers ? { extraHeaders: options.headers } : {}),
      reconnection: false,
      forceNew: true,
    })
  }

  /** Connects; rejects with the `connect_error` (message and data) if the handshake is refused. */
  static open(socket: Socket, transport: SocketIoTransport = 'websocket'): Promise<SocketIoClient> {
    const client = new SocketIoClient(socket, transport)
    return new Promise((resolve, reject) => {
      socket.once('connect', () => resolve(client))
      socket.once('connect_error', (error: Error & { data?: unknown }) => {
        socket.close()
        reject(error)
      })
    })
  }

  static connect(origin: string, schoolId: number | string, token: string | undefined, transport: SocketIoTransport = 'websocket') {
    const auth = token === undefined ? { schoolId } : { token, schoolId }
    return SocketIoClient.open(SocketIoClient.socket(origin, { auth, transport }), transport)
  }

  ping(data: unknown): void {
    this.socket.emit('ping', data)
  }

  /** In-band renewal: event `refresh` with `{token}`. */
  refresh(token: string): void {
    this.socket.emit('refresh', { token })
  }

  /** Resolves with the disconnect reason. */
  disconnected(): Promise<string> {
    return new Promise((resolve) => this.socket.once('disconnect', (reason) => resolve(reason)))
  }

  close(): Promise<void> {
    this.socket.close()
    return Promise.resolve()
  }
}
