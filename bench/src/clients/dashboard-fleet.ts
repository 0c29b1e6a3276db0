// Many dashboard clients in this process, of one school or each of its own (`endpointFor`), over the plain
// WebSocket endpoint or Socket.IO, counting the activity_new messages they receive; a few sampled clients
// also time each one, and a scenario may see every one (`onActivity`) or every message of another type
// (`watch`). Clients can be added and removed while the fleet runs (churn).
import WebSocket from 'ws'
import { io, type Socket } from 'socket.io-client'
import type { AnyEnvelope, DashboardTransport, ServerMessageType } from '@school/events'
import { sourceAddressFor } from './source-addresses.js'
import { CountThreshold } from '../harness/count-threshold.js'

export type FleetTransport = DashboardTransport

/** Where one client connects, and as whom. */
export interface FleetEndpoint {
  /** ws://.../dashboard/ URL for plain clients, the http origin for Socket.IO. */
  url: string
  schoolId: number
  token: string | undefined
}

export interface FleetOptions {
  transport: FleetTransport
  /** ws://.../dashboard/ URL for plain clients, the http origin for Socket.IO. */
  url: string
  schoolId: number
  token: string | undefined
  count: number
  /** How many clients parse every message to time it (the rest only count). */
  sampled: number
  /** Handshakes in flight at once. */
  connectConcurrency?: number
  /**
   * Called with every activity_new any client receives and this process's performance.now() at receipt:
   * the raw frame for plain clients (unparsed, to keep the generator cheap), the envelope for Socket.IO.
   */
  onActivity?: (message: Buffer | AnyEnvelope, receivedAt: number) => void
  /** The i-th client's endpoint, when the clients are not all of one school (`url`, `schoolId`, `token` unused). */
  endpointFor?: (index: number) => FleetEndpoint
  /** Clients per loopback source address, below a service's per-address connection limit (default 20,000). */
  connectionsPerSourceAddress?: number
  /** Every message of `type` any client receives, as `onActivity` hands them, with the client's index. */
  watch?: { type: ServerMessageType; onMessage: (message: Buffer | AnyEnvelope, receivedAt: number, clientIndex: number) => void }
}

/** The plain WebSocket endpoint of a school's dashboard on a realtime origin (or a load balancer). */
export function plainDashboardUrl(origin: string, schoolId: number): string {
  return `${origin.replace(/^http/, 'ws')}/ws/schools/${schoolId}/dashboard/`
}

/** The endpoint of the bare ws server (servers/bare-ws-server.ts). */
export function bareWsUrl(origin: string): string {
  return `${origin.replace(/^http/, 'ws')}/ws`
}

// Envelopes are serialized with `type` first, so a plain client can count without parsing.
const ACTIVITY_MARKER = Buffer.from('{"type":"activity_new"')

interface Member {
  /**
   * `graceful`: the protocol's clean close (WebSocket close handshake, Socket.IO disconnect packet);
   * `abrupt`: the connection is dropped without one; unset: the quickest (abrupt for plain clients, the
   * Socket.IO disconnect packet otherwise).
   */
  close(how?: 'graceful' | 'abrupt'): Promise<void>
}

/** How long a plain client waits for the server's handshake answer. */
const HANDSHAKE_TIMEOUT_MS = 30_000
/** How long a graceful close may take before the socket is dropped. */
const GRACEFUL_CLOSE_MS = 2000

export class DashboardFleet {
  /** Clients whose connection the server (or the network) ended after their first message; not those this fleet closed. */
  closedByServer = 0
  /** Those ends by close code (plain WebSocket) or disconnect reason (Socket.IO). */
  readonly serverCloses: Record<string, number> = {}
  /** Receipt time minus the message's `data.occurredAt`, in ms, from the sampled clients. */
  latencies: number[] = []
  private readonly members: Member[] = []
  private readonly activity = new CountThreshold()

  private constructor(readonly options: FleetOptions) {}

  /** activity_new messages received by all clients together. */
  get activityReceived(): number {
    return this.activity.count
  }

  static async open(options: FleetOptions): Promise<DashboardFleet> {
    const fleet = new DashboardFleet(options)
    try {
      await fleet.grow(options.count)
    } catch (error) {
      await fleet.close()
      throw error
    }
    return fleet
  }

  get size(): number {
    return this.members.length
  }

  /** Adds `more` clients, each counted as connected once the server's first message has arrived. */
  async grow(more: number, totalPlanned = Math.max(this.options.count, this.members.length + more)): Promise<void> {
    const concurrency = this.options.connectConcurrency ?? 200
    const start = this.members.length
    let next = start
    const end = start + more
    const workers = Array.from({ length: Math.min(concurrency, more) }, async () => {
      while (next < end) {
        const index = next++
        const member = await this.connect(index, sourceAddressFor(index, totalPlanned, this.options.connectionsPerSourceAddress))
        this.members.push(member)
      }
    })
    await Promise.all(workers)
  }

