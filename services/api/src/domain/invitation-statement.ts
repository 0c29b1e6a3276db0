// Sending an invitation in one SQL statement: the caller's access (owner or admin of the school, with a
// live session), the checks, the school's next seq (its row lock), the invitation and its
// `invitation.created` event, committed together in one round trip. This is the API's busiest write, and
// one statement holds the school's row lock for microseconds where an interactive transaction would hold
// it across several round trips.
//
// The checks read the snapshot the statement started with, not what commits while it waits for the row
// lock. For duplicates the database decides: a partial unique index allows one pending invitation per
// email and school, so the second of two racing statements fails and is answered 409. The hourly quota
// and the "already a member" check can be passed by statements racing for the same school (a quota
// overshoot of at most the number of concurrent requests; an invitation to someone who joined that
// instant, which accepting then refuses as already_member). The event's payload is built in SQL by
// @school/db's event log, from the definition its TypeScript form uses too.
import { invitationEventPayload, invitationEventPayloadSql, Prisma, type Invitation, type PrismaClient } from '@school/db'
import { ADMIN_ROLES, type Role } from '@school/events'
import { rawUniqueViolationOn } from './prisma-errors.js'
import type { AppendedEvent } from './school-log.js'

export interface NewInvitation {
  schoolId: number
  actorId: number
  email: string
  role: Exclude<Role, 'school_owner'>
  message: string | null
}

export interface InvitationStatementInput extends NewInvitation {
  /** The session of the caller's access token, if it belongs to one: it must still be live. */
  sessionId: string | undefined
  tokenHash: string
  expiresAt: Date
  eventId: string
  correlationId: string | null
  /** Invitations one school may create per rolling hour. */
  quota: number
  now: Date
}

export type InvitationStatementOutcome =
  | { kind: 'created'; invitation: Invitation; event: AppendedEvent }
  /** The caller may not invite here: what the school routes' access check would have answered. */
  | { kind: 'no_user' | 'session_ended' | 'forbidden' }
  | { kind: 'member' | 'quota' | 'pending' | 'no_school' }
  /** A pending invitation for the email lapsed unmarked: marking it expired needs its own event first. */
  | { kind: 'lapsed' }

interface StatementRow {
  user_exists: boolean
  actor_name: string | null
  session_live: boolean
  school_exists: boolean
  admin: boolean
  member: boolean
  recent: number
  pending_live: boolean
  pending_lapsed: boolean
  seq: number | null
  id: number | null
  schoolId: number
  email: string
  role: Invitation['role']
  message: string | null
  status: Invitation['status']
  tokenHash: string
  expiresAt: Date
  invitedById: number | null
  respondedAt: Date | null
  createdAt: Date
  updatedAt: Date
}

const PENDING_INDEX = 'invitations_one_pending_per_email'

/**
 * The columns `member`, `recent` (invitations of the last hour, counted up to the quota) and `pending_live`
 * (a pending invitation for the email that has not lapsed): what a new invitation must not collide with.
 * Shared by this statement and the locked path in invitations.ts.
 */
export function collisionColumns(input: Pick<NewInvitation, 'schoolId' | 'email'>, now: Date, quota: number): Prisma.Sql {
  const hourAgo = new Date(now.getTime() - 3600_000)
  return Prisma.sql`
    EXISTS (SELECT 1 FROM memberships m JOIN users u ON u.id = m.user_id
            WHERE m.school_id = ${input.schoolId} AND u.email = ${input.email}) AS member,
    (SELECT count(*)::int FROM (SELECT 1 FROM invitations
            WHERE school_id = ${input.schoolId} AND created_at > ${hourAgo} LIMIT ${quota}) AS last_hour) AS recent,
    EXISTS (SELECT 1 FROM invitations WHERE school_id = ${input.schoolId} AND email = ${input.email}
            AND status = 'pending' AND expires_at > ${now}) AS pending_live`
}

