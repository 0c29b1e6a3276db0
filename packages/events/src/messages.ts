// Messages a dashboard client receives, identical over plain WebSocket and Socket.IO.
import type { InvitationStatus, Role, DomainEventType } from './domain-events.js'

export interface SchoolMetrics {
  students: number
  teachers: number
  admins: number
  classes: number
  pendingInvitations: number
  acceptedInvitations: number
  declinedInvitations: number
  cancelledInvitations: number
  expiredInvitations: number
}

export interface Activity {
  id: string
  seq: number
  type: DomainEventType
  actor: { id: number; name: string } | null
  /** A sentence for the feed, e.g. "Olivia Owner invited ana@example.com as teacher". */
  summary: string
  occurredAt: string
}

/** A school with nothing in it: every counter zero. */
export const EMPTY_METRICS: Readonly<SchoolMetrics> = Object.freeze({
  students: 0,
  teachers: 0,
  admins: 0,
  classes: 0,
  pendingInvitations: 0,
  acceptedInvitations: 0,
  declinedInvitations: 0,
  cancelledInvitations: 0,
  expiredInvitations: 0,
})

/** Counters that are zero but for the ones given. */
export function metricsWith(counters: Partial<SchoolMetrics>): SchoolMetrics {
  return { ...EMPTY_METRICS, ...counters }
}

/** One user watching a school's dashboard right now, with their open connections across all instances. */
export interface PresenceWatcher {
  id: number
  name: string
  role: Role
  connections: number
}

/**
 * How a dashboard is connected: the plain WebSocket endpoint or Socket.IO. These strings are also the
 * `transport` label of the realtime metrics and the `transport` field of its log lines.
 */
export const DASHBOARD_TRANSPORTS = ['websocket', 'socket.io'] as const
export type DashboardTransport = (typeof DASHBOARD_TRANSPORTS)[number]

export interface ServerMessages {
  connection_established: {
    schoolId: number
    user: { id: number; email: string | null; name: string; role: Role }
    transport: DashboardTransport
  }
  metrics_update: SchoolMetrics
  activity_new: Activity
  invitation_status_update: {
    invitationId: number
    email: string
    role: Role
    status: InvitationStatus
  }
  /**
   * The client asked to resume after `since` but the server cannot replay from there (too far behind,
   * or ahead of the log); a fresh `metrics_update` snapshot follows, and the feed should be reloaded.
   */
  resume_unavailable: { since: number; lastEventSeq: number; reason: 'too_old' | 'ahead_of_log' }
  /**
   * Who has the dashboard open, sorted by name then id; complete each time (replace, do not merge). No `seq`:
   * `version` grows with every change of the school's watchers, and a connection is never sent a lower
   * version after a higher one (nor the same version twice).
   */
  presence_update: { schoolId: number; watchers: PresenceWatcher[]; version: number }
  /**
   * The connection's access token expires at `expiresAt` (ISO 8601), TOKEN_EXPIRING_NOTICE_S (60 s) from
   * now or less: send a fresh token of the same session in a `refresh` message before then, or the
   * connection is closed (4001) at that time.
   */
  token_expiring: { expiresAt: string }
  /** A `refresh` was accepted: the connection now lives until the new token's expiry. */
  token_refreshed: { expiresAt: string }
  pong: unknown
  error: { code: ClientErrorCode; message: string }
}

export type ServerMessageType = keyof ServerMessages

/** Every server message type once, in the order they are documented (docs/PROTOCOL.md); the key list makes a new type a compile error here until it is added. */
const SERVER_MESSAGE_KEYS: { readonly [T in ServerMessageType]: null } = {
  connection_established: null,
  metrics_update: null,
  activity_new: null,
  invitation_status_update: null,
  resume_unavailable: null,
  presence_update: null,
  token_expiring: null,
  token_refreshed: null,
  pong: null,
  error: null,
}
/** The server's message types: a Socket.IO client listens to each (the event name is the message type). */
export const SERVER_MESSAGE_TYPES = Object.keys(SERVER_MESSAGE_KEYS) as readonly ServerMessageType[]

export type ClientErrorCode =
  | 'invalid_json'
  | 'invalid_message'
  | 'unknown_type'
  | 'unsupported_frame'
  | 'rate_limited'
  | 'token_expired'
  | 'access_revoked'
  /** The connection's session ended (sign-out, password change, a reused refresh token); it is closed. */
  | 'session_revoked'
  /** A `refresh` whose token is malformed, forged or signed with a key that is not accepted; the connection is unchanged. */
  | 'invalid_token'
  /** A `refresh` whose token has already expired; the connection is unchanged. */
  | 'expired_token'
  /** A `refresh` whose token belongs to another user or another session; the connection is unchanged. */
  | 'token_mismatch'
  /** A `refresh` sent while the previous one is still being checked; the connection is unchanged. */
  | 'refresh_in_progress'
  /** The server could not check a `refresh` (its database did not answer); try again. The connection is unchanged. */
  | 'internal_error'

/**
 * Envelope of every server message. Messages caused by a domain event carry its id and sequence;
 * a `metrics_update` carries the sequence of the last event its counters include.
 */
export interface Envelope<T extends ServerMessageType = ServerMessageType> {
  type: T
  data: ServerMessages[T]
  ts: string
  eventId?: string
  seq?: number
}

export type AnyEnvelope = { [T in ServerMessageType]: Envelope<T> }[ServerMessageType]

export interface ClientMessages {
  ping: unknown
  /** In-band renewal: a fresh access token of the same user and session (Socket.IO: event `refresh`, `{token}`). */
  refresh: { token: string }
}
export type ClientMessageType = keyof ClientMessages
export const CLIENT_MESSAGE_TYPES: readonly ClientMessageType[] = ['ping', 'refresh']

export function envelope<T extends ServerMessageType>(
  type: T,
  data: ServerMessages[T],
  origin: { eventId?: string; seq?: number } = {},
): Envelope<T> {
  const message: Envelope<T> = { type, data, ts: new Date().toISOString() }
  if (origin.eventId !== undefined) message.eventId = origin.eventId
  if (origin.seq !== undefined) message.seq = origin.seq
  return message
}

/** The Socket.IO room (and Redis channel suffix) of a school's dashboard. */
export function dashboardRoom(schoolId: number): string {
  return `school_dashboard_${schoolId}`
}

/** Path of the plain WebSocket endpoint; the trailing slash is optional. */
export const DASHBOARD_WS_PATH = /^\/ws\/schools\/([^/]+)\/dashboard\/?$/

/** Ids are PostgreSQL `integer` columns: 1 to 2^31-1. */
export const MAX_ID = 2_147_483_647

/** Parses an id from a path segment; null for anything but a plain decimal in range. */
export function parseId(raw: string): number | null {
  if (!/^[1-9][0-9]{0,9}$/.test(raw)) return null
  const id = Number(raw)
  return id <= MAX_ID ? id : null
}
