// The typed Socket.IO server of the dashboard: event names are the message types of @school/events.
import type { Server, Socket } from 'socket.io'
import type { Envelope, RevocationScope, ServerMessageType } from '@school/events'
import type { DashboardAccess } from './gateways/handshake.js'
import type { ConnectionLease } from './guards/connection-limits.js'
import type { DropReason } from './streams/dashboard-stream.js'

export type ServerToClientEvents = { [T in ServerMessageType]: (message: Envelope<T>) => void }
export interface ClientToServerEvents {
  ping: (data: unknown) => void
  /** In-band renewal: `{ token }`, a fresh access token of the same user and session. */
  refresh: (data: unknown) => void
}
/** Messages between realtime instances (Socket.IO's serverSideEmit, carried by the adapter). */
export interface InterServerEvents {
  /**
   * A user's connections in this scope (of a school, of a session, or all) may have to end (lost access,
   * an ended session): each instance re-checks them against the database. The name predates sessions; the
   * school scope is the message instances sent before, so instances of both versions understand each other.
   */
  access_changed: (scope: RevocationScope) => void
}
export interface SocketData {
  access: DashboardAccess
  /** The connection's slot under the per-user and per-address limits, given back at disconnect. */
  slot?: ConnectionLease
  /** Set when the server dropped the connection itself (a stalled client, a failed sync). */
  dropReason?: DropReason
}
export type DashboardServer = Server<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>
export type DashboardSocket = Socket<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>
