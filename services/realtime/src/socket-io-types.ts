// The typed Socket.IO server of the dashboard: event names are the message types of @school/events.
import type { Server, Socket } from 'socket.io'
import type { Envelope, ServerMessageType } from '@school/events'
import type { DashboardAccess } from './gateways/handshake.js'
import type { ConnectionLease } from './guards/connection-limits.js'

export type ServerToClientEvents = { [T in ServerMessageType]: (message: Envelope<T>) => void }
export interface ClientToServerEvents {
  ping: (data: unknown) => void
}
/** Messages between realtime instances (Socket.IO's serverSideEmit, carried by the adapter). */
export interface InterServerEvents {
  /** A user's owner/admin access to a school may have ended: each instance re-checks their connections to it. */
  access_changed: (change: { schoolId: number; userId: number }) => void
}
export interface SocketData {
  access: DashboardAccess
  /** The connection's slot under the per-user and per-address limits, given back at disconnect. */
  slot?: ConnectionLease
  /** Set when the server dropped the connection itself (a stalled client, a failed sync). */
  dropReason?: 'slow_consumer' | 'sync_failed'
}
export type DashboardServer = Server<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>
export type DashboardSocket = Socket<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>
