// A school's members: listed for its owners and admins, removed, or given another role. Who may do what
// is decided under the school's row lock, with the caller's own membership read again there, so that
// concurrent requests are judged one after the other and cannot together leave the school without an owner.
import type { PrismaClient } from '@school/db'
import { ADMIN_ROLES, type Role } from '@school/events'
import type { CallContext } from './call-context.js'
import { done, refuse, type Outcome, type Refused } from './outcomes.js'
import { changeSchool, unchanged, type ChangeDeps, type Unchanged } from './school-change.js'
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

/** Why a member change is refused, in the order it is checked. */
type MemberChangeRefusal = 'forbidden' | 'member_not_found' | 'insufficient_role' | 'last_owner'

/**
 * Checks, under the school's row lock, that the caller may remove the member (`newRole` null) or give
 * them `newRole`, in this order: the caller is still an owner or admin (forbidden), the member exists
 * (member_not_found), an admin acts only on teachers and students and gives only those roles
 * (insufficient_role), and the last owner stays an owner (last_owner).
 */
async function authorizeChange(tx: Tx, change: MemberChange, newRole: Role | null): Promise<Target | Refused<MemberChangeRefusal>> {
  const rows = await tx.membership.findMany({
    where: { schoolId: change.schoolId, userId: { in: [change.actorId, change.userId] } },
    select: { id: true, userId: true, role: true, user: { select: { name: true } } },
  })
  // Read again here rather than trusted from the request's access check: a caller removed or demoted
  // by a request that held the lock first is refused.
  const actor = rows.find((row) => row.userId === change.actorId)
  if (!actor || !ADMIN_ROLES.includes(actor.role)) return refuse('forbidden')
  const target = rows.find((row) => row.userId === change.userId)
  if (!target) return refuse('member_not_found')
  if (actor.role !== 'school_owner') {
    if (!ADMIN_MANAGED_ROLES.includes(target.role)) return refuse('insufficient_role')
    if (newRole !== null && !ADMIN_MANAGED_ROLES.includes(newRole)) return refuse('insufficient_role')
  }
  if (target.role === 'school_owner' && newRole !== 'school_owner') {
    const owners = await tx.membership.count({ where: { schoolId: change.schoolId, role: 'school_owner' } })
    if (owners <= 1) return refuse('last_owner')
  }
  return { membershipId: target.id, userId: target.userId, name: target.user.name, role: target.role }
}

/** Deletes the membership and appends `member.removed` with the role the member had. */
export function removeMember(
  deps: ChangeDeps,
  context: CallContext,
  change: MemberChange,
): Promise<Outcome<void, 'school_not_found' | MemberChangeRefusal>> {
  return changeSchool(deps, context, change.schoolId, async (tx, events): Promise<Outcome<void, MemberChangeRefusal>> => {
    const target = await authorizeChange(tx, change, null)
    if ('ok' in target) return target
    await tx.membership.delete({ where: { id: target.membershipId } })
    await events.append('member.removed', change.actorId, { userId: target.userId, name: target.name, role: target.role })
    return done(undefined)
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
export function changeMemberRole(
  deps: ChangeDeps,
  context: CallContext,
  change: MemberChange & { role: Role },
): Promise<Outcome<ChangedMember, 'school_not_found' | MemberChangeRefusal>> {
  type Work = Promise<Outcome<ChangedMember, MemberChangeRefusal> | Unchanged<ChangedMember>>
  return changeSchool(deps, context, change.schoolId, async (tx, events): Work => {
    const target = await authorizeChange(tx, change, change.role)
    if ('ok' in target) return target
    const changed: ChangedMember = { userId: target.userId, schoolId: change.schoolId, name: target.name, role: change.role }
    if (target.role === change.role) return unchanged(changed)
    await tx.membership.update({ where: { id: target.membershipId }, data: { role: change.role } })
    await events.append('member.role_changed', change.actorId, {
      userId: target.userId,
      name: target.name,
      role: change.role,
      previousRole: target.role,
    })
    return done(changed)
  })
}
