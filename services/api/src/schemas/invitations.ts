// Request and response bodies of invitations: sending, listing and cancelling them (school admins) and
// answering them (the invitee, with the token from the link).
import { Type, type Static } from 'typebox'
import { INVITATION_STATUSES } from '@school/events'
import { DisplayName, Email, Id, RoleName, Timestamp } from './common.js'

/** Roles an invitation may grant: a school has exactly the owner it was created with. */
export const INVITABLE_ROLES = ['school_admin', 'teacher', 'student'] as const

export const InvitationStatusName = Type.Enum([...INVITATION_STATUSES])

export const CreateInvitationBody = Type.Object(
  {
    email: Email,
    role: Type.Enum([...INVITABLE_ROLES]),
    message: Type.Optional(Type.String({ maxLength: 1000 })),
  },
  { additionalProperties: false },
)

export const ListInvitationsQuery = Type.Object(
  { status: Type.Optional(InvitationStatusName) },
  { additionalProperties: false },
)

export const InvitationParams = Type.Object({ id: Id, invId: Id })

/** The token is checked by the handler, so that a malformed one is a 404 like an unknown one. */
export const InvitationTokenParams = Type.Object({ token: Type.String() })

export const Invitation = Type.Object({
  id: Id,
  schoolId: Id,
  email: Type.String(),
  role: RoleName,
  message: Type.Union([Type.String(), Type.Null()]),
  status: InvitationStatusName,
  expiresAt: Timestamp,
  createdAt: Timestamp,
})
export type InvitationView = Static<typeof Invitation>

export const CreatedInvitation = Type.Object({
  ...Invitation.properties,
  /** Where the invitee accepts: POST `{ name, password }` to it. Only ever shown here, once. */
  acceptUrl: Type.String(),
})

export const InvitationList = Type.Array(Invitation)

export const AcceptInvitationBody = Type.Object(
  {
    name: DisplayName,
    password: Type.String({ minLength: 8, maxLength: 128 }),
  },
  { additionalProperties: false },
)

/** Declining takes no input: no body at all, an empty one, or `{}`. */
export const DeclineInvitationBody = Type.Object({}, { additionalProperties: false })

export const AcceptedInvitation = Type.Object({
  invitation: Invitation,
  user: Type.Object({ id: Id, email: Type.String(), name: Type.String() }),
  membership: Type.Object({ schoolId: Id, role: RoleName }),
})

export const DeclinedInvitation = Type.Object({ invitation: Invitation })
