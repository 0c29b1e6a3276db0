// What the listener needs of a transport: open one connection, hand over its messages, and say how it
// ended. The plain WebSocket and Socket.IO connections implement it; the session decides what next.
import type { AnyEnvelope } from '@school/events'

export interface ConnectParams {
  origin: string
  schoolId: number
  token: string
  /** Resume after this sequence number. */
  since?: number
}

/** How a connection ended, in the terms the reconnect policy needs. */
export type ConnectionEnd =
  /** It was open and closed: a WebSocket close code, or for Socket.IO 0 and its disconnect reason. */
  | { kind: 'closed'; code: number; reason: string }
  /** The server refused the handshake: HTTP status and the body's code. */
  | { kind: 'refused'; status: number; code: string; message: string }
  /** It never opened: the network, a proxy, a timeout. */
  | { kind: 'failed'; message: string }
  /** We closed it. */
  | { kind: 'stopped' }

export interface DashboardConnection {
  /** Where it connects, for the log (without the token). */
  readonly description: string
  /** Settles once, when the connection has ended for any reason. */
  readonly ended: Promise<ConnectionEnd>
  /** Hands the open connection a fresh access token (in-band renewal; answered token_refreshed). */
  refresh(token: string): void
  close(): void
}

export type Connect = (params: ConnectParams, onMessage: (message: AnyEnvelope) => void) => DashboardConnection

/** How a connection's end is reported once: the first end wins (a close after a refusal changes nothing). */
export function connectionEnd(): { ended: Promise<ConnectionEnd>; settle(end: ConnectionEnd): void } {
  let resolve: (end: ConnectionEnd) => void = () => {}
  let settled = false
  const ended = new Promise<ConnectionEnd>((done) => (resolve = done))
  return {
    ended,
    settle(end) {
      if (settled) return
      settled = true
      resolve(end)
    },
  }
}