export async function createInvitationStatement(prisma: PrismaClient, input: InvitationStatementInput): Promise<InvitationStatementOutcome> {
  const { schoolId, email, now } = input
  const session = input.sessionId ?? null
  let rows: StatementRow[]
  try {
    rows = await prisma.$queryRaw<StatementRow[]>`
      WITH access AS (
        SELECT u.id IS NOT NULL AS user_exists, u.name AS actor_name,
               (${session}::uuid IS NULL OR EXISTS (
                 SELECT 1 FROM sessions se WHERE se.id = ${session}::uuid AND se.user_id = u.id AND se.revoked_at IS NULL
               )) AS session_live,
               EXISTS (SELECT 1 FROM schools WHERE id = ${schoolId}) AS school_exists,
               COALESCE(m.role::text = ANY(${[...ADMIN_ROLES]}::text[]), false) AS admin
        FROM (SELECT 1) AS one
        LEFT JOIN users u ON u.id = ${input.actorId}
        LEFT JOIN memberships m ON m.user_id = u.id AND m.school_id = ${schoolId}
      ),
      checks AS (
        SELECT
          ${collisionColumns(input, now, input.quota)},
          EXISTS (SELECT 1 FROM invitations WHERE school_id = ${schoolId} AND email = ${email}
                  AND status = 'pending' AND expires_at <= ${now}) AS pending_lapsed
      ),
      school AS (
        UPDATE schools SET last_event_seq = last_event_seq + 1
        WHERE id = ${schoolId}
          AND (SELECT user_exists AND session_live AND admin FROM access)
          AND (SELECT NOT member AND recent < ${input.quota} AND NOT pending_live AND NOT pending_lapsed FROM checks)
        RETURNING last_event_seq
      ),
      created AS (
        INSERT INTO invitations (school_id, email, role, message, token_hash, expires_at, invited_by_id, created_at, updated_at)
        SELECT ${schoolId}, ${email}, CAST(${input.role} AS "Role"), ${input.message}, ${input.tokenHash}, ${input.expiresAt},
               ${input.actorId}, ${now}, ${now}
        FROM school
        RETURNING *
      ),
      event AS (
        INSERT INTO domain_events (id, school_id, seq, type, actor_id, payload, correlation_id, occurred_at)
        SELECT CAST(${input.eventId} AS uuid), ${schoolId}, school.last_event_seq, 'invitation.created', ${input.actorId},
               ${invitationEventPayloadSql('created')},
               ${input.correlationId}, ${now}
        FROM created, school
        RETURNING seq
      )
      SELECT access.user_exists, access.actor_name, access.session_live, access.school_exists, access.admin,
             checks.member, checks.recent, checks.pending_live, checks.pending_lapsed, (SELECT seq FROM event) AS seq,
             created.id, created.school_id AS "schoolId", created.email, created.role::text AS role, created.message,
             created.status::text AS status, created.token_hash AS "tokenHash", created.expires_at AS "expiresAt",
             created.invited_by_id AS "invitedById", created.responded_at AS "respondedAt",
             created.created_at AS "createdAt", created.updated_at AS "updatedAt"
      FROM access, checks LEFT JOIN created ON true`
  } catch (error) {
    if (rawUniqueViolationOn(error) === PENDING_INDEX) return { kind: 'pending' }
    throw error
  }
  const row = rows[0]!
  // The access check's order (as every school route answers), then the checks under the row lock's:
  // member, quota, pending.
  if (!row.user_exists) return { kind: 'no_user' }
  if (!row.session_live) return { kind: 'session_ended' }
  if (!row.school_exists) return { kind: 'no_school' }
  if (!row.admin) return { kind: 'forbidden' }
  if (row.member) return { kind: 'member' }
  if (row.recent >= input.quota) return { kind: 'quota' }
  if (row.pending_live) return { kind: 'pending' }
  if (row.pending_lapsed) return { kind: 'lapsed' }
  if (row.id === null || row.seq === null) return { kind: 'no_school' }
  const { user_exists: _u, actor_name, session_live: _s, school_exists: _e, admin: _a, member: _m, recent: _r, pending_live: _p, pending_lapsed: _l, seq, ...fields } = row
  const invitation = { ...fields, id: row.id }
  // What the statement wrote into the log, for the event's job: the actor passed the access check, so exists.
  const content = { actor: { id: input.actorId, name: actor_name! }, payload: invitationEventPayload(invitation), correlationId: input.correlationId }
  return {
    kind: 'created',
    invitation,
    event: { id: input.eventId, schoolId, seq, type: 'invitation.created', occurredAt: now, content },
  }
}
