// Invitations: school admins send, list and cancel them; the invitee accepts or declines with the token
// from the link, which is the only credential those two routes need.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { acceptUrlFor } from '../../domain/invitation-tokens.js'
import {
  acceptInvitation,
  cancelInvitation,
  createInvitation,
  declineInvitation,
  listInvitations,
} from '../../domain/invitations.js'
import { normalizeEmail } from '../../domain/users.js'
import { valueOrRefusalError } from '../../http-errors.js'
import { schoolAdminOf, schoolCallerOf } from '../../plugins/auth.js'
import { errorResponses, SchoolParams } from '../../schemas/common.js'
import {
  AcceptedInvitation,
  AcceptInvitationBody,
  CreatedInvitation,
  CreateInvitationBody,
  DeclinedInvitation,
  DeclineInvitationBody,
  InvitationList,
  InvitationParams,
  InvitationTokenParams,
  ListInvitationsQuery,
  Invitation,
} from '../../schemas/invitations.js'
import { callContextOf } from '../call-context.js'
import type { RouteDeps } from '../route-deps.js'
import { invitationView } from './invitation-view.js'

const invitationRoutes: FastifyPluginAsyncTypebox<RouteDeps> = async (app, { config, prisma, publisher }) => {
  const deps = {
    prisma,
    publisher,
    invitationTtlHours: config.INVITATION_TTL_HOURS,
    invitationsPerHour: config.INVITATIONS_PER_SCHOOL_PER_HOUR,
  }

  app.post(
    '/api/accounts/schools/:id/invitations',
    {
      // The statement that writes the invitation checks the caller's access too: one round trip.
      ...app.schoolAdminInStatement,
      schema: {
        tags: ['invitations'],
        summary: 'Send an invitation',
        description:
          'Owners and admins only. Answers with the invitation and its `acceptUrl`, shown only here, once. ' +
          '`409 invitation_pending` if the email has a pending invitation, `409 already_member` if it is a member. ' +
          'Emits `invitation.created`.',
        params: SchoolParams,
        body: CreateInvitationBody,
        response: { 201: CreatedInvitation, ...errorResponses },
      },
    },
    async (request, reply) => {
      const caller = schoolCallerOf(request)
      const { invitation, token } = valueOrRefusalError(
        await createInvitation(deps, callContextOf(request), {
          schoolId: caller.schoolId,
          actorId: caller.userId,
          sessionId: caller.sessionId,
          email: normalizeEmail(request.body.email),
          role: request.body.role,
          message: request.body.message ?? null,
        }),
      )
      return reply.status(201).send({ ...invitationView(invitation), acceptUrl: acceptUrlFor(config.PUBLIC_URL, token) })
    },
  )

  app.get(
    '/api/accounts/schools/:id/invitations',
    {
      ...app.schoolAdminOnly,
      schema: {
        tags: ['invitations'],
        summary: "List the school's invitations",
        description: 'Owners and admins only. Newest first; `status` filters them.',
        params: SchoolParams,
        querystring: ListInvitationsQuery,
        response: { 200: InvitationList, ...errorResponses },
      },
    },
    async (request) => {
      const invitations = await listInvitations(prisma, schoolAdminOf(request).schoolId, request.query.status)
      const now = new Date()
      return invitations.map((invitation) => invitationView(invitation, now))
    },
  )

  app.delete(
    '/api/accounts/schools/:id/invitations/:invId',
    {
      ...app.schoolAdminOnly,
      schema: {
        tags: ['invitations'],
        summary: 'Cancel an invitation',
        description: 'Owners and admins only. `409 invitation_not_pending` unless it is pending. Emits `invitation.cancelled`.',
        params: InvitationParams,
        response: { 200: Invitation, ...errorResponses },
      },
    },
    async (request) => {
      const admin = schoolAdminOf(request)
      const cancelled = valueOrRefusalError(
        await cancelInvitation(deps, callContextOf(request), {
          schoolId: admin.schoolId,
          invitationId: request.params.invId,
          actorId: admin.user.id,
        }),
      )
      return invitationView(cancelled)
    },
  )

  app.post(
    '/api/accounts/invitations/:token/accept',
    {
      schema: {
        tags: ['invitations'],
        summary: 'Accept an invitation',
        description:
          'The token from the `acceptUrl` is the only credential. Creates the user (or links an existing one, whose ' +
          'password must then match) and the membership. Unknown token `404`, used `409`, expired `410`. Emits `invitation.accepted`.',
        params: InvitationTokenParams,
        body: AcceptInvitationBody,
        response: { 200: AcceptedInvitation, ...errorResponses },
      },
    },
    async (request) => {
      const accepted = valueOrRefusalError(
        await acceptInvitation(deps, callContextOf(request), request.params.token, {
          name: request.body.name.trim(),
          password: request.body.password,
        }),
      )
      return { ...accepted, invitation: invitationView(accepted.invitation) }
    },
  )

  app.post(
    '/api/accounts/invitations/:token/decline',
    {
      schema: {
        tags: ['invitations'],
        summary: 'Decline an invitation',
        description: 'The token from the `acceptUrl` is the only credential; no body, or `{}`. Emits `invitation.declined`.',
        params: InvitationTokenParams,
        body: DeclineInvitationBody,
        response: { 200: DeclinedInvitation, ...errorResponses },
      },
    },
    async (request) => {
      const declined = valueOrRefusalError(await declineInvitation(deps, callContextOf(request), request.params.token))
      return { invitation: invitationView(declined) }
    },
  )
}

export default invitationRoutes
