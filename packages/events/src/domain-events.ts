// Domain events: what happened in a school, appended to the per-school event log in order.
export const ROLES = ['school_owner', 'school_admin', 'teacher', 'student'] as const
export type Role = (typeof ROLES)[number]

/** Roles that may read a school's dashboard and manage its invitations. */
export const ADMIN_ROLES: readonly Role[] = ['school_owner', 'school_admin']

export const INVITATION_STATUSES = ['pending', 'accepted', 'declined', 'cancelled', 'expired'] as const
export type InvitationStatus = (typeof INVITATION_STATUSES)[number]

/** What the event log stores in `payload` for each event type. */
export interface DomainEventPayloads {
  'invitation.created': InvitationEventPayload
  'invitation.accepted': InvitationEventPayload & { userId: number }
  'invitation.declined': InvitationEventPayload
  'invitation.cancelled': InvitationEventPayload
  'invitation.expired': InvitationEventPayload
  'student.registered': { userId: number; name: string; email: string | null }
  'class.created': { classId: number; name: string; teacherId: number | null; teacherName: string | null }
  /** A membership created outside an invitation or a student registration (school set-up, imports). */
  'member.joined': { userId: number; name: string; role: Role }
  /** A membership deleted; `role` is the role the member had. */
  'member.removed': { userId: number; name: string; role: Role }
  /** A member given another role; `role` is the new one. */
  'member.role_changed': { userId: number; name: string; role: Role; previousRole: Role }
}

export interface InvitationEventPayload {
  invitationId: number
  email: string
  role: Role
  status: InvitationStatus
}

export type DomainEventType = keyof DomainEventPayloads
export const DOMAIN_EVENT_TYPES = [
  'invitation.created',
  'invitation.accepted',
  'invitation.declined',
  'invitation.cancelled',
  'invitation.expired',
  'student.registered',
  'class.created',
  'member.joined',
  'member.removed',
  'member.role_changed',
] as const satisfies readonly DomainEventType[]

export const INVITATION_EVENT_TYPES = [
  'invitation.created',
  'invitation.accepted',
  'invitation.declined',
  'invitation.cancelled',
  'invitation.expired',
] as const satisfies readonly DomainEventType[]

export type InvitationEventType = (typeof INVITATION_EVENT_TYPES)[number]

export function isInvitationEvent(type: string): type is InvitationEventType {
  return (INVITATION_EVENT_TYPES as readonly string[]).includes(type)
}

/** One entry of a school's event log, as both services read it. */
export interface DomainEvent<T extends DomainEventType = DomainEventType> {
  id: string
  schoolId: number
  /** Position in the school's log: 1, 2, 3, ... with no gaps. */
  seq: number
  type: T
  actor: { id: number; name: string } | null
  payload: DomainEventPayloads[T]
  occurredAt: Date
  /** The id of the request that caused it (for logs), when there was one. */
  correlationId?: string | null
}
