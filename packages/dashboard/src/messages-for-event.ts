// The messages one domain event causes on a school's dashboard, in the order clients receive them.
import type { PrismaClient } from '@school/db'
import { envelope, isInvitationEvent, type AnyEnvelope, type DomainEvent, type InvitationEventPayload } from '@school/events'
import { toActivity } from './activity.js'
import { readSchoolMetrics } from './metrics.js'

export async function messagesForEvent(prisma: PrismaClient, event: DomainEvent): Promise<AnyEnvelope[]> {
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
  messages.push(envelope('metrics_update', await readSchoolMetrics(prisma, event.schoolId), origin))
  return messages
}
