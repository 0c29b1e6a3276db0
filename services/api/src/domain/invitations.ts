// Invitations: a school admin invites an email to a role; the invitee accepts (joining the school,
// signing up if needed) or declines with the token from the link. Each status change is one event.
import { randomUUID } from 'node:crypto'
import { hashPassword, verifyPasswordOrDummy } from '@school/auth'
import { invitationEventPayload as eventPayload, type Invitation, type PrismaClient, type Prisma } from '@school/db'
import type { InvitationStatus, Role } from '@school/events'
import { hashInvitationToken, isWellFormedInvitationToken, newInvitationToken } from './invitation-tokens.js'
import { collisionColumns, createInvitationStatement, type NewInvitation } from './invitation-statement.js'
import type { CallContext, DomainLog } from './call-context.js'
import { done, refuse, type Outcome, type Refused } from './outcomes.js'
import { changeSchool, unchanged, type ChangeDeps } from './school-change.js'
import type { SchoolLog, Tx } from './school-log.js'
import { createUser, retryIfEmailTaken } from './users.js'

export type { NewInvitation }

export const MAX_LISTED_INVITATIONS = 100

/** A pending invitation past its expiry: expired in effect, even before anyone has marked it. */
export function isLapsed(invitation: Pick<Invitation, 'status' | 'expiresAt'>, now: Date): boolean {
  return invitation.status === 'pending' && invitation.expiresAt.getTime() <= now.getTime()
}

/** The status clients see: a lapsed invitation reads as expired, as the dashboard metrics count it. */
export function effectiveStatus(invitation: Pick<Invitation, 'status' | 'expiresAt'>, now: Date): InvitationStatus {
  return isLapsed(invitation, now) ? 'expired' : invitation.status
}

/** Marks a lapsed invitation expired, with its own event. Expiry is no one's action: no actor. */
async function expire(tx: Tx, events: SchoolLog, invitation: Invitation): Promise<Invitation> {
  const expired = await tx.invitation.update({ where: { id: invitation.id }, data: { status: 'expired' } })
  await events.append('invitation.expired', null, eventPayload(expired))
  return expired
}

type NotAnswerable = Refused<'invitation_expired' | 'invitation_not_pending'>

/** Whether the invitation can still be answered, and whether it lapsed meanwhile; the refusal if not. */
function answerability(invitation: Invitation, now: Date): 'pending' | 'lapsed' | NotAnswerable {
  if (invitation.status === 'expired') return refuse('invitation_expired')
  if (invitation.status !== 'pending') return refuse('invitation_not_pending', { status: invitation.status })
  return isLapsed(invitation, now) ? 'lapsed' : 'pending'
}

/**
 * The invitation read again inside the school's change (under its lock): itself if it can still be answered;
 * null once it lapsed meanwhile, after recording its expiry; the refusal if it was answered or expired.
 */
async function answerableInChange(tx: Tx, events: SchoolLog, id: number): Promise<Outcome<Invitation | null, NotAnswerable['refused']>> {
  const invitation = await tx.invitation.findUniqueOrThrow({ where: { id } })
  const answerable = answerability(invitation, new Date())
  if (typeof answerable === 'object') return answerable
  if (answerable === 'lapsed') {
    await expire(tx, events, invitation)
    return done(null)
  }
  return done(invitation)
}

export interface InvitationDeps extends ChangeDeps {
  invitationTtlHours: number
  /** Invitations one school may create per rolling hour. */
  invitationsPerHour: number
}

interface InvitationChecks {
  member: boolean
  /** Invitations of the last hour, counted up to the quota (past it the exact number does not matter). */
  recent: number
  /** A pending invitation for this email that has not lapsed. */
  pendingLive: boolean
  /** Pending invitations for this email that lapsed without being marked expired yet. */
  lapsedIds: number[]
}

