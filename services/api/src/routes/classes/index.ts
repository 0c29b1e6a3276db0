// Classes: school admins create them, optionally naming the teacher.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { createClass } from '../../domain/classes.js'
import { valueOrRefusalError } from '../../http-errors.js'
import { schoolAdminOf } from '../../plugins/auth.js'
import { CreateClassBody, CreatedClass } from '../../schemas/classes.js'
import { errorResponses, SchoolParams } from '../../schemas/common.js'
import { callContextOf } from '../call-context.js'
import type { RouteDeps } from '../route-deps.js'

const classRoutes: FastifyPluginAsyncTypebox<RouteDeps> = async (app, { prisma, publisher }) => {
  app.post(
    '/api/accounts/schools/:id/classes',
    {
      ...app.schoolAdminOnly,
      schema: {
        tags: ['classes'],
        summary: 'Create a class',
        description: 'Owners and admins only. `teacherId`, when given, must be a teacher of the school. Emits `class.created`.',
        params: SchoolParams,
        body: CreateClassBody,
        response: { 201: CreatedClass, ...errorResponses },
      },
    },
    async (request, reply) => {
      const admin = schoolAdminOf(request)
      const created = valueOrRefusalError(
        await createClass({ prisma, publisher }, callContextOf(request), {
          schoolId: admin.schoolId,
          actorId: admin.user.id,
          name: request.body.name.trim(),
          teacherId: request.body.teacherId ?? null,
        }),
      )
      return reply.status(201).send({ ...created, createdAt: created.createdAt.toISOString() })
    },
  )
}

export default classRoutes
