// One readable line per dashboard message: when it arrived, its type, and what it says.
import type { AnyEnvelope } from '@school/events'

function metricsSummary(data: Extract<AnyEnvelope, { type: 'metrics_update' }>['data']): string {
  return (
    `students ${data.students}, teachers ${data.teachers}, admins ${data.admins}, classes ${data.classes}; ` +
    `invitations pending ${data.pendingInvitations}, accepted ${data.acceptedInvitations}, ` +
    `declined ${data.declinedInvitations}, cancelled ${data.cancelledInvitations}, expired ${data.expiredInvitations}`
  )
}

/** The part after the type: e.g. `#3 Olivia Owner invited ana@example.com as teacher`. */
export function summarize(message: AnyEnvelope): string {
  switch (message.type) {
    case 'connection_established': {
      const { schoolId, user, transport } = message.data
      return `school ${schoolId} as ${user.email ?? user.name} (${user.role}) over ${transport}`
    }
    case 'metrics_update':
      return `${message.seq === undefined ? '' : `@${message.seq} `}${metricsSummary(message.data)}`
    case 'activity_new':
      return `#${message.data.seq} ${message.data.summary}`
    case 'invitation_status_update': {
      const { invitationId, email, role, status } = message.data
      return `#${message.seq ?? '?'} invitation ${invitationId} for ${email} (${role}) is ${status}`
    }
    case 'resume_unavailable': {
      const { since, lastEventSeq, reason } = message.data
      return `cannot resume after #${since} (${reason}; the log is at #${lastEventSeq}); a fresh snapshot follows`
    }
    case 'presence_update': {
      const watchers = message.data.watchers.map(({ name, connections }) => (connections > 1 ? `${name} (${connections})` : name))
      return `watching: ${watchers.length === 0 ? 'nobody' : watchers.join(', ')}`
    }
    case 'token_expiring':
      return `the access token expires at ${message.data.expiresAt}; renewing it`
    case 'token_refreshed':
      return `renewed: the connection now lasts until ${message.data.expiresAt}`
    case 'pong':
      return JSON.stringify(message.data)
    case 'error':
      return `${message.data.code}: ${message.data.message}`
    default:
      return JSON.stringify((message as { data?: unknown }).data)
  }
}

const TYPE_WIDTH = 'invitation_status_update'.length

/** `2026-11-24T14:03:12.345Z  activity_new              #3 Olivia Owner invited ...` */
export function formatMessage(message: AnyEnvelope, receivedAt: Date): string {
  return `${receivedAt.toISOString()}  ${message.type.padEnd(TYPE_WIDTH)}  ${summarize(message)}`
}

/** A line about the listener itself (connecting, reconnecting), set apart from messages by `--`. */
export function formatStatus(text: string, at: Date): string {
  return `${at.toISOString()}  -- ${text}`
}
