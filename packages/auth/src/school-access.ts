// The membership check behind every school-scoped route and channel, read from the database each time,
// never from token claims a user could have kept after losing the role; and, for tokens issued in a
// session, whether that session is still live (not signed out, not ended by a password change).
import type { PrismaClient } from '@school/db'
import { ADMIN_ROLES, type Role } from '@school/events'

export type SchoolAccess =
  | { kind: 'admin'; role: Role; user: { id: number; email: string | null; name: string } }
  | { kind: 'forbidden' }
  | { kind: 'no_school' }
  | { kind: 'no_user' }
  /** The token's session was revoked (sign-out, password change, reuse of a refresh token). */
  | { kind: 'session_ended' }

interface AccessRow {
  id: number
  email: string | null
  name: string
  session_live: boolean
  school_exists: boolean
  role: Role | null
}

/**
 * May this user administer this school, with a token of this session (undefined: a token tied to no
 * session)? Distinguishes a missing school (404) from a refusal (403) and an ended session (401).
 * One statement: it runs before every school route and dashboard handshake, so it is one round trip.
 */
export async function resolveSchoolAccess(prisma: PrismaClient, userId: number, schoolId: number, sessionId?: string): Promise<SchoolAccess> {
  const session = sessionId ?? null
  const rows = await prisma.$queryRaw<AccessRow[]>`
    SELECT u.id, u.email, u.name, s.id IS NOT NULL AS school_exists, m.role::text AS role,
      (${session}::uuid IS NULL OR EXISTS (
        SELECT 1 FROM sessions se WHERE se.id = ${session}::uuid AND se.user_id = u.id AND se.revoked_at IS NULL
      )) AS session_live
    FROM users u
    LEFT JOIN schools s ON s.id = ${schoolId}
    LEFT JOIN memberships m ON m.school_id = s.id AND m.user_id = u.id
    WHERE u.id = ${userId}`
  const row = rows[0]
  if (!row) return { kind: 'no_user' }
  if (!row.session_live) return { kind: 'session_ended' }
  if (!row.school_exists) return { kind: 'no_school' }
  if (!row.role || !ADMIN_ROLES.includes(row.role)) return { kind: 'forbidden' }
  return { kind: 'admin', role: row.role, user: { id: row.id, email: row.email, name: row.name } }
}

/** A user watching a school, with a token of this session (none: a token tied to no session). */
export interface SchoolWatcher {
  schoolId: number
  userId: number
  sessionId?: string | undefined
}

/** A watcher whose connections must end, and why: the owner/admin role is gone, or the session is. */
export interface LostWatcher extends SchoolWatcher {
  reason: 'access' | 'session'
}

/**
 * Of these watchers, those whose connections must end: the user is no longer an owner or admin of the
 * school (role changed, membership or account removed), or the session their token belongs to was
 * revoked (a lost session wins: its user must sign in again). One statement for all of them, whatever
 * their number: the realtime service's safety-net recheck of every open connection, and its re-check of
 * one user's connections when told of a change.
 */
export async function watchersWithoutAccess(prisma: PrismaClient, watchers: readonly SchoolWatcher[]): Promise<LostWatcher[]> {
  if (watchers.length === 0) return []
  const rows = await prisma.$queryRaw<Array<{ school_id: number; user_id: number; session_id: string | null; session_lost: boolean }>>`
    SELECT w.school_id, w.user_id, w.session_id::text AS session_id,
      (w.session_id IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM sessions se WHERE se.id = w.session_id AND se.user_id = w.user_id AND se.revoked_at IS NULL
      )) AS session_lost
    FROM unnest(
      ${watchers.map((watcher) => watcher.schoolId)}::int[],
      ${watchers.map((watcher) => watcher.userId)}::int[],
      ${watchers.map((watcher) => watcher.sessionId ?? null)}::uuid[]
    ) AS w(school_id, user_id, session_id)
    WHERE (w.session_id IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM sessions se WHERE se.id = w.session_id AND se.user_id = w.user_id AND se.revoked_at IS NULL
      ))
      OR NOT EXISTS (
        SELECT 1 FROM memberships m
        WHERE m.user_id = w.user_id AND m.school_id = w.school_id AND m.role::text = ANY(${[...ADMIN_ROLES]}::text[])
      )`
  return rows.map((row) => ({
    schoolId: row.school_id,
    userId: row.user_id,
    ...(row.session_id === null ? {} : { sessionId: row.session_id }),
    reason: row.session_lost ? 'session' : 'access',
  }))
}
