// A school's members: listed for its owners and admins, removed, or given another role. Who may do what
// is decided under the school's row lock, with the caller's own membership read again there, so that
// concurrent requests are judged one after the other and cannot together leave the school without an owner.
import type { FastifyBaseLogger } from 'fastify'
import type { PrismaClient } from '@school/db'
import { ADMIN_ROLES, type Role } from '@school/events'
import { Forbidden, InsufficientRole, LastOwner, MemberNotFound } from '../http-errors.js'
import { changeSchool, unchanged, type ChangeDeps } from './school-change.js'
import type { Tx } from './school-log.js'

/** The roles an admin who is not an owner may act on, and the only ones such an admin may give. */
export const ADMIN_MANAGED_ROLES: readonly Role[] = ['teacher', 'student']

export interface Member {
  userId: number
  name: string
  email: string | null
  role: Role
  joinedAt: Date
}

/** Every member of the school: owners, admins, teachers, students, each group by name. */
export async function listMembers(prisma: PrismaClient, schoolId: number): Promise<Member[]> {
  const rows = await prisma.membership.findMany({
    where: { schoolId },
    // PostgreSQL sorts an enum in the order it was declared: school_owner, school_admin, teacher, student.
    orderBy: [{ role: 'asc' }, { user: { name: 'asc' } }, { userId: 'asc' }],
    select: { userId: true, role: true, createdAt: true, user: { select: { name: true, email: true } } },
  })
  return rows.map((row) => ({ userId: row.userId, name: row.user.name, email: row.user.email, role: row.role, joinedAt: row.createdAt }))
}

export interface MemberChange {
  schoolId: number
  /** The caller: an owner or admin of the school when the request was authorized. */
  actorId: number
  /** The member acted on. */
  userId: number
}

interface Target {
  membershipId: number
  userId: number
  name: string
  role: Role
}

/**
 * Checks, under the school's row lock, that the caller may remove the member (`newRole` null) or give
 * them `newRole`, in this order: the caller is still an owner or admin (403 forbidden), the member exists
 * (404 member_not_found), an admin acts only on teachers and students and gives only those roles (403
 * insufficient_role), and the last owner stays an owner (409 last_owner).
 */
async function authorizeChange(tx: Tx, change: MemberChange, newRole: Role | null): Promise<Target> {
  const rows = await tx.membership.findMany({
    where: { schoolId: change.schoolId, userId: { in: [change.actorId, change.userId] } },
    select: { id: true, userId: true, role: true, user: { select: { name: true } } },
  })
  // Read again here rather than trusted from the request's access check: a caller removed or demoted
  // by a request that held the lock first is refused.
  const actor = rows.find((row) => row.userId === change.actorId)
  if (!actor || !ADMIN_ROLES.includes(actor.role)) throw new Forbidden()
  const target = rows.find((row) => row.userId === change.userId)
  if (!target) throw new MemberNotFound()
  if (actor.role !== 'school_owner') {
    if (!ADMIN_MANAGED_ROLES.includes(target.role)) throw new InsufficientRole()
    if (newRole !== null && !ADMIN_MANAGED_ROLES.includes(newRole)) throw new InsufficientRole()
  }
  if (target.role === 'school_owner' && newRole !== 'school_owner') {
    const owners = await tx.membership.count({ where: { schoolId: change.schoolId, role: 'school_owner' } })
    if (owners <= 1) throw new LastOwner()
  }
  return { membershipId: target.id, userId: target.userId, name: target.user.name, role: target.role }
}

/** Deletes the membership and appends `member.removed` with the role the member had. */
export function removeMember(deps: ChangeDeps, log: FastifyBaseLogger, change: MemberChange): Promise<void> {
  return changeSchool(deps, log, change.schoolId, async (tx, events) => {
    const target = await authorizeChange(tx, change, null)
    await tx.membership.delete({ where: { id: target.membershipId } })
    await events.append('member.removed', change.actorId, { userId: target.userId, name: target.name, role: target.role })
  })
}

export interface ChangedMember {
  userId: number
  schoolId: number
  name: string
  role: Role
}

/**
 * Gives the member `role` and appends `member.role_changed`. Giving the role they already have writes
 * nothing and appends no event, so that repeating a request is harmless.
 */
export function changeMemberRole(deps: ChangeDeps, log: FastifyBaseLogger, change: MemberChange & { role: Role }): Promise<ChangedMember> {
  return changeSchool(deps, log, change.schoolId, async (tx, events) => {
    const target = await authorizeChange(tx, change, change.role)
    const changed: ChangedMember = { userId: target.userId, schoolId: change.schoolId, name: target.name, role: change.role }
    if (target.role === change.role) return unchanged(changed)
    await tx.membership.update({ where: { id: target.membershipId }, data: { role: change.role } })
    await events.append('member.role_changed', change.actorId, {
      userId: target.userId,
      name: target.name,
      role: change.role,
      previousRole: target.role,
    })
    return changed
  })
}
