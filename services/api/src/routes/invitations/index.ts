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
import { schoolAdminOf } from '../../plugins/auth.js'
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
import type { RouteDeps } from '../route-deps.js'
import { invitationView } from './invitation-view.js'

const invitationRoutes: FastifyPluginAsyncTypebox<RouteDeps> = async (app, { config, prisma, publisher }) => {
  const deps = { prisma, publisher, invitationTtlHours: config.INVITATION_TTL_HOURS }

  app.post(
    '/api/accounts/schools/:id/invitations',
    {
      ...app.schoolAdminOnly,
      schema: { params: SchoolParams, body: CreateInvitationBody, response: { 201: CreatedInvitation, ...errorResponses } },
    },
    async (request, reply) => {
      const admin = schoolAdminOf(request)
      const { invitation, token } = await createInvitation(deps, request.log, {
        schoolId: admin.schoolId,
        actorId: admin.user.id,
        email: normalizeEmail(request.body.email),
        role: request.body.role,
        message: request.body.message ?? null,
      })
      return reply.status(201).send({ ...invitationView(invitation), acceptUrl: acceptUrlFor(config.PUBLIC_URL, token) })
    },
  )

  app.get(
    '/api/accounts/schools/:id/invitations',
    {
      ...app.schoolAdminOnly,
      schema: { params: SchoolParams, querystring: ListInvitationsQuery, response: { 200: InvitationList, ...errorResponses } },
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
      schema: { params: InvitationParams, response: { 200: Invitation, ...errorResponses } },
    },
    async (request) => {
      const admin = schoolAdminOf(request)
      const cancelled = await cancelInvitation(deps, request.log, {
        schoolId: admin.schoolId,
        invitationId: request.params.invId,
        actorId: admin.user.id,
      })
      return invitationView(cancelled)
    },
  )

  app.post(
    '/api/accounts/invitations/:token/accept',
    {
      schema: {
        params: InvitationTokenParams,
        body: AcceptInvitationBody,
        response: { 200: AcceptedInvitation, ...errorResponses },
      },
    },
    async (request) => {
      const accepted = await acceptInvitation(deps, request.log, request.params.token, {
        name: request.body.name.trim(),
        password: request.body.password,
      })
      return { ...accepted, invitation: invitationView(accepted.invitation) }
    },
  )

  app.post(
    '/api/accounts/invitations/:token/decline',
    {
      schema: {
        params: InvitationTokenParams,
        body: DeclineInvitationBody,
        response: { 200: DeclinedInvitation, ...errorResponses },
      },
    },
    async (request) => {
      const declined = await declineInvitation(deps, request.log, request.params.token)
      return { invitation: invitationView(declined) }
    },
  )
}

export default invitationRoutes
