// The one access check both gateways run before a dashboard connection is accepted: the client address's
// handshake rate (first, so that a flood costs one Redis round trip per attempt and nothing more), a valid
// access token, a well-formed school id, an existing school, an owner or admin role in it read from the
// database at connect time, and a free slot under the per-user and per-address connection limits.
import type { RealtimeConfig } from '@school/config'
import type { PrismaClient } from '@school/db'
import { createTokenVerifier, resolveSchoolAccess } from '@school/auth'
import { MAX_ID, parseId, type Role } from '@school/events'
import type { ConnectionLease, ConnectionLimits, LimitRefusalCode } from '../guards/connection-limits.js'

export interface DashboardAccess {
  user: { id: number; email: string | null; name: string }
  role: Role
  schoolId: number
  /** The last sequence the client saw, when it asks to resume after it. */
  since?: number
  /** The access token's `exp` (seconds since the epoch): the connection ends when it passes (or is renewed in band). */
  tokenExpiresAt?: number
  /** The session of the access token (`sid`): renewal must keep it, and revoking it ends the connection. */
  sessionId?: string
}

export type RefusalCode =
  | 'unauthorized'
  | 'forbidden'
  | 'school_not_found'
  | 'invalid_since'
  | 'origin_not_allowed'
  | 'internal_error'
  | LimitRefusalCode

export interface HandshakeRefusal {
  status: 400 | 401 | 403 | 404 | 429 | 500
  code: RefusalCode
  message: string
  /** Sent as Retry-After (plain WebSocket) and in the connect_error's data (Socket.IO). */
  retryAfterSeconds?: number
}

export type HandshakeResult =
  /** `lease` is the connection's slot under the limits: the gateway releases it when the connection ends, however it ends. */
  | { accepted: true; access: DashboardAccess; lease: ConnectionLease }
  | { accepted: false; refusal: HandshakeRefusal }

export interface HandshakeCredentials {
  token: string | undefined
  /** As the client sent it (path segment, query or auth field); validated here. */
  schoolId: unknown
  /** `since` as the client sent it, if at all: a sequence number to resume after. */
  since?: unknown
  /** The client's address, as TRUST_PROXY lets the gateway determine it. */
  clientAddress: string
}

export type Handshake = (credentials: HandshakeCredentials) => Promise<HandshakeResult>

const refused = (status: HandshakeRefusal['status'], code: RefusalCode, message: string): HandshakeResult => ({
  accepted: false,
  refusal: { status, code, message },
})

const INVALID_TOKEN = refused(401, 'unauthorized', 'A valid access token is required')
const USER_GONE = refused(401, 'unauthorized', 'The user of this access token no longer exists')
const SESSION_ENDED = refused(401, 'unauthorized', 'The session of this access token has ended; sign in again')
const NO_SCHOOL = refused(404, 'school_not_found', 'School not found')
const FORBIDDEN = refused(403, 'forbidden', "Only the school's owners and admins can open its dashboard")
const INVALID_SINCE = refused(400, 'invalid_since', '`since` must be the sequence number of the last event received: an integer from 0')

/** `since` as sent (query string or Socket.IO auth): undefined when absent, null when malformed. */
export function parseSince(raw: unknown): number | undefined | null {
  if (raw === undefined || raw === null || raw === '') return undefined
  if (typeof raw === 'number') return Number.isSafeInteger(raw) && raw >= 0 && raw <= MAX_ID ? raw : null
  if (typeof raw !== 'string' || !/^(0|[1-9][0-9]{0,9})$/.test(raw)) return null
  const since = Number(raw)
  return since <= MAX_ID ? since : null
}

/** The token of an `Authorization: Bearer <token>` header, if that is what the header holds. */
export function bearerToken(header: string | string[] | undefined): string | undefined {
  const value = Array.isArray(header) ? header[0] : header
  const match = value ? /^Bearer[ ]+(\S+)\s*$/i.exec(value) : null
  return match?.[1]
}

export function createHandshake(deps: { config: RealtimeConfig; prisma: PrismaClient; limits: ConnectionLimits }): Handshake {
  const verify = createTokenVerifier(deps.config)
  return async ({ token, schoolId: rawSchoolId, since: rawSince, clientAddress }) => {
    const tooFast = await deps.limits.attempt(clientAddress)
    if (tooFast) return { accepted: false, refusal: tooFast }
    const verified = token ? await verify(token) : null
    if (!verified) return INVALID_TOKEN
    const schoolId = typeof rawSchoolId === 'string' || typeof rawSchoolId === 'number' ? parseId(String(rawSchoolId)) : null
    if (schoolId === null) return NO_SCHOOL
    const since = parseSince(rawSince)
    if (since === null) return INVALID_SINCE
    const access = await resolveSchoolAccess(deps.prisma, verified.userId, schoolId, verified.sessionId)
    switch (access.kind) {
      case 'no_user':
        return USER_GONE
      case 'session_ended':
        return SESSION_ENDED
      case 'no_school':
        return NO_SCHOOL
      case 'forbidden':
        return FORBIDDEN
      case 'admin': {
        const slot = await deps.limits.admit(access.user.id, clientAddress, verified.claims.exp)
        if ('refusal' in slot) return { accepted: false, refusal: slot.refusal }
        return {
          accepted: true,
          lease: slot.lease,
          access: {
            user: access.user,
            role: access.role,
            schoolId,
            ...(since === undefined ? {} : { since }),
            ...(verified.claims.exp === undefined ? {} : { tokenExpiresAt: verified.claims.exp }),
            ...(verified.sessionId === undefined ? {} : { sessionId: verified.sessionId }),
          },
        }
      }
    }
  }
}

/** What an unexpected failure (database down) looks like to the client; the cause goes to the log. */
export const HANDSHAKE_FAILED: HandshakeRefusal = {
  status: 500,
  code: 'internal_error',
  message: 'The connection could not be checked; try again',
}
