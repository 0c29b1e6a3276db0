// An invitation as clients see it: never its token hash, and a lapsed one reads as expired.
import type { Invitation } from '@school/db'
import { effectiveStatus } from '../../domain/invitations.js'
import type { InvitationView } from '../../schemas/invitations.js'

export function invitationView(invitation: Invitation, now = new Date()): InvitationView {
  return {
    id: invitation.id,
    schoolId: invitation.schoolId,
    email: invitation.email,
    role: invitation.role,
    message: invitation.message,
    status: effectiveStatus(invitation, now),
    expiresAt: invitation.expiresAt.toISOString(),
    createdAt: invitation.createdAt.toISOString(),
  }
}
