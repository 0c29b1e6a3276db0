// Members: a school's owners and admins list them, remove them and change their roles. An owner may act
// on anyone; an admin on teachers and students only, and may only make them teachers or students.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { changeMemberRole, listMembers, removeMember } from '../../domain/members.js'
import { valueOrRefusalError } from '../../http-errors.js'
import { schoolAdminOf } from '../../plugins/auth.js'
import { errorResponses, SchoolParams } from '../../schemas/common.js'
import { ChangedMember, ChangeMemberRoleBody, MemberList, MemberParams, MemberRemoved } from '../../schemas/members.js'
import { callContextOf } from '../call-context.js'
import type { RouteDeps } from '../route-deps.js'

const RULES =
  'An owner may act on anyone; an admin only on teachers and students, and may only give the roles ' +
  '`teacher` and `student` (`403 insufficient_role`). `404 member_not_found` if the user is not a member, ' +
  '`409 last_owner` if the school would be left without an owner.'

const memberRoutes: FastifyPluginAsyncTypebox<RouteDeps> = async (app, { prisma, publisher }) => {
  app.get(
    '/api/accounts/schools/:id/members',
    {
      ...app.schoolAdminOnly,
      schema: {
        tags: ['members'],
        summary: "List the school's members",
        description: 'Owners and admins only. Owners, admins, teachers, then students, each group by name.',
        params: SchoolParams,
        response: { 200: MemberList, ...errorResponses },
      },
    },
    async (request) => {
      const members = await listMembers(prisma, schoolAdminOf(request).schoolId)
      return members.map((member) => ({ ...member, joinedAt: member.joinedAt.toISOString() }))
    },
  )

  app.delete(
    '/api/accounts/schools/:id/members/:userId',
    {
      ...app.schoolAdminOnly,
      schema: {
        tags: ['members'],
        summary: 'Remove a member',
        description: `Owners and admins only. Deletes the membership; the user's account stays. ${RULES} Emits \`member.removed\`.`,
        params: MemberParams,
        response: { 204: MemberRemoved, ...errorResponses },
      },
    },
    async (request, reply) => {
      const admin = schoolAdminOf(request)
      valueOrRefusalError(
        await removeMember({ prisma, publisher }, callContextOf(request), {
          schoolId: admin.schoolId,
          actorId: admin.user.id,
          userId: request.params.userId,
        }),
      )
      return reply.status(204).send(null)
    },
  )

  app.patch(
    '/api/accounts/schools/:id/members/:userId',
    {
      ...app.schoolAdminOnly,
      schema: {
        tags: ['members'],
        summary: "Change a member's role",
        description:
          `Owners and admins only. ${RULES} Emits \`member.role_changed\`; giving the role the member already ` +
          'has answers the same and changes nothing.',
        params: MemberParams,
        body: ChangeMemberRoleBody,
        response: { 200: ChangedMember, ...errorResponses },
      },
    },
    async (request) => {
      const admin = schoolAdminOf(request)
      return valueOrRefusalError(
        await changeMemberRole({ prisma, publisher }, callContextOf(request), {
          schoolId: admin.schoolId,
          actorId: admin.user.id,
          userId: request.params.userId,
          role: request.body.role,
        }),
      )
    },
  )
}

export default memberRoutes