/** Everything a new invitation must not collide with, in one statement (it runs under the row lock). */
async function invitationChecks(tx: Tx, input: NewInvitation, now: Date, quota: number): Promise<InvitationChecks> {
  const [checks] = await tx.$queryRaw<Array<{ member: boolean; recent: number; pending_live: boolean; lapsed_ids: number[] }>>`
    SELECT
      ${collisionColumns(input, now, quota)},
      ARRAY(SELECT id FROM invitations WHERE school_id = ${input.schoolId} AND email = ${input.email}
            AND status = 'pending' AND expires_at <= ${now} ORDER BY id) AS lapsed_ids`
  return { member: checks!.member, recent: checks!.recent, pendingLive: checks!.pending_live, lapsedIds: checks!.lapsed_ids }
}

/** Why a new invitation is not sent: a collision, found by the statement or under the row lock. */
type CollisionRefusal = 'already_member' | 'invitation_quota_exceeded' | 'invitation_pending'

export type CreateInvitationRefusal = 'no_user' | 'session_ended' | 'forbidden' | 'school_not_found' | CollisionRefusal

/**
 * Sends an invitation as `input.actorId`, whose access (owner or admin of the school, with a live session)
 * the statement checks itself: the route need not ask the database first.
 */
export async function createInvitation(
  deps: InvitationDeps,
  context: CallContext,
  input: NewInvitation & { sessionId: string | undefined },
): Promise<Outcome<{ invitation: Invitation; token: string }, CreateInvitationRefusal>> {
  const token = newInvitationToken()
  const now = new Date()
  const expiresAt = new Date(now.getTime() + deps.invitationTtlHours * 3600_000)
  const outcome = await createInvitationStatement(deps.prisma, {
    ...input,
    tokenHash: hashInvitationToken(token),
    expiresAt,
    eventId: randomUUID(),
    correlationId: context.correlationId,
    quota: deps.invitationsPerHour,
    now,
  })
  switch (outcome.kind) {
    case 'no_user':
    case 'session_ended':
    case 'forbidden':
      return refuse(outcome.kind)
    case 'member':
      return refuse('already_member')
    case 'quota':
      return refuse('invitation_quota_exceeded', { limit: deps.invitationsPerHour })
    case 'pending':
      return refuse('invitation_pending')
    case 'no_school':
      return refuse('school_not_found')
    case 'created':
      await deps.publisher.publish([outcome.event], context.log)
      return done({ invitation: outcome.invitation, token })
    case 'lapsed': {
      // Rare: the earlier invitation must be marked expired, with its own event, before the new one.
      const replaced = await replaceLapsedInvitation(deps, context, input, token, now, expiresAt)
      return replaced.ok ? done({ invitation: replaced.value, token }) : replaced
    }
  }
}

/** The general path: every check under the school's row lock, lapsed invitations expired, then the new one. */
function replaceLapsedInvitation(
  deps: InvitationDeps,
  context: CallContext,
  input: NewInvitation,
  token: string,
  now: Date,
  expiresAt: Date,
): Promise<Outcome<Invitation, 'school_not_found' | CollisionRefusal>> {
  return changeSchool(deps, context, input.schoolId, async (tx, events): Promise<Outcome<Invitation, CollisionRefusal>> => {
    // Race-free: the school's row lock, taken when the log was opened, serializes these checks.
    const checks = await invitationChecks(tx, input, now, deps.invitationsPerHour)
    if (checks.member) return refuse('already_member')
    if (checks.recent >= deps.invitationsPerHour) return refuse('invitation_quota_exceeded', { limit: deps.invitationsPerHour })
    if (checks.pendingLive) return refuse('invitation_pending')
    for (const id of checks.lapsedIds) await expire(tx, events, await tx.invitation.findUniqueOrThrow({ where: { id } }))
    const created = await tx.invitation.create({
      data: {
        schoolId: input.schoolId,
        email: input.email,
        role: input.role,
        message: input.message,
        tokenHash: hashInvitationToken(token),
        expiresAt,
        invitedById: input.actorId,
      },
    })
    await events.append('invitation.created', input.actorId, eventPayload(created))
    return done(created)
  })
}