  /** Resolves true once `target` activity messages have arrived in total, false after `timeoutMs`. */
  waitForActivity(target: number, timeoutMs: number): Promise<boolean> {
    return this.activity.reached(target, timeoutMs)
  }

  async close(): Promise<void> {
    await Promise.all(this.members.splice(0).map((member) => member.close()))
  }

  /** Disconnects the `count` oldest clients, cleanly or abruptly. */
  async shrink(count: number, how: 'graceful' | 'abrupt'): Promise<void> {
    await Promise.all(this.members.splice(0, count).map((member) => member.close(how)))
  }

  private countActivity(sample: AnyEnvelope | undefined): void {
    if (sample) {
      const occurredAt = (sample.data as { occurredAt?: string }).occurredAt
      if (occurredAt) this.latencies.push(Date.now() - Date.parse(occurredAt))
    }
    this.activity.add()
  }

  private connect(index: number, localAddress: string | undefined): Promise<Member> {
    const sampled = index < this.options.sampled
    const { url, schoolId, token } = this.options
    const endpoint = this.options.endpointFor?.(index) ?? { url, schoolId, token }
    return this.options.transport === 'websocket'
      ? this.connectPlain(index, endpoint, sampled, localAddress)
      : this.connectSocketIo(index, endpoint, sampled, localAddress)
  }

  private connectPlain(index: number, { url, token }: FleetEndpoint, sampled: boolean, localAddress: string | undefined): Promise<Member> {
    const watch = this.options.watch
    const watchMarker = watch ? Buffer.from(`{"type":"${watch.type}"`) : undefined
    let closing = false
    const socket = new WebSocket(url, {
      headers: token ? { Authorization: `Bearer ${token}` } : {},
      perMessageDeflate: false,
      // A handshake nobody answers (a proxy out of descriptors) fails the ramp rather than stalling it.
      handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
      ...(localAddress ? { localAddress } : {}),
    })
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()))
    const member: Member = {
      close(how = 'abrupt') {
        closing = true
        if (socket.readyState === WebSocket.CLOSED) return closed
        if (how === 'abrupt') {
          socket.terminate()
          return closed
        }
        socket.close(1000)
        const timer = setTimeout(() => socket.terminate(), GRACEFUL_CLOSE_MS)
        return closed.finally(() => clearTimeout(timer))
      },
    }
    return new Promise((resolve, reject) => {
      let welcomed = false
      socket.on('message', (data: Buffer, isBinary) => {
        if (!welcomed) {
          welcomed = true
          resolve(member)
        }
        if (watch && watchMarker && !isBinary && data.indexOf(watchMarker) === 0) watch.onMessage(data, performance.now(), index)
        if (isBinary || data.indexOf(ACTIVITY_MARKER) !== 0) return
        this.options.onActivity?.(data, performance.now())
        this.countActivity(sampled ? (JSON.parse(data.toString()) as AnyEnvelope) : undefined)
      })
      socket.once('unexpected-response', (_request, response) => reject(new Error(`plain handshake refused with ${response.statusCode}`)))
      socket.once('error', (error) => {
        if (!welcomed) reject(error)
      })
      // A server that accepts and then drops the connection before its first message (at its limits, or
      // shutting down) must fail the ramp, not leave it waiting forever.
      socket.once('close', (code) => {
        if (!welcomed) reject(new Error(`plain connection closed with ${code} before its first message`))
        else if (!closing) this.countServerClose(String(code))
      })
    })
  }

  private countServerClose(why: string): void {
    this.closedByServer++
    this.serverCloses[why] = (this.serverCloses[why] ?? 0) + 1
  }

  private connectSocketIo(index: number, { url, schoolId, token }: FleetEndpoint, sampled: boolean, localAddress: string | undefined): Promise<Member> {
    let closing = false
    const socket: Socket = io(url, {
      transports: ['websocket'],
      auth: { token, schoolId },
      reconnection: false,
      forceNew: true,
      ...(localAddress ? { localAddress } : {}),
    } as Parameters<typeof io>[1])
    socket.on('activity_new', (message: AnyEnvelope) => {
      this.options.onActivity?.(message, performance.now())
      this.countActivity(sampled ? message : undefined)
    })
    const watch = this.options.watch
    if (watch) socket.on(watch.type, (message: AnyEnvelope) => watch.onMessage(message, performance.now(), index))
    const member: Member = {
      close(how = 'graceful') {
        closing = true
        // Abrupt: the engine.io transport is closed under the Socket.IO socket, which never says goodbye.
        if (how === 'abrupt') socket.io.engine?.close()
        else socket.disconnect()
        return Promise.resolve()
      },
    }
    return new Promise((resolve, reject) => {
      let welcomed = false
      socket.once('connection_established', () => {
        welcomed = true
        resolve(member)
      })
      socket.once('connect_error', (error) => {
        socket.close()
        reject(error)
      })
      socket.once('disconnect', (reason) => {
        if (!welcomed) reject(new Error(`Socket.IO client disconnected (${reason}) before its first message`))
        else if (!closing) this.countServerClose(reason)
      })
    })
  }
}
