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
  { additionalProperties: false, examples: [{ email: 'ana@example.com', role: 'teacher', message: 'Welcome aboard!' }] },
)

export const ListInvitationsQuery = Type.Object(
  { status: Type.Optional(InvitationStatusName) },
  { additionalProperties: false },
)

export const InvitationParams = Type.Object({ id: Id, invId: Id })

/** The token is checked by the handler, so that a malformed one is a 404 like an unknown one. */
export const InvitationTokenParams = Type.Object({ token: Type.String() })

/** An invitation as the examples of the document show it. */
const INVITATION_EXAMPLE = {
  id: 17,
  schoolId: 1,
  email: 'ana@example.com',
  role: 'teacher',
  message: 'Welcome aboard!',
  status: 'pending',
  expiresAt: '2026-12-01T14:03:12.301Z',
  createdAt: '2026-11-24T14:03:12.301Z',
}

export const Invitation = Type.Object(
  {
    id: Id,
    schoolId: Id,
    email: Type.String(),
    role: RoleName,
    message: Type.Union([Type.String(), Type.Null()]),
    status: InvitationStatusName,
    expiresAt: Timestamp,
    createdAt: Timestamp,
  },
  {
    description: 'An invitation (never its token)',
    examples: [INVITATION_EXAMPLE],
  },
)
export type InvitationView = Static<typeof Invitation>

export const CreatedInvitation = Type.Object(
  {
    ...Invitation.properties,
    /** Where the invitee accepts: POST `{ name, password }` to it. Only ever shown here, once. */
    acceptUrl: Type.String(),
  },
  {
    description: 'The invitation sent, with the link to accept it',
    examples: [{ ...INVITATION_EXAMPLE, acceptUrl: 'http://localhost:8000/api/accounts/invitations/Zm9vYmFy.../accept/' }],
  },
)

export const InvitationList = Type.Array(Invitation, {
  description: "The school's invitations, newest first",
  examples: [[{ ...INVITATION_EXAMPLE, id: 18, email: 'bea@example.com', role: 'school_admin', message: null }]],
})

export const AcceptInvitationBody = Type.Object(
  {
    name: DisplayName,
    password: Type.String({ minLength: 8, maxLength: 128 }),
  },
  { additionalProperties: false, examples: [{ name: 'Ana Teacher', password: 'ana-password' }] },
)

/** Declining takes no input: no body at all, an empty one, or `{}`. */
export const DeclineInvitationBody = Type.Object({}, { additionalProperties: false, examples: [{}] })

export const AcceptedInvitation = Type.Object(
  {
    invitation: Invitation,
    user: Type.Object({ id: Id, email: Type.String(), name: Type.String() }),
    membership: Type.Object({ schoolId: Id, role: RoleName }),
  },
  {
    description: 'The invitation, now accepted, the user it created or linked, and the membership',
    examples: [
      {
        invitation: { ...INVITATION_EXAMPLE, status: 'accepted' },
        user: { id: 7, email: 'ana@example.com', name: 'Ana Teacher' },
        membership: { schoolId: 1, role: 'teacher' },
      },
    ],
  },
)

export const DeclinedInvitation = Type.Object(
  { invitation: Invitation },
  { description: 'The invitation, now declined', examples: [{ invitation: { ...INVITATION_EXAMPLE, status: 'declined' } }] },
)