export async function listInvitations(prisma: PrismaClient, schoolId: number, status?: InvitationStatus): Promise<Invitation[]> {
  const now = new Date()
  const where: Prisma.InvitationWhereInput = { schoolId }
  if (status === 'pending') {
    where.status = 'pending'
    where.expiresAt = { gt: now }
  } else if (status === 'expired') {
    where.OR = [{ status: 'expired' }, { status: 'pending', expiresAt: { lte: now } }]
  } else if (status) {
    where.status = status
  }
  return prisma.invitation.findMany({
    where,
    orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
    take: MAX_LISTED_INVITATIONS,
  })
}

export async function cancelInvitation(
  deps: ChangeDeps,
  context: CallContext,
  input: { schoolId: number; invitationId: number; actorId: number },
): Promise<Outcome<Invitation, 'school_not_found' | 'invitation_not_found' | 'invitation_not_pending'>> {
  type Cancelled = { lapsed: boolean; invitation: Invitation }
  const outcome = await changeSchool(
    deps,
    context,
    input.schoolId,
    async (tx, events): Promise<Outcome<Cancelled, 'invitation_not_found' | 'invitation_not_pending'>> => {
      const invitation = await tx.invitation.findFirst({ where: { id: input.invitationId, schoolId: input.schoolId } })
      if (!invitation) return refuse('invitation_not_found')
      if (invitation.status !== 'pending') return refuse('invitation_not_pending', { status: invitation.status })
      if (isLapsed(invitation, new Date())) return done({ lapsed: true, invitation: await expire(tx, events, invitation) })
      const cancelled = await tx.invitation.update({ where: { id: invitation.id }, data: { status: 'cancelled' } })
      await events.append('invitation.cancelled', input.actorId, eventPayload(cancelled))
      return done({ lapsed: false, invitation: cancelled })
    },
  )
  if (!outcome.ok) return outcome
  if (outcome.value.lapsed) return refuse('invitation_not_pending', { status: 'expired' })
  return done(outcome.value.invitation)
}

/** The invitation a token stands for; a malformed token is not found without asking the database. */
async function findByToken(prisma: PrismaClient, token: string): Promise<Invitation | null> {
  return isWellFormedInvitationToken(token) ? prisma.invitation.findUnique({ where: { tokenHash: hashInvitationToken(token) } }) : null
}

/** Records that a lapsed invitation expired, then refuses the answer as expired. */
async function expireAndRefuse(
  deps: ChangeDeps,
  context: CallContext,
  found: Invitation,
): Promise<Refused<'school_not_found' | 'invitation_expired' | 'invitation_not_pending'>> {
  const outcome = await changeSchool(deps, context, found.schoolId, async (tx, events): Promise<Outcome<void, NotAnswerable['refused']>> => {
    const current = await answerableInChange(tx, events, found.id)
    if (!current.ok) return current
    if (current.value !== null) throw new Error(`invitation ${found.id} un-lapsed while being expired`)
    return done(undefined)
  })
  return outcome.ok ? refuse('invitation_expired') : outcome
}

export interface AcceptedInvitation {
  invitation: Invitation
  user: { id: number; email: string; name: string }
  membership: { schoolId: number; role: Role }
}

export type AnswerRefusal = 'school_not_found' | 'invitation_not_found' | NotAnswerable['refused']

/**
 * Joins the invitee to the school. A new email becomes a user with this name and password; an existing
 * user must prove the account is theirs with its password, and keeps their name.
 */
