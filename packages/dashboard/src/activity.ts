// Turns a domain event into an entry of the activity feed.
import type { Activity, DomainEvent, DomainEventPayloads, DomainEventType, Role } from '@school/events'

const ROLE_NAMES: Record<Role, string> = {
  school_owner: 'owner',
  school_admin: 'admin',
  teacher: 'teacher',
  student: 'student',
}

type Describers = { [T in DomainEventType]: (payload: DomainEventPayloads[T], actor: string) => string }

const DESCRIBE: Describers = {
  'invitation.created': (p, actor) => `${actor} invited ${p.email} as ${ROLE_NAMES[p.role]}`,
  'invitation.accepted': (p) => `${p.email} accepted the invitation to join as ${ROLE_NAMES[p.role]}`,
  'invitation.declined': (p) => `${p.email} declined the invitation to join as ${ROLE_NAMES[p.role]}`,
  'invitation.cancelled': (p, actor) => `${actor} cancelled the invitation of ${p.email}`,
  'invitation.expired': (p) => `The invitation of ${p.email} expired`,
  'student.registered': (p, actor) => `${actor} registered student ${p.name}`,
  'class.created': (p, actor) =>
    p.teacherName ? `${actor} created class ${p.name} taught by ${p.teacherName}` : `${actor} created class ${p.name}`,
  'member.joined': (p) => `${p.name} joined as ${ROLE_NAMES[p.role]}`,
  'member.removed': (p, actor) => `${actor} removed ${p.name} (${ROLE_NAMES[p.role]})`,
  'member.role_changed': (p, actor) =>
    `${actor} changed ${p.name}'s role from ${ROLE_NAMES[p.previousRole]} to ${ROLE_NAMES[p.role]}`,
}

export function describeActivity(event: DomainEvent): string {
  const describe = DESCRIBE[event.type] as (payload: unknown, actor: string) => string
  return describe(event.payload, event.actor?.name ?? 'Someone')
}

export function toActivity(event: DomainEvent): Activity {
  return {
    id: event.id,
    seq: event.seq,
    type: event.type,
    actor: event.actor,
    summary: describeActivity(event),
    occurredAt: event.occurredAt.toISOString(),
  }
}
