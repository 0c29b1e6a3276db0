// Invitations: a school admin invites an email to a role; the invitee accepts (joining the school,
// signing up if needed) or declines with the token from the link. Each status change is one event.
import { randomUUID } from 'node:crypto'
import type { FastifyBaseLogger } from 'fastify'
import { hashPassword, verifyPasswordOrDummy } from '@school/auth'
import { invitationEventPayload as eventPayload, type Invitation, type PrismaClient, type Prisma } from '@school/db'
import type { InvitationStatus, Role } from '@school/events'
import {
  AlreadyMember,
  InvalidCredentials,
  InvitationExpired,
  InvitationNotFound,
  InvitationNotPending,
  InvitationPending,
  InvitationQuotaExceeded,
  SchoolNotFound,
  schoolAccessRefusal,
} from '../http-errors.js'
import { hashInvitationToken, isWellFormedInvitationToken, newInvitationToken } from './invitation-tokens.js'
import { collisionColumns, createInvitationStatement, type NewInvitation } from './invitation-statement.js'
import { changeSchool, correlationIdOf, type ChangeDeps } from './school-change.js'
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

/** Throws unless the invitation can still be answered; says whether it lapsed meanwhile. */
function assertAnswerable(invitation: Invitation, now: Date): 'pending' | 'lapsed' {
  if (invitation.status === 'expired') throw new InvitationExpired()
  if (invitation.status !== 'pending') throw new InvitationNotPending(invitation.status)
  return isLapsed(invitation, now) ? 'lapsed' : 'pending'
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

/**
 * Sends an invitation as `input.actorId`, whose access (owner or admin of the school, with a live session)
 * the statement checks itself: the route need not ask the database first.
 */
export async function createInvitation(
  deps: InvitationDeps,
  log: FastifyBaseLogger,
  input: NewInvitation & { sessionId: string | undefined },
): Promise<{ invitation: Invitation; token: string }> {
  const token = newInvitationToken()
  const now = new Date()
  const expiresAt = new Date(now.getTime() + deps.invitationTtlHours * 3600_000)
  const outcome = await createInvitationStatement(deps.prisma, {
    ...input,
    tokenHash: hashInvitationToken(token),
    expiresAt,
    eventId: randomUUID(),
    correlationId: correlationIdOf(log),
    quota: deps.invitationsPerHour,
    now,
  })
  switch (outcome.kind) {
    case 'no_user':
    case 'session_ended':
    case 'forbidden':
      throw schoolAccessRefusal(outcome.kind)
    case 'member':
      throw new AlreadyMember()
    case 'quota':
      throw new InvitationQuotaExceeded(deps.invitationsPerHour)
    case 'pending':
      throw new InvitationPending()
    case 'no_school':
      throw new SchoolNotFound()
    case 'created':
      await deps.publisher.publish([outcome.event], log)
      return { invitation: outcome.invitation, token }
    case 'lapsed':
      // Rare: the earlier invitation must be marked expired, with its own event, before the new one.
      return { invitation: await replaceLapsedInvitation(deps, log, input, token, now, expiresAt), token }
  }
}

/** The general path: every check under the school's row lock, lapsed invitations expired, then the new one. */
async function replaceLapsedInvitation(
  deps: InvitationDeps,
  log: FastifyBaseLogger,
  input: NewInvitation,
  token: string,
  now: Date,
  expiresAt: Date,
): Promise<Invitation> {
  return changeSchool(deps, log, input.schoolId, async (tx, events) => {
    // Race-free: the school's row lock, taken when the log was opened, serializes these checks.
    const checks = await invitationChecks(tx, input, now, deps.invitationsPerHour)
    if (checks.member) throw new AlreadyMember()
    if (checks.recent >= deps.invitationsPerHour) throw new InvitationQuotaExceeded(deps.invitationsPerHour)
    if (checks.pendingLive) throw new InvitationPending()
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
    return created
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
  log: FastifyBaseLogger,
  input: { schoolId: number; invitationId: number; actorId: number },
): Promise<Invitation> {
  const outcome = await changeSchool(deps, log, input.schoolId, async (tx, events) => {
    const invitation = await tx.invitation.findFirst({ where: { id: input.invitationId, schoolId: input.schoolId } })
    if (!invitation) throw new InvitationNotFound()
    if (invitation.status !== 'pending') throw new InvitationNotPending(invitation.status)
    if (isLapsed(invitation, new Date())) return { lapsed: true as const, invitation: await expire(tx, events, invitation) }
    const cancelled = await tx.invitation.update({ where: { id: invitation.id }, data: { status: 'cancelled' } })
    await events.append('invitation.cancelled', input.actorId, eventPayload(cancelled))
    return { lapsed: false as const, invitation: cancelled }
  })
  if (outcome.lapsed) throw new InvitationNotPending('expired')
  return outcome.invitation
}

/** The invitation a token stands for; a malformed token is not found without asking the database. */
async function findByToken(prisma: PrismaClient, token: string): Promise<Invitation> {
  const invitation = isWellFormedInvitationToken(token)
    ? await prisma.invitation.findUnique({ where: { tokenHash: hashInvitationToken(token) } })
    : null
  if (!invitation) throw new InvitationNotFound()
  return invitation
}

/** Records that a lapsed invitation expired, then refuses the answer with 410. */
async function expireAndRefuse(deps: ChangeDeps, log: FastifyBaseLogger, found: Invitation): Promise<never> {
  await changeSchool(deps, log, found.schoolId, async (tx, events) => {
    const invitation = await tx.invitation.findUniqueOrThrow({ where: { id: found.id } })
    if (assertAnswerable(invitation, new Date()) === 'pending') {
      throw new Error(`invitation ${invitation.id} un-lapsed while being expired`)
    }
    await expire(tx, events, invitation)
  })
  throw new InvitationExpired()
}

export interface AcceptedInvitation {
  invitation: Invitation
  user: { id: number; email: string; name: string }
  membership: { schoolId: number; role: Role }
}

/**
 * Joins the invitee to the school. A new email becomes a user with this name and password; an existing
 * user must prove the account is theirs with its password, and keeps their name.
 */
export function acceptInvitation(
  deps: ChangeDeps,
  log: FastifyBaseLogger,
  token: string,
  input: { name: string; password: string },
): Promise<AcceptedInvitation> {
  return retryIfEmailTaken(async () => {
    const found = await findByToken(deps.prisma, token)
    if (assertAnswerable(found, new Date()) === 'lapsed') return expireAndRefuse(deps, log, found)

    // The slow password work happens before the school's row is locked.
    const existing = await deps.prisma.user.findUnique({
      where: { email: found.email },
      select: { id: true, name: true, passwordHash: true },
    })
    let newPasswordHash: string | null = null
    if (existing) {
      if (!(await verifyPasswordOrDummy(existing.passwordHash, input.password))) throw new InvalidCredentials()
    } else {
      newPasswordHash = await hashPassword(input.password)
    }

    const outcome = await changeSchool(deps, log, found.schoolId, async (tx, events) => {
      const invitation = await tx.invitation.findUniqueOrThrow({ where: { id: found.id } })
      if (assertAnswerable(invitation, new Date()) === 'lapsed') {
        await expire(tx, events, invitation)
        return null
      }
      let user: { id: number; name: string }
      if (existing) {
        const membership = await tx.membership.findUnique({
          where: { userId_schoolId: { userId: existing.id, schoolId: invitation.schoolId } },
          select: { id: true },
        })
        if (membership) throw new AlreadyMember()
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
      return {
        invitation: accepted,
        user: { id: user.id, email: accepted.email, name: user.name },
        membership: { schoolId: accepted.schoolId, role: accepted.role },
      }
    })
    if (!outcome) throw new InvitationExpired()
    return outcome
  })
}

export async function declineInvitation(deps: ChangeDeps, log: FastifyBaseLogger, token: string): Promise<Invitation> {
  const found = await findByToken(deps.prisma, token)
  if (assertAnswerable(found, new Date()) === 'lapsed') return expireAndRefuse(deps, log, found)
  const invitee = await deps.prisma.user.findUnique({ where: { email: found.email }, select: { id: true } })
  const outcome = await changeSchool(deps, log, found.schoolId, async (tx, events) => {
    const invitation = await tx.invitation.findUniqueOrThrow({ where: { id: found.id } })
    if (assertAnswerable(invitation, new Date()) === 'lapsed') {
      await expire(tx, events, invitation)
      return null
    }
    const declined = await tx.invitation.update({
      where: { id: invitation.id },
      data: { status: 'declined', respondedAt: new Date() },
    })
    await events.append('invitation.declined', invitee?.id ?? null, eventPayload(declined))
    return declined
  })
  if (!outcome) throw new InvitationExpired()
  return outcome
}

/** Thrown inside a change to roll it back: the invitation was answered before the sweep got to it. */
class NoLongerLapsed extends Error {}

/**
 * Marks pending invitations past their expiry as expired, each with its `invitation.expired` event, so
 * the dashboard (a projection of the log) counts them as expired. Returns how many it expired.
 */
export async function expireLapsedInvitations(deps: ChangeDeps, log: FastifyBaseLogger, now: Date, limit = 100): Promise<number> {
  const lapsed = await deps.prisma.invitation.findMany({
    where: { status: 'pending', expiresAt: { lte: now } },
    select: { id: true, schoolId: true },
    orderBy: { expiresAt: 'asc' },
    take: limit,
  })
  let expired = 0
  for (const { id, schoolId } of lapsed) {
    try {
      await changeSchool(deps, log, schoolId, async (tx, events) => {
        // Re-read under the school's lock: an accept or cancel may have won the race.
        const invitation = await tx.invitation.findUnique({ where: { id } })
        if (!invitation || !isLapsed(invitation, now)) throw new NoLongerLapsed()
        await expire(tx, events, invitation)
      })
      expired += 1
    } catch (error) {
      if (!(error instanceof NoLongerLapsed)) throw error
    }
  }
  return expired
}
