// What each domain event does to the dashboard counters: pure functions, shared by the projection and
// by the replay of the log, which must agree on which events count.
import { ROLES, type DomainEvent, type Role, type SchoolMetrics } from '@school/events'
import { EMPTY_METRICS } from './metrics.js'

/** An event the projection can never apply (unknown type, malformed payload): retrying cannot help. */
class PoisonEventError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'PoisonEventError'
  }
}

type Counter = keyof SchoolMetrics

function memberCounter(role: unknown): Counter {
  if (!(ROLES as readonly unknown[]).includes(role)) throw new PoisonEventError(`unknown role ${JSON.stringify(role)}`)
  switch (role as Role) {
    case 'student':
      return 'students'
    case 'teacher':
      return 'teachers'
    default:
      return 'admins'
  }
}

const ANSWERED: Record<string, Counter> = {
  'invitation.declined': 'declinedInvitations',
  'invitation.cancelled': 'cancelledInvitations',
  'invitation.expired': 'expiredInvitations',
}

/** The counters after `event`; throws PoisonEventError for an event no retry could apply. */
export function applyEvent(metrics: Readonly<SchoolMetrics>, event: DomainEvent): SchoolMetrics {
  const next = { ...metrics }
  const payload = event.payload as unknown as Record<string, unknown>
  if (typeof payload !== 'object' || payload === null) throw new PoisonEventError(`event ${event.id} has no payload`)
  switch (event.type) {
    case 'invitation.created':
      memberCounter(payload.role)
      next.pendingInvitations += 1
      break
    case 'invitation.accepted':
      next[memberCounter(payload.role)] += 1
      next.pendingInvitations -= 1
      next.acceptedInvitations += 1
      break
    case 'invitation.declined':
    case 'invitation.cancelled':
    case 'invitation.expired':
      next.pendingInvitations -= 1
      next[ANSWERED[event.type]!] += 1
      break
    case 'student.registered':
      next.students += 1
      break
    case 'class.created':
      next.classes += 1
      break
    case 'member.joined':
      next[memberCounter(payload.role)] += 1
      break
    case 'member.removed':
      next[memberCounter(payload.role)] -= 1
      break
    case 'member.role_changed':
      // Owners and admins share a counter: a change between the two moves nothing.
      next[memberCounter(payload.previousRole)] -= 1
      next[memberCounter(payload.role)] += 1
      break
    default:
      throw new PoisonEventError(`event ${event.id} has unknown type ${String((event as { type: unknown }).type)}`)
  }
  return next
}

/** Whether the projection applies this event (it dead-letters the others, and clients never see them). */
export function isApplicable(event: DomainEvent): boolean {
  try {
    applyEvent(EMPTY_METRICS, event)
    return true
  } catch {
    return false
  }
}