export function acceptInvitation(
  deps: ChangeDeps,
  context: CallContext,
  token: string,
  input: { name: string; password: string },
): Promise<Outcome<AcceptedInvitation, AnswerRefusal | 'invalid_credentials' | 'already_member'>> {
  return retryIfEmailTaken(async () => {
    const found = await findByToken(deps.prisma, token)
    if (!found) return refuse('invitation_not_found')
    const answerable = answerability(found, new Date())
    if (typeof answerable === 'object') return answerable
    if (answerable === 'lapsed') return expireAndRefuse(deps, context, found)

    // The slow password work happens before the school's row is locked.
    const existing = await deps.prisma.user.findUnique({
      where: { email: found.email },
      select: { id: true, name: true, passwordHash: true },
    })
    let newPasswordHash: string | null = null
    if (existing) {
      if (!(await verifyPasswordOrDummy(existing.passwordHash, input.password))) return refuse('invalid_credentials')
    } else {
      newPasswordHash = await hashPassword(input.password)
    }

    const outcome = await changeSchool(
      deps,
      context,
      found.schoolId,
      async (tx, events): Promise<Outcome<AcceptedInvitation | null, NotAnswerable['refused'] | 'already_member'>> => {
        const current = await answerableInChange(tx, events, found.id)
        if (!current.ok) return current
        if (current.value === null) return done(null)
        const invitation = current.value
        let user: { id: number; name: string }
        if (existing) {
          const membership = await tx.membership.findUnique({
            where: { userId_schoolId: { userId: existing.id, schoolId: invitation.schoolId } },
            select: { id: true },
          })
          if (membership) return refuse('already_member')
          user = existing
        } else {
          user = await createUser(tx, { email: invitation.email, name: input.name, passwordHash: newPasswordHash })
        }
        await tx.membership.create({ data: { userId: user.id, schoolId: invitation.schoolId, role: invitation.role } })
        const accepted = await tx.invitation.update({
          where: { id: invitation.id },
          data: { status: 'accepted', respondedAt: new Date() },
        })
        await events.append('invitation.accepted', user.id, { ...eventPayload(accepted), userId: user.id })
        return done({
          invitation: accepted,
          user: { id: user.id, email: accepted.email, name: user.name },
          membership: { schoolId: accepted.schoolId, role: accepted.role },
        })
      },
    )
    if (!outcome.ok) return outcome
    return outcome.value ? done(outcome.value) : refuse('invitation_expired')
  })
}

export async function declineInvitation(deps: ChangeDeps, context: CallContext, token: string): Promise<Outcome<Invitation, AnswerRefusal>> {
  const found = await findByToken(deps.prisma, token)
  if (!found) return refuse('invitation_not_found')
  const answerable = answerability(found, new Date())
  if (typeof answerable === 'object') return answerable
  if (answerable === 'lapsed') return expireAndRefuse(deps, context, found)
  const invitee = await deps.prisma.user.findUnique({ where: { email: found.email }, select: { id: true } })
  const outcome = await changeSchool(deps, context, found.schoolId, async (tx, events): Promise<Outcome<Invitation | null, NotAnswerable['refused']>> => {
    const current = await answerableInChange(tx, events, found.id)
    if (!current.ok) return current
    if (current.value === null) return done(null)
    const invitation = current.value
    const declined = await tx.invitation.update({
      where: { id: invitation.id },
      data: { status: 'declined', respondedAt: new Date() },
    })
    await events.append('invitation.declined', invitee?.id ?? null, eventPayload(declined))
    return done(declined)
  })
  if (!outcome.ok) return outcome
  return outcome.value ? done(outcome.value) : refuse('invitation_expired')
}

/**
 * Marks pending invitations past their expiry as expired, each with its `invitation.expired` event, so
 * the dashboard (a projection of the log) counts them as expired. Background work: no request, so no
 * correlation id. Returns how many it expired.
 */
export async function expireLapsedInvitations(deps: ChangeDeps, log: DomainLog, now: Date, limit = 100): Promise<number> {
  const lapsed = await deps.prisma.invitation.findMany({
    where: { status: 'pending', expiresAt: { lte: now } },
    select: { id: true, schoolId: true },
    orderBy: { expiresAt: 'asc' },
    take: limit,
  })
  const context: CallContext = { correlationId: null, log }
  let expired = 0
  for (const { id, schoolId } of lapsed) {
    const outcome = await changeSchool(deps, context, schoolId, async (tx, events) => {
      // Re-read under the school's lock: an accept or cancel may have won the race.
      const invitation = await tx.invitation.findUnique({ where: { id } })
      if (!invitation || !isLapsed(invitation, now)) return unchanged(false)
      await expire(tx, events, invitation)
      return done(true)
    })
    if (outcome.ok && outcome.value) expired += 1
  }
  return expired
}
