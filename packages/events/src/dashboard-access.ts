// Which events take away someone's right to a school's dashboard, so that the realtime service can close
// that user's connections when the event arrives instead of at its next periodic access check.
import { ADMIN_ROLES, type DomainEvent, type Role } from './domain-events.js'

function isAdminRole(role: Role): boolean {
  return ADMIN_ROLES.includes(role)
}

/**
 * The user whose owner/admin access to the event's school ended with this event: an owner or admin
 * removed, or moved from an admin role to a role that is not one. Null for every other event.
 */
export function revokesDashboardAccess(event: DomainEvent): number | null {
  if (event.type === 'member.removed') {
    const payload = (event as DomainEvent<'member.removed'>).payload
    return isAdminRole(payload.role) ? payload.userId : null
  }
  if (event.type === 'member.role_changed') {
    const payload = (event as DomainEvent<'member.role_changed'>).payload
    return isAdminRole(payload.previousRole) && !isAdminRole(payload.role) ? payload.userId : null
  }
  return null
}
