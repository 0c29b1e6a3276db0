// The messages a school's dashboard receives: one or two per domain event, in the order clients see
// them, and the counters as of a sequence number.
import { envelope, isInvitationEvent, type AnyEnvelope, type DomainEvent, type Envelope, type InvitationEventPayload } from '@school/events'
import { toActivity } from './activity.js'
import type { ProjectionState } from './projection-row.js'

/** `invitation_status_update` (invitation events only), then `activity_new`, both tagged with the event. */
export function eventMessages(event: DomainEvent): AnyEnvelope[] {
  const origin = { eventId: event.id, seq: event.seq }
  const messages: AnyEnvelope[] = []
  if (isInvitationEvent(event.type)) {
    const payload = event.payload as InvitationEventPayload
    messages.push(
      envelope(
        'invitation_status_update',
        { invitationId: payload.invitationId, email: payload.email, role: payload.role, status: payload.status },
        origin,
      ),
    )
  }
  messages.push(envelope('activity_new', toActivity(event), origin))
  return messages
}

/** The counters with the sequence of the last event they include. */
export function metricsMessage(state: ProjectionState): Envelope<'metrics_update'> {
  return envelope('metrics_update', state.metrics, { seq: state.lastSeq })
}
